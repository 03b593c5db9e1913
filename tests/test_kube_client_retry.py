"""The client tries a 429 again, as client-go does: the transport, against a real HTTP server on loopback.

The server here answers 429 (what kube-apiserver says while a custom
resource's storage is "(re)initializing") a given number of times, then
serves the request. It stands in for the API server only at the transport
level: status codes, headers and a Status body, no Kubernetes semantics.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kubegems_routes.kube import client as kube_client
from kubegems_routes.kube.client import KubeClient
from kubegems_routes.kube.errors import KubeError, Unreachable

BUSY = {
    "kind": "Status",
    "apiVersion": "v1",
    "status": "Failure",
    "message": "storage is (re)initializing",
    "reason": "TooManyRequests",
    "details": {"retryAfterSeconds": 1},
    "code": 429,
}


class _Busy(ThreadingHTTPServer):
    """Answers ``status`` (429) to the first ``busy`` requests, then 200 with a version or the posted body."""

    daemon_threads = True

    def __init__(self, busy: int) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.busy = busy
        self.status = 429
        self.requests: list[tuple[str, str, float]] = []  # (method, path, when)


class _Handler(BaseHTTPRequestHandler):
    server: _Busy

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.requests.append((self.command, self.path, time.monotonic()))
        if len(self.server.requests) <= self.server.busy:
            status, payload, extra = self.server.status, {**BUSY, "code": self.server.status}, {"Retry-After": "1"}
        else:
            status, payload, extra = 200, (json.loads(body) if body else {"gitVersion": "v1.37.2"}), {}
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in extra.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def busy_server() -> Iterator[_Busy]:
    server = _Busy(busy=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _client(server: _Busy) -> KubeClient:
    host, port = server.server_address[:2]
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "busy", "cluster": {"server": f"http://{host}:{port}"}}],
        "users": [{"name": "busy", "user": {"token": "not-a-secret"}}],
        "contexts": [{"name": "busy", "context": {"cluster": "busy", "user": "busy"}}],
        "current-context": "busy",
    }
    return KubeClient.from_kubeconfig(kubeconfig, connect_timeout=2, read_timeout=2)


def test_a_429_is_tried_again_and_the_answer_that_follows_is_returned(busy_server):
    busy_server.busy = 2
    assert _client(busy_server).version() == "v1.37.2"
    assert [(m, p) for m, p, _t in busy_server.requests] == [("GET", "/version")] * 3
    # Each try waits its pause first (not a tight loop against a busy server).
    times = [t for _m, _p, t in busy_server.requests]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert all(gap >= kube_client.TOO_MANY_REQUESTS_PAUSE * 0.9 for gap in gaps), gaps


def test_a_write_answered_429_is_sent_again_with_its_body(busy_server):
    # 429 means the request was not processed, so sending a create again is safe.
    busy_server.busy = 1
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "again"}}
    assert _client(busy_server).create("/api/v1/namespaces", body) == body
    assert [(m, p) for m, p, _t in busy_server.requests] == [("POST", "/api/v1/namespaces")] * 2


def test_a_persistent_429_surfaces_after_three_more_tries_with_the_api_servers_words(busy_server):
    busy_server.busy = 100
    with pytest.raises(KubeError) as raised:
        _client(busy_server).version()
    assert len(busy_server.requests) == kube_client.TOO_MANY_REQUESTS_TRIES == 4
    assert raised.value.status == 429
    assert str(raised.value) == "storage is (re)initializing"


def test_other_refusals_are_not_tried_again(busy_server):
    # A 503 may have been processed in part; only 429 says it was not.
    busy_server.busy, busy_server.status = 1, 503
    with pytest.raises(Unreachable):
        _client(busy_server).version()
    assert len(busy_server.requests) == 1
