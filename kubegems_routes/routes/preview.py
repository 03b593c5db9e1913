"""The form's preview: what saving would send, built by the manifest builder from whatever was typed."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from kubegems_routes.kube.errors import KubeError
from kubegems_routes.lib.hosts import is_random_host_of, random_host
from kubegems_routes.routes import manifest
from kubegems_routes.routes.forms import RouteEditor
from kubegems_routes.routes.ports import port_numbers
from kubegems_routes.routes.refusals import port_message

# Protocols that need an annotation on an Ingress and none in Gateway API.
_UPGRADED = frozenset({manifest.WS, manifest.WSS, manifest.GRPC})


@dataclass(frozen=True)
class Share:
    """One backend of a path split between several, and its part of the path's requests."""

    service: str
    port: str
    weight: int
    percent: float


@dataclass(frozen=True)
class Split:
    path: str
    shares: tuple[Share, ...]


@dataclass(frozen=True)
class Preview:
    suggested_host: str  # carried in the form, so the host previewed for an empty Host is the one saved
    kind: str = "Ingress"
    problem: str = ""  # why there is no manifest to show
    generated_annotations: dict[str, str] = field(default_factory=dict)
    no_annotation_needed: bool = False  # Gateway API: the protocol needs no annotation there
    effective_annotations: dict[str, str] = field(default_factory=dict)
    yaml: str = ""
    splits: tuple[Split, ...] = ()  # Gateway API: the paths whose requests several backends share by weight


def preview(editor: RouteEditor, suggested_host: str) -> Preview:
    """The preview of what saving sends. An empty Host gets a random host, generated
    once and carried in the form, so the preview shows exactly the host that is saved.
    May read the Services (port names on a Gateway API gateway)."""
    gateway = editor.gateway
    if gateway is not None and not is_random_host_of(suggested_host, gateway.default_domain):
        suggested_host = random_host(gateway.default_domain)
    spec = editor.preview_spec(host=suggested_host)
    if spec is None:
        return Preview(suggested_host)
    body, problem = None, ""
    try:
        if gateway is not None and spec.parent is not None:
            spec = dataclasses.replace(spec, port_numbers=port_numbers(editor.environment, gateway, spec.backends))
        body = manifest.build(spec)
    except KubeError:
        problem = _("The cluster cannot be reached to resolve port names; the preview shows once it answers.")
    except manifest.UnresolvedPort as exc:
        problem = port_message(exc)
    except ValueError:
        problem = _("Gateway API gateways offer Prefix and Exact paths only.")
    return Preview(
        suggested_host,
        kind=spec.kind,
        problem=problem,
        generated_annotations=(
            manifest.protocol_annotations(spec.protocol, [b.service for b in spec.backends])
            if spec.parent is None
            else {}
        ),
        no_annotation_needed=spec.parent is not None and spec.protocol in _UPGRADED,
        effective_annotations=manifest.effective_annotations(spec),
        yaml=manifest.to_yaml(body) if body else "",
        splits=splits(spec.protocol, spec.backends) if spec.parent is not None else (),
    )


def splits(protocol: str, backends: tuple[manifest.Backend, ...]) -> tuple[Split, ...]:
    """Each path of a Gateway API route whose requests several backends share, with each one's percentage."""
    percents = manifest.shares(protocol, backends)
    found = []
    for rows in manifest.rule_rows(protocol, backends):
        if len(rows) < 2:
            continue
        shares = tuple(
            Share(backends[row].service, backends[row].port, backends[row].weight, percents[row] or 0.0) for row in rows
        )
        found.append(Split(backends[rows[0]].path, shares))
    return tuple(found)
