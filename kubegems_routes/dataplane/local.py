"""Which ingress classes a local data plane serves in this process, and how to reach a route through it.

``make run`` as root starts one for the demo's tenant gateway and registers it
here; the route detail page then prints commands that reach the route through
nginx exactly as written (nginx listens only inside the data plane's network
namespace, so each command resolves the route's host to that address).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Protocol

from kubegems_routes.routes import manifest

_served: dict[str, str] = {}  # ingress class -> address where its nginx answers

WEBSOCKET_KEY = "a3ViZWdlbXMtcm91dGVzIQ=="  # any 16 bytes, base64: the handshake's nonce


def serve(ingress_class: str, address: str) -> None:
    _served[ingress_class] = address


def stop_serving(ingress_class: str) -> None:
    _served.pop(ingress_class, None)


def address_for(ingress_class: str) -> str | None:
    return _served.get(ingress_class)


class _Route(Protocol):
    host: str
    protocol: str

    def access_urls(self) -> list[str]: ...


@dataclass(frozen=True)
class TryCommand:
    command: str
    expect: str  # what it prints when the route works


def try_commands(route: _Route, ingress_class: str) -> list[TryCommand]:
    """Shell commands that reach ``route`` through the local nginx, or [] if no local data plane serves it."""
    address = address_for(ingress_class)
    if address is None:
        return []
    tls = manifest.needs_tls(route.protocol)
    resolve = f"--resolve {shlex.quote(f'{route.host}:{443 if tls else 80}:{address}')}"
    # -k: the demo's certificate is self-signed.
    insecure = "-k " if tls else ""
    if route.protocol == manifest.GRPC:
        url = shlex.quote(f"https://{route.host}/grpc.health.v1.Health/Check")
        return [
            TryCommand(
                "printf '\\0\\0\\0\\0\\0' | curl -sS -k --http2 "
                f"{resolve} -H 'content-type: application/grpc' -H 'te: trailers' --data-binary @- "
                f"-o /dev/null -w '%{{http_code}} %{{http_version}}\\n' {url}",
                "200 2",
            )
        ]
    commands = []
    for url in route.access_urls():
        if route.protocol in (manifest.WS, manifest.WSS):
            commands.append(
                TryCommand(
                    f"curl -sS -i -N --max-time 2 {insecure}{resolve} -H 'Connection: Upgrade' "
                    f"-H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' "
                    f"-H 'Sec-WebSocket-Key: {WEBSOCKET_KEY}' {shlex.quote(url)}",
                    "HTTP/1.1 101 Switching Protocols",
                )
            )
        else:
            commands.append(TryCommand(f"curl -sS {insecure}{resolve} {shlex.quote(url)}", ""))
    return commands
