"""An Ingress route as it would be on a Gateway API gateway: the HTTPRoute or GRPCRoute, and what becomes of
each of its annotations. Pure: the caller resolves port names (backendRefs take numbers).

The annotations are read one by one by gateway_behaviour.translate, the same
translation manifest.py applies to every Gateway API route. Those of the NGINX
Ingress Controller that Gateway API's standard fields express become those
fields (a timeout, a rewrite, request or response headers) and stay the
route's; those the protocol wrote (WebSocket, gRPC) are not needed;
cert-manager's give way to the listener's certificate; everything else has no
equivalent and would be dropped, and says so. The object is then built by
manifest.py from the route's values on the other gateway, as saving there
would build it. Nothing is written: this is a preview.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from kubegems_routes.gateways.models import Gateway
from kubegems_routes.lib.hosts import in_domain
from kubegems_routes.routes import manifest
from kubegems_routes.routes.gateway_behaviour import Carried, Outcome, translate
from kubegems_routes.routes.models import Route, route_spec


@dataclass(frozen=True)
class AsGatewayApi:
    gateway: Gateway
    kind: str
    manifest: dict[str, Any]
    annotations: list[Carried]
    notes: list[str]  # what else changes: path types, the certificate, the host's domain

    @property
    def yaml(self) -> str:
        return manifest.to_yaml(self.manifest)

    @property
    def dropped(self) -> list[Carried]:
        return [c for c in self.annotations if c.outcome == Outcome.DROPPED]

    @property
    def becomes(self) -> dict[str, str]:
        """The annotations that become Gateway API fields: the moved route keeps them, and its manifest
        translates them (gateway_behaviour), so what is said to carry over is what is written."""
        return {c.key: c.value for c in self.annotations if c.outcome == Outcome.BECOMES}


def gateway_backends(backends: tuple[manifest.Backend, ...]) -> tuple[tuple[manifest.Backend, ...], list[str]]:
    """The route's paths as Gateway API matches them (a path type it lacks becomes a prefix), and a note for
    each path that changes so."""
    notes: list[str] = []
    found = []
    for backend in backends:
        if backend.path_type not in manifest.GATEWAY_PATH_TYPES:
            notes.append(
                _("Path %(path)s: %(type)s matching has no Gateway API equivalent; it becomes a prefix match.")
                % {"path": backend.path, "type": backend.path_type}
            )
            backend = dataclasses.replace(backend, path_type="Prefix")
        found.append(backend)
    return tuple(found), notes


def as_gateway_api(route: Route, gateway: Gateway, port_numbers: dict[tuple[str, str], int]) -> AsGatewayApi:
    """The route on ``gateway`` (a Gateway API gateway). Raises manifest.UnresolvedPort for a port name
    its Service does not have."""
    backends, notes = gateway_backends(route.backends())
    spec = route_spec(
        environment=route.environment,
        gateway=gateway,
        name=route.name,
        host=route.host,
        protocol=route.protocol,
        tls_secret="",
        backends=backends,
        annotations={},
        port_numbers=port_numbers,
    )
    old = route.spec()
    generated = {**manifest.protocol_annotations(old.protocol, [b.service for b in old.backends])}
    generated.update(manifest.certificate_annotations(old))
    carried = translate({**generated, **route.annotations}, spec.kind, spec.backends).carried
    # What becomes a Gateway API field stays the route's (its behaviour fields); the manifest translates it.
    becomes = {c.key: c.value for c in carried if c.outcome == Outcome.BECOMES}
    built = manifest.build(dataclasses.replace(spec, annotations=becomes))
    if route.uses_tls and route.tls_secret:
        notes.append(
            _("TLS secret %(secret)s is not used: the certificate of the Gateway's HTTPS listener serves %(host)s.")
            % {"secret": route.tls_secret, "host": route.host}
        )
    if route.host and not any(in_domain(route.host, d) for d in gateway.allowed_domains()):
        notes.append(
            _("%(host)s is not in a domain of gateway %(gateway)s: an admin adds its domain first.")
            % {"host": route.host, "gateway": gateway.name}
        )
    return AsGatewayApi(gateway, spec.kind, built, carried, notes)
