"""Build the Ingress a route becomes: pure functions, no database, no cluster.

The same function feeds the live YAML preview and the API call, so what the
preview shows is exactly what is sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

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

HTTP, HTTPS, WS, WSS, GRPC = "http", "https", "ws", "wss", "grpc"
PROTOCOLS = (HTTP, HTTPS, WS, WSS, GRPC)
TLS_PROTOCOLS = frozenset({HTTPS, WSS, GRPC})
_GENERATED_KEY = {WS: WEBSOCKET_SERVICES, WSS: WEBSOCKET_SERVICES, GRPC: GRPC_SERVICES}

PATH_TYPES = ("Prefix", "Exact", "ImplementationSpecific")

_DIGITS = re.compile(r"^[0-9]+$")


def needs_tls(protocol: str) -> bool:
    return protocol in TLS_PROTOCOLS


@dataclass(frozen=True)
class Backend:
    path: str
    service: str
    port: str  # a number or a port name, as the user chose it
    path_type: str = "Prefix"

    def port_ref(self) -> dict[str, Any]:
        return {"number": int(self.port)} if _DIGITS.fullmatch(self.port) else {"name": self.port}


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


def protocol_annotations(protocol: str, services: list[str] | tuple[str, ...]) -> dict[str, str]:
    """The annotations a protocol generates, naming every backend service once, in order."""
    key = _GENERATED_KEY.get(protocol)
    if key is None:
        return {}
    unique = [s for i, s in enumerate(services) if s and s not in services[:i]]
    return {key: ",".join(unique)} if unique else {}


def effective_annotations(spec: RouteSpec) -> dict[str, str]:
    """Gateway defaults, then protocol-generated, then the user's own: later wins."""
    merged: dict[str, str] = dict(spec.gateway_annotations)
    merged.update(protocol_annotations(spec.protocol, [b.service for b in spec.backends]))
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


def build_ingress(spec: RouteSpec) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": spec.name, "namespace": spec.namespace}
    if spec.labels:
        metadata["labels"] = dict(spec.labels)
    annotations = effective_annotations(spec)
    if annotations:
        metadata["annotations"] = annotations
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


# Where a field path of the API server's answer (spec.rules[0].host) points in a route.
_CAUSE_FIELDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^metadata\.name"), "name"),
    (re.compile(r"^metadata\.annotations"), "annotations"),
    (re.compile(r"^spec\.rules\[\d+\]\.host"), "host"),
    (re.compile(r"^spec\.tls\[\d+\]\.hosts"), "host"),
    (re.compile(r"^spec\.tls\[\d+\]\.secretName"), "tls_secret"),
    (re.compile(r"^spec\.ingressClassName"), "gateway"),
)
_PATH_CAUSE = re.compile(r"^spec\.rules\[\d+\]\.http\.paths\[(\d+)\]\.(\w+)(?:\.service\.(\w+))?")


def route_field(field_path: str) -> tuple[str, int | None] | None:
    """The route field (and path row) an Ingress field path concerns, or None."""
    for pattern, name in _CAUSE_FIELDS:
        if pattern.match(field_path):
            return name, None
    match = _PATH_CAUSE.match(field_path)
    if match is None:
        return None
    part, service_part = match.group(2), match.group(3)
    name = {"path": "path", "pathType": "path_type"}.get(part) or ("port" if service_part == "port" else "service")
    return name, int(match.group(1))


def access_urls(host: str, paths: list[str], tls: bool) -> list[str]:
    scheme = "https" if tls else "http"
    return [f"{scheme}://{host}{path}" for path in paths]


# libyaml's emitter when PyYAML was built with it: several times faster.
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def to_yaml(manifest: dict[str, Any]) -> str:
    return yaml.dump(manifest, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True)
