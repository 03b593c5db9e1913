"""Build the object a route becomes: pure functions, no database, no cluster.

On an ingress-class gateway that is an Ingress; on a Gateway API gateway an
HTTPRoute (http, https, ws, wss) or a GRPCRoute (grpc) attached to the Gateway.
The same function feeds the live YAML preview and the API call, so what the
preview shows is exactly what is sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from kubegems_routes.gateways.parents import GatewayParent
from kubegems_routes.lib.protocols import GRPC as GRPC
from kubegems_routes.lib.protocols import HTTP as HTTP
from kubegems_routes.lib.protocols import HTTPS as HTTPS
from kubegems_routes.lib.protocols import PROTOCOLS as PROTOCOLS
from kubegems_routes.lib.protocols import TLS_FROM_CERT_MANAGER as TLS_FROM_CERT_MANAGER
from kubegems_routes.lib.protocols import TLS_FROM_SECRET as TLS_FROM_SECRET
from kubegems_routes.lib.protocols import TLS_PROTOCOLS as TLS_PROTOCOLS
from kubegems_routes.lib.protocols import WS as WS
from kubegems_routes.lib.protocols import WSS as WSS
from kubegems_routes.lib.protocols import needs_tls as needs_tls
from kubegems_routes.routes import gateway_behaviour

MANAGED_BY = "kubegems-routes"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_TENANT = "kubegems.io/tenant"
LABEL_PROJECT = "kubegems.io/project"
LABEL_ENVIRONMENT = "kubegems.io/environment"
LABEL_GATEWAY = "kubegems.io/gateway"
# The route's own name, so one page of routes is fetched with one label
# selector instead of listing every Ingress of the namespace.
LABEL_ROUTE = "kubegems.io/route"

WEBSOCKET_SERVICES = "nginx.org/websocket-services"
GRPC_SERVICES = "nginx.org/grpc-services"
# cert-manager's ingress-shim issues a certificate for an Ingress carrying this annotation: a
# Certificate named after spec.tls[].secretName, for spec.tls[].hosts, written into that Secret.
CLUSTER_ISSUER = "cert-manager.io/cluster-issuer"
ISSUER = "cert-manager.io/issuer"

_GENERATED_KEY = {WS: WEBSOCKET_SERVICES, WSS: WEBSOCKET_SERVICES, GRPC: GRPC_SERVICES}

PATH_TYPES = ("Prefix", "Exact", "ImplementationSpecific")

GATEWAY_API_VERSION = "gateway.networking.k8s.io/v1"
GATEWAY_GROUP = "gateway.networking.k8s.io"
HTTP_ROUTE, GRPC_ROUTE = "HTTPRoute", "GRPCRoute"
# Gateway API's path matches; ImplementationSpecific is not offered there.
_GATEWAY_PATH_TYPES = {"Prefix": "PathPrefix", "Exact": "Exact"}
GATEWAY_PATH_TYPES = tuple(_GATEWAY_PATH_TYPES)
# Read back: a Gateway API path match's type as the form's path type.
FORM_PATH_TYPES = {v: k for k, v in _GATEWAY_PATH_TYPES.items()}

_DIGITS = re.compile(r"^[0-9]+$")

# A backendRef's weight, as Gateway API's CRDs bound it; 1 is the API server's default.
DEFAULT_WEIGHT = 1
MAX_WEIGHT = 1_000_000


def certificate_secret_name(route_name: str) -> str:
    """The Secret cert-manager writes a route's certificate into (and names its Certificate after).

    A route's name is a DNS subdomain of at most 63 characters, so this one is too.
    """
    return f"{route_name}-tls"


def tls_secret_for(route_name: str, protocol: str, tls_source: str, chosen: str) -> str:
    """The Secret a route's Ingress names: none without TLS, cert-manager's, or the one the user chose."""
    if not needs_tls(protocol):
        return ""
    if tls_source == TLS_FROM_CERT_MANAGER:
        return certificate_secret_name(route_name)
    return chosen


@dataclass(frozen=True)
class Backend:
    path: str
    service: str
    port: str  # a number or a port name, as the user chose it
    path_type: str = "Prefix"
    # Its share of its path's requests beside the path's other backends (Gateway API only; an Ingress has none).
    weight: int = DEFAULT_WEIGHT

    def port_ref(self) -> dict[str, Any]:
        return {"number": int(self.port)} if _DIGITS.fullmatch(self.port) else {"name": self.port}


class UnresolvedPort(ValueError):
    """A backend's port is a name the Service does not have: Gateway API's backendRefs take numbers."""

    def __init__(self, service: str, port: str) -> None:
        super().__init__(f"service {service!r} has no port named {port!r}")
        self.service = service
        self.port = port


@dataclass(frozen=True)
class RouteSpec:
    name: str
    namespace: str
    host: str
    protocol: str
    ingress_class: str
    backends: tuple[Backend, ...]
    tls_secret: str = ""
    gateway_annotations: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    # Set for a Gateway API gateway: the route becomes an HTTPRoute or GRPCRoute.
    parent: GatewayParent | None = None
    # (service, port name) -> number, from the Services: backendRefs take numbers.
    port_numbers: dict[tuple[str, str], int] = field(default_factory=dict)
    # Set when a TLS route asks cert-manager for its certificate (ingress-class gateways only):
    # the Ingress names this ClusterIssuer, and tls_secret is the Secret cert-manager writes.
    cluster_issuer: str = ""
    # What the route keeps of an object made elsewhere (routes.kept): labels, annotations and metadata the
    # form does not manage, carried by every object built for it. The route's own labels and annotations win.
    kept: dict[str, Any] = field(default_factory=dict)

    @property
    def host_scope(self) -> str:
        """Where hosts are owned: the ingress class, or the Gateway (namespace/name) every attached route shares."""
        return self.ingress_class if self.parent is None else self.parent.scope

    @property
    def kind(self) -> str:
        return object_kind(self.protocol, gateway_api=self.parent is not None)


def object_kind(protocol: str, *, gateway_api: bool) -> str:
    """What a route of this protocol becomes: an Ingress, or on a Gateway API gateway an HTTPRoute or GRPCRoute."""
    if not gateway_api:
        return "Ingress"
    return GRPC_ROUTE if protocol == GRPC else HTTP_ROUTE


def protocol_annotations(protocol: str, services: list[str] | tuple[str, ...]) -> dict[str, str]:
    """The annotations a protocol generates, naming every backend service once, in order."""
    key = _GENERATED_KEY.get(protocol)
    if key is None:
        return {}
    unique = [s for i, s in enumerate(services) if s and s not in services[:i]]
    return {key: ",".join(unique)} if unique else {}


def certificate_annotations(spec: RouteSpec) -> dict[str, str]:
    """What asks cert-manager for the route's certificate, or nothing."""
    if not spec.cluster_issuer or spec.parent is not None or not needs_tls(spec.protocol):
        return {}
    return {CLUSTER_ISSUER: spec.cluster_issuer}


def effective_annotations(spec: RouteSpec) -> dict[str, str]:
    """Gateway defaults, then protocol-generated and the certificate's issuer, then the user's own: later wins.

    Gateway API needs no annotation for WebSocket or gRPC (an HTTPRoute carries
    the upgrade; gRPC has its own kind), so none is generated there.
    """
    merged: dict[str, str] = dict(spec.gateway_annotations)
    if spec.parent is None:
        merged.update(protocol_annotations(spec.protocol, [b.service for b in spec.backends]))
        merged.update(certificate_annotations(spec))
    merged.update(spec.annotations)
    return merged


def route_labels(tenant: str, project: str, environment: str, gateway: str, route: str) -> dict[str, str]:
    return {
        LABEL_MANAGED_BY: MANAGED_BY,
        LABEL_ROUTE: route,
        LABEL_TENANT: tenant,
        LABEL_PROJECT: project,
        LABEL_ENVIRONMENT: environment,
        LABEL_GATEWAY: gateway,
    }


def build(spec: RouteSpec) -> dict[str, Any]:
    """The object the route becomes on its gateway: Ingress, HTTPRoute or GRPCRoute."""
    if spec.parent is None:
        return build_ingress(spec)
    return build_gateway_route(spec)


def _metadata(spec: RouteSpec) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": spec.name, "namespace": spec.namespace}
    kept = spec.kept
    labels = {**(kept.get("labels") or {}), **spec.labels}
    if labels:
        metadata["labels"] = labels
    annotations = {**(kept.get("annotations") or {}), **effective_annotations(spec)}
    if annotations:
        metadata["annotations"] = annotations
    metadata.update(kept.get("metadata") or {})
    return metadata


def build_ingress(spec: RouteSpec) -> dict[str, Any]:
    metadata = _metadata(spec)
    rule: dict[str, Any] = {
        "http": {
            "paths": [
                {
                    "path": b.path,
                    "pathType": b.path_type,
                    "backend": {"service": {"name": b.service, "port": b.port_ref()}},
                }
                for b in spec.backends
            ]
        }
    }
    if spec.host:
        rule = {"host": spec.host, **rule}
    body: dict[str, Any] = {"ingressClassName": spec.ingress_class}
    if needs_tls(spec.protocol):
        tls: dict[str, Any] = {"hosts": [spec.host] if spec.host else []}
        if spec.tls_secret:
            tls["secretName"] = spec.tls_secret
        body["tls"] = [tls]
    body["rules"] = [rule]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": metadata,
        "spec": body,
    }


def backend_port_number(spec: RouteSpec, backend: Backend) -> int:
    if _DIGITS.fullmatch(backend.port):
        return int(backend.port)
    number = spec.port_numbers.get((backend.service, backend.port))
    if number is None:
        raise UnresolvedPort(backend.service, backend.port)
    return number


def _backend_ref(spec: RouteSpec, backend: Backend) -> dict[str, Any]:
    # Written with the API server's defaults (group, kind, weight) so that the
    # stored object reads back equal to the built one (drift compares them).
    return {
        "group": "",
        "kind": "Service",
        "name": backend.service,
        "port": backend_port_number(spec, backend),
        "weight": backend.weight,
    }


def _http_match(backend: Backend) -> dict[str, Any]:
    path_type = _GATEWAY_PATH_TYPES.get(backend.path_type)
    if path_type is None:
        raise ValueError(f"path type {backend.path_type!r} is not offered on Gateway API gateways")
    return {"path": {"type": path_type, "value": backend.path}}


def _grpc_matches(backend: Backend) -> list[dict[str, Any]]:
    """A gRPC request's path is /<package.Service>/<Method>: "/" matches every call,
    "/pkg.Svc" (prefix) every method of one service, "/pkg.Svc/Method" one method."""
    parts = [p for p in backend.path.split("/") if p]
    if not parts:
        return []
    method: dict[str, str] = {"type": "Exact", "service": parts[0]}
    if len(parts) > 1:
        method["method"] = "/".join(parts[1:])
    return [{"method": method}]


def build_gateway_route(spec: RouteSpec) -> dict[str, Any]:
    """An HTTPRoute (http, https, ws, wss) or GRPCRoute (grpc) attached to the gateway's listener."""
    parent = spec.parent
    if parent is None:
        raise ValueError("a Gateway API route needs its gateway's parent")
    parent_ref: dict[str, Any] = {
        "group": GATEWAY_GROUP,
        "kind": "Gateway",
        "namespace": parent.namespace,
        "name": parent.name,
    }
    listener = parent.listener(spec.protocol)
    if listener:
        parent_ref["sectionName"] = listener
    body: dict[str, Any] = {"parentRefs": [parent_ref]}
    if spec.host:
        body["hostnames"] = [spec.host]
    grpc = spec.protocol == GRPC
    # The route's behaviours (nginx.org/* annotations) as the filters and timeouts Gateway API has for them.
    behaviour = gateway_behaviour.translate(effective_annotations(spec), spec.kind, spec.backends)
    rules = []
    for rows in rule_rows(spec.protocol, spec.backends):
        first = spec.backends[rows[0]]
        rule: dict[str, Any] = {}
        matches = _grpc_matches(first) if grpc else [_http_match(first)]
        if matches:
            rule["matches"] = matches
        # The rows of a rule gain the same filters and timeouts (the form refuses rows of a path that differ).
        rule.update(behaviour.rules[rows[0]])
        rule["backendRefs"] = [_backend_ref(spec, spec.backends[row]) for row in rows]
        rules.append(rule)
    body["rules"] = rules
    return {
        "apiVersion": GATEWAY_API_VERSION,
        "kind": spec.kind,
        "metadata": _metadata(spec),
        "spec": body,
    }


def rule_key(protocol: str, backend: Backend) -> tuple[str, str]:
    """What makes rows one rule of an HTTPRoute or GRPCRoute: the same path and path type (a gRPC match has no
    path type, so there the path alone)."""
    return (backend.path, "" if protocol == GRPC else backend.path_type)


def rule_rows(protocol: str, backends: tuple[Backend, ...]) -> list[list[int]]:
    """The path rows (indexes) of each rule of a Gateway API route, in the order of each path's first row.

    Rows sharing a path are one rule whose backendRefs split the path's requests by weight (a canary)."""
    rules: dict[tuple[str, str], list[int]] = {}
    for row, backend in enumerate(backends):
        rules.setdefault(rule_key(protocol, backend), []).append(row)
    return list(rules.values())


def shares(protocol: str, backends: tuple[Backend, ...]) -> list[float | None]:
    """Each row's percentage of its path's requests by weight; None for a path with one backend (all of it)."""
    found: list[float | None] = [None] * len(backends)
    for rows in rule_rows(protocol, backends):
        total = sum(backends[row].weight for row in rows)
        if len(rows) > 1:
            for row in rows:
                found[row] = 100.0 * backends[row].weight / total if total else 0.0
    return found


def parent_scopes(obj: dict[str, Any]) -> set[str]:
    """The Gateways (namespace/name, as GatewayParent.scope) an HTTPRoute or GRPCRoute attaches to."""
    namespace = (obj.get("metadata") or {}).get("namespace", "")
    return {
        f"{ref.get('namespace') or namespace}/{ref.get('name', '')}"
        for ref in (obj.get("spec") or {}).get("parentRefs") or []
        if ref.get("group", GATEWAY_GROUP) == GATEWAY_GROUP and ref.get("kind", "Gateway") == "Gateway"
    }


# Where a field path of the API server's answer (spec.rules[0].host) points in a route.
_CAUSE_FIELDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^metadata\.name"), "name"),
    (re.compile(r"^metadata\.annotations"), "annotations"),
    (re.compile(r"^spec\.rules\[\d+\]\.host"), "host"),
    (re.compile(r"^spec\.tls\[\d+\]\.hosts"), "host"),
    (re.compile(r"^spec\.tls\[\d+\]\.secretName"), "tls_secret"),
    (re.compile(r"^spec\.ingressClassName"), "gateway"),
    (re.compile(r"^spec\.hostnames"), "host"),
    (re.compile(r"^spec\.parentRefs"), "gateway"),
)
# spec.rules[1].matches[0].path.value, spec.rules[0].backendRefs[0].port (HTTPRoute, GRPCRoute)
_RULE_CAUSE = re.compile(r"^spec\.rules\[(\d+)\](?:\.(\w+)(?:\[(\d+)\])?(?:\.(\w+))?)?")
_PATH_CAUSE = re.compile(r"^spec\.rules\[\d+\]\.http\.paths\[(\d+)\]\.(\w+)(?:\.service\.(\w+))?")


def route_field(field_path: str, rules: list[list[int]] | None = None) -> tuple[str, int | None] | None:
    """The route field (and path row) a field path of the route's object concerns, or None.

    ``rules``: the path rows of each rule of an HTTPRoute or GRPCRoute (``rule_rows``); without it, rule i is
    row i."""
    for pattern, name in _CAUSE_FIELDS:
        if pattern.match(field_path):
            return name, None
    match = _PATH_CAUSE.match(field_path)
    if match is None:
        return _rule_field(field_path, rules)
    part, service_part = match.group(2), match.group(3)
    name = {"path": "path", "pathType": "path_type"}.get(part) or ("port" if service_part == "port" else "service")
    return name, int(match.group(1))


def _rule_field(field_path: str, rules: list[list[int]] | None) -> tuple[str, int | None] | None:
    match = _RULE_CAUSE.match(field_path)
    if match is None:
        return None
    rule, part, sub = int(match.group(1)), match.group(2), match.group(4)
    rows = rules[rule] if rules is not None and rule < len(rules) else [rule]
    row = rows[0]
    if part == "backendRefs":
        ref = int(match.group(3) or 0)
        row = rows[ref] if ref < len(rows) else row
        return {"port": "port", "weight": "weight"}.get(sub or "", "service"), row
    if part == "matches" and sub == "path" and field_path.endswith(".type"):
        return "path_type", row
    return "path", row


def access_urls(host: str, paths: list[str], tls: bool) -> list[str]:
    """One URL per path (a path split between weighted backends is one URL)."""
    scheme = "https" if tls else "http"
    return [f"{scheme}://{host}{path}" for path in dict.fromkeys(paths)]


# libyaml's emitter when PyYAML was built with it: several times faster.
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def to_yaml(manifest: dict[str, Any]) -> str:
    return yaml.dump(manifest, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True)
