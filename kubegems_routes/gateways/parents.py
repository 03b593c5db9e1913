"""The Gateway API Gateway a gateway's routes attach to: pure, shared by the gateway and the manifest builder."""

from __future__ import annotations

from dataclasses import dataclass

from kubegems_routes.lib.protocols import needs_tls


@dataclass(frozen=True)
class GatewayParent:
    """A Gateway API Gateway and the listeners (sectionName) routes attach to, by protocol."""

    namespace: str
    name: str
    http_listener: str = ""
    https_listener: str = ""

    @property
    def scope(self) -> str:
        # A slash never appears in an ingress class (a DNS subdomain): the two kinds of scope never collide.
        return f"{self.namespace}/{self.name}"

    def listener(self, protocol: str) -> str:
        return self.https_listener if needs_tls(protocol) else self.http_listener
