"""The data plane's backends, run inside its network namespace by ``DataPlane``.

One process serves every backend, and holds the network namespace alive: it is
started as ``unshare --net python -m kubegems_routes.dataplane.backends ...``,
waits for a line on stdin (the owner has configured the veth pair by then),
binds, prints ``ready`` and serves until stdin closes or it gets SIGTERM. When
it dies the namespace and the veth pair go with it; nothing is left to clean.

- ``--http NAME=PORT``: plain HTTP answering ``NAME METHOD PATH`` (which backend
  served, and the path it was asked for, is what a routing test checks), with
  the request body's size in ``X-Body-Bytes``; ``?sleep=SECONDS`` answers that
  much later (a slow backend, for timeouts);
- ``--ws PORT``: a WebSocket echo (``websockets``); a plain GET gets 426;
- ``--grpc PORT``: gRPC with the standard health service reporting SERVING.
"""

from __future__ import annotations

import argparse
import http.server
import os
import signal
import sys
import threading
import time
import urllib.parse
from concurrent import futures
from types import FrameType

MAX_BODY = 16 * 1024 * 1024
MAX_SLEEP = 30.0


class _Handler(http.server.BaseHTTPRequestHandler):
    backend = ""
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without TCP_NODELAY a kept-alive
    # client waits ~40 ms for a delayed ACK on every request.
    disable_nagle_algorithm = True

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        received = len(self.rfile.read(min(length, MAX_BODY))) if length > 0 else 0
        # ?sleep=<seconds>: a slow backend, for the timeouts of a route.
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        try:
            delay = min(float(query.get("sleep", ["0"])[0] or 0), MAX_SLEEP)
        except ValueError:
            delay = 0.0
        if delay > 0:
            time.sleep(delay)
        body = f"{self.backend} {self.command} {self.path}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Backend", self.backend)
        self.send_header("X-Body-Bytes", str(received))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


def _serve_http(address: str, name: str, port: int) -> None:
    handler = type(f"Handler_{name}", (_Handler,), {"backend": name})
    server = http.server.ThreadingHTTPServer((address, port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()


def _serve_ws(address: str, port: int) -> None:
    from websockets.sync.server import ServerConnection, serve

    def echo(connection: ServerConnection) -> None:
        for message in connection:
            connection.send(message)

    server = serve(echo, address, port)
    threading.Thread(target=server.serve_forever, daemon=True).start()


def _serve_grpc(address: str, port: int) -> object:
    import grpc
    from grpc_health.v1 import health, health_pb2, health_pb2_grpc

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    servicer = health.HealthServicer()
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    server.add_insecure_port(f"{address}:{port}")
    server.start()
    return server  # kept referenced: a collected grpc server stops


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--address", required=True)
    parser.add_argument("--http", action="append", default=[], metavar="NAME=PORT")
    parser.add_argument("--ws", type=int, action="append", default=[])
    parser.add_argument("--grpc", type=int, action="append", default=[])
    args = parser.parse_args(argv)

    def stop(_signum: int, _frame: FrameType | None) -> None:
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    if not sys.stdin.readline():  # the owner died before the network was ready
        return 1
    for spec in args.http:
        name, _, port = spec.partition("=")
        _serve_http(args.address, name, int(port))
    for port in args.ws:
        _serve_ws(args.address, port)
    keep = [_serve_grpc(args.address, port) for port in args.grpc]
    print("ready", flush=True)
    # Stdin closes when the owner goes away, however it goes: then so do we.
    sys.stdin.read()
    del keep
    os._exit(0)


if __name__ == "__main__":
    raise SystemExit(main())
