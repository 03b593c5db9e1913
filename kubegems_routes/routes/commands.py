"""The commands a route's page prints: each reaches the route through its gateway's address before any DNS
record exists (curl resolves the route's host to that address), and says in its output what success is."""

from __future__ import annotations

import ipaddress
import shlex
from dataclasses import dataclass
from typing import Protocol

from kubegems_routes.routes import manifest

WEBSOCKET_KEY = "a3ViZWdlbXMtcm91dGVzIQ=="  # any 16 bytes, base64: the handshake's nonce


class _Route(Protocol):
    host: str
    protocol: str

    def access_urls(self) -> list[str]: ...


@dataclass(frozen=True)
class TryCommand:
    command: str
    success: str  # what its output shows when the route works (for HTTP: a 200 in the status line)


def _is_ip(address: str) -> bool:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True


def _with_port(url: str, port: int, default: int) -> str:
    if port == default:
        return url
    scheme, _sep, rest = url.partition("://")
    name, slash, path = rest.partition("/")
    return f"{scheme}://{name}:{port}{slash}{path}"


def try_commands(route: _Route, address: str, http_port: int = 80, https_port: int = 443) -> list[TryCommand]:
    """Shell commands that reach ``route`` through a gateway at ``address``, before any DNS record exists."""
    if not route.host or route.host.startswith("*."):
        return []
    tls = manifest.needs_tls(route.protocol)
    port, default = (https_port, 443) if tls else (http_port, 80)
    if _is_ip(address):
        target = f"[{address}]" if ":" in address else address
        resolve = f"--resolve {shlex.quote(f'{route.host}:{port}:{target}')}"
    else:  # --resolve takes IPs only
        resolve = f"--connect-to {shlex.quote(f'{route.host}:{port}:{address}:{port}')}"
    # -k: the demo's certificate is self-signed; elsewhere the certificate may not exist yet.
    insecure = "-k " if tls else ""
    if route.protocol == manifest.GRPC:
        return [_grpc_health_check(route.host, resolve, _with_port(f"https://{route.host}/", port, default))]
    commands = []
    for url in (_with_port(u, port, default) for u in route.access_urls()):
        if route.protocol in (manifest.WS, manifest.WSS):
            # A WebSocket upgrade is an HTTP/1.1 request: without --http1.1 curl negotiates HTTP/2 with a
            # gateway that offers it (ALPN), and nginx answers the upgrade with 426.
            commands.append(
                TryCommand(
                    f"curl -sS -i -N --http1.1 --max-time 2 {insecure}{resolve} -H 'Connection: Upgrade' "
                    f"-H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' "
                    f"-H 'Sec-WebSocket-Key: {WEBSOCKET_KEY}' {shlex.quote(url)}",
                    "HTTP/1.1 101 Switching Protocols",
                )
            )
        else:
            commands.append(TryCommand(f"curl -sS -i {insecure}{resolve} {shlex.quote(url)}", "200"))
    return commands


def _grpc_health_check(host: str, resolve: str, base: str) -> TryCommand:
    """gRPC's standard health Check over HTTP/2 with curl: the HTTP status and grpc-status (a trailer) go to
    stderr, and the answer's last two bytes (protobuf field 1, status) say SERVING (1) or not."""
    url = shlex.quote(f"{base}grpc.health.v1.Health/Check")
    report = "%{stderr}HTTP %{http_code}, grpc-status %header{grpc-status}\\n"
    return TryCommand(
        "printf '\\0\\0\\0\\0\\0' | curl -sS -k --http2 "
        f"{resolve} -H 'content-type: application/grpc' -H 'te: trailers' --data-binary @- "
        f"-w '{report}' {url} | od -An -tx1 | grep -q '08 01' && echo SERVING || echo 'not serving'",
        "SERVING",
    )
