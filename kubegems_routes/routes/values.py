"""What a route should become: validated values, no form, no request and no cluster."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kubegems_routes.gateways.models import Gateway
from kubegems_routes.routes import manifest


@dataclass(frozen=True)
class RouteValues:
    """The values a save takes: the form gives them (``RouteEditor.values``), and so does a read-back of a
    cluster object (``readback``)."""

    gateway: Gateway
    host: str  # empty: a random host from the gateway's default domain
    protocol: str
    tls_secret: str
    backends: tuple[manifest.Backend, ...]
    annotations: dict[str, str] = field(default_factory=dict)
    tls_source: str = manifest.TLS_FROM_SECRET
    # The kind of object (HTTPRoute, ...) the user confirmed the route's object may be replaced by, when an
    # edit changes it: without it, an edit that turns an Ingress into an HTTPRoute is refused (KindSwitch).
    switch_to: str = ""
    # What the route keeps of the cluster's object (routes.kept), read back by an import or take-over;
    # None (the form): the route keeps what it kept.
    kept: dict[str, Any] | None = None

    @property
    def kind(self) -> str:
        return manifest.object_kind(self.protocol, gateway_api=self.gateway.is_gateway_api)

    @property
    def uses_certificate(self) -> bool:
        """cert-manager issues the route's certificate (only a TLS protocol has one)."""
        return self.tls_source == manifest.TLS_FROM_CERT_MANAGER and manifest.needs_tls(self.protocol)
