"""An Ingress route as it would be on a Gateway API gateway: the HTTPRoute or GRPCRoute, and what becomes of
each of its annotations. Pure: the caller resolves port names (backendRefs take numbers).

The object is built by manifest.py from the route's own values with the other
gateway, as saving there would build it; the annotations are then read one by
one. Those of the NGINX Ingress Controller that Gateway API's standard fields
express become those fields (a timeout, a rewrite, request headers); those the
protocol wrote (WebSocket, gRPC) are not needed; cert-manager's give way to the
listener's certificate; everything else has no equivalent and would be dropped,
and says so. Nothing is written: this is a preview.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from kubegems_routes.gateways.models import Gateway
from kubegems_routes.lib.hosts import in_domain
from kubegems_routes.routes import manifest
from kubegems_routes.routes.models import Route, route_spec


class Outcome(enum.StrEnum):
    BECOMES = "becomes"  # a field of the new object
    NOT_NEEDED = "not-needed"  # the new object does it without (the protocol, the listener's certificate)
    DROPPED = "dropped"  # no equivalent: the behaviour is lost


@dataclass(frozen=True)
class Carried:
    key: str
    value: str
    outcome: Outcome
    what: str  # what it becomes, or why it is dropped


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


_DURATION = re.compile(r"^([0-9]{1,5})(ms|s|m|h)?$")


def _duration(value: str) -> str | None:
    """An NGINX time ("60", "60s", "2m") as a Gateway API Duration, or None."""
    found = _DURATION.fullmatch(value.strip())
    if not found:
        return None
    return f"{found.group(1)}{found.group(2) or 's'}"


def _rewrites(value: str) -> dict[str, str] | None:
    """nginx.org/rewrites "serviceName=web rewrite=/;serviceName=api rewrite=/v1" as service -> path."""
    found: dict[str, str] = {}
    for item in value.split(";"):
        if not item.strip():
            continue
        fields = dict(part.split("=", 1) for part in item.split() if "=" in part)
        if "serviceName" not in fields or "rewrite" not in fields:
            return None
        found[fields["serviceName"]] = fields["rewrite"]
    return found or None


def _headers(value: str) -> list[dict[str, str]] | None:
    """nginx.org/proxy-set-headers "X-A: 1,X-B: two" as Gateway API header values (a header without a value
    passes the client's own, which needs no filter, so it is refused here)."""
    found = []
    for item in value.split(","):
        name, colon, header_value = item.partition(":")
        if not colon or not name.strip() or not header_value.strip():
            return None
        found.append({"name": name.strip(), "value": header_value.strip()})
    return found or None


def _rules_for(body: dict[str, Any], backends: tuple[manifest.Backend, ...], service: str) -> list[dict[str, Any]]:
    """The HTTPRoute's rules that send to ``service`` (a rule per path: its rows share it)."""
    rules = manifest.rule_rows(manifest.HTTP, backends)
    return [
        rule
        for rule, rows in zip(body["rules"], rules, strict=True)
        if any(backends[row].service == service for row in rows)
    ]


def _carry(key: str, value: str, kind: str, body: dict[str, Any], backends: tuple[manifest.Backend, ...]) -> Carried:
    """Read one annotation onto ``body`` (the new object's spec) where it has an equivalent."""
    http = kind == manifest.HTTP_ROUTE
    if key in (manifest.WEBSOCKET_SERVICES, manifest.GRPC_SERVICES):
        what = _("an HTTPRoute passes WebSocket upgrades") if http else _("a GRPCRoute speaks gRPC (HTTP/2)")
        return Carried(key, value, Outcome.NOT_NEEDED, what)
    if key in (manifest.CLUSTER_ISSUER, manifest.ISSUER):
        return Carried(key, value, Outcome.NOT_NEEDED, _("the Gateway's HTTPS listener holds the certificate"))
    if key == "nginx.org/proxy-read-timeout" and http and (duration := _duration(value)) is not None:
        for rule in body["rules"]:
            rule["timeouts"] = {"backendRequest": duration}
        return Carried(key, value, Outcome.BECOMES, f"rules[].timeouts.backendRequest: {duration}")
    if key == "nginx.org/rewrites" and http and (rewrites := _rewrites(value)) is not None:
        for service, path in rewrites.items():
            for rule in _rules_for(body, backends, service):
                # NGINX replaces the location's path: a prefix for a prefix match, the whole path for an
                # exact one (Gateway API allows ReplacePrefixMatch only with a PathPrefix match).
                exact = rule["matches"][0]["path"]["type"] == "Exact"
                rewrite = (
                    {"type": "ReplaceFullPath", "replaceFullPath": path}
                    if exact
                    else {"type": "ReplacePrefixMatch", "replacePrefixMatch": path}
                )
                rule.setdefault("filters", []).append({"type": "URLRewrite", "urlRewrite": {"path": rewrite}})
        return Carried(key, value, Outcome.BECOMES, _("a URLRewrite filter on the rules of the Services it names"))
    if key == "nginx.org/proxy-set-headers" and (headers := _headers(value)) is not None:
        for rule in body["rules"]:
            modifier = {"type": "RequestHeaderModifier", "requestHeaderModifier": {"set": headers}}
            rule.setdefault("filters", []).append(modifier)
        return Carried(key, value, Outcome.BECOMES, _("a RequestHeaderModifier filter (set) on each rule"))
    if key in ("nginx.org/redirect-to-https", "ingress.kubernetes.io/ssl-redirect"):
        return Carried(
            key,
            value,
            Outcome.DROPPED,
            _("a redirect to HTTPS is an HTTPRoute of its own on the HTTP listener (a RequestRedirect filter)"),
        )
    if key == "nginx.org/ssl-services":
        return Carried(
            key,
            value,
            Outcome.DROPPED,
            _("TLS to the backend needs a BackendTLSPolicy, which the console does not write"),
        )
    if key.endswith("-snippets") or key.endswith("-snippet"):
        return Carried(key, value, Outcome.DROPPED, _("NGINX configuration has no Gateway API equivalent"))
    return Carried(key, value, Outcome.DROPPED, _("no Gateway API equivalent the console knows of"))


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
    built = manifest.build(spec)
    old = route.spec()
    generated = {**manifest.protocol_annotations(old.protocol, [b.service for b in old.backends])}
    generated.update(manifest.certificate_annotations(old))
    carried = [
        _carry(key, value, spec.kind, built["spec"], spec.backends)
        for key, value in {**generated, **route.annotations}.items()
    ]
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
