"""The protocols a route speaks and where its certificate comes from: words every app shares."""

from __future__ import annotations

HTTP, HTTPS, WS, WSS, GRPC = "http", "https", "ws", "wss", "grpc"
PROTOCOLS = (HTTP, HTTPS, WS, WSS, GRPC)
TLS_PROTOCOLS = frozenset({HTTPS, WSS, GRPC})

# Where a TLS route's certificate comes from: a Secret the user chose, or cert-manager.
TLS_FROM_SECRET, TLS_FROM_CERT_MANAGER = "secret", "cert-manager"


def needs_tls(protocol: str) -> bool:
    return protocol in TLS_PROTOCOLS
