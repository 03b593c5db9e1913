"""Clients for real traffic through the data plane: HTTP(S), WebSocket, gRPC, and the controller's Events."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import grpc
import urllib3
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from grpc_health.v1 import health_pb2, health_pb2_grpc
from websockets.sync.client import connect

from kubegems_routes.kube.client import KubeClient

TIMEOUT = 5


@dataclass(frozen=True)
class TrafficCA:
    """A CA the clients trust, and a certificate it signed for every host under one wildcard."""

    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes
    ca_file: Path

    @classmethod
    def create(cls, wildcard: str, directory: Path) -> TrafficCA:
        now = dt.datetime.now(dt.UTC)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubegems-routes traffic test CA")])
        ca = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, wildcard)]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(wildcard)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256())
        )
        pem = serialization.Encoding.PEM
        ca_pem = ca.public_bytes(pem)
        ca_file = directory / "traffic-ca.pem"
        ca_file.write_bytes(ca_pem)
        return cls(
            ca_pem=ca_pem,
            cert_pem=cert.public_bytes(pem),
            key_pem=key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
            ca_file=ca_file,
        )

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cadata=self.ca_pem.decode())


@dataclass(frozen=True)
class Answer:
    status: int
    body: str


def http_get(address: str, host: str, path: str = "/") -> Answer:
    """GET through nginx on port 80, as `curl --resolve host:80:address http://host/path`."""
    pool = urllib3.HTTPConnectionPool(address, 80, timeout=TIMEOUT, retries=False)
    response = pool.request("GET", path, headers={"Host": host}, redirect=False)
    return Answer(response.status, response.data.decode(errors="replace"))


def https_get(address: str, host: str, ca: TrafficCA, path: str = "/") -> Answer:
    """GET on 443 with SNI and certificate checked for ``host`` against the test CA."""
    pool = urllib3.HTTPSConnectionPool(
        address,
        443,
        timeout=TIMEOUT,
        retries=False,
        ca_certs=str(ca.ca_file),
        cert_reqs="CERT_REQUIRED",
        server_hostname=host,
        assert_hostname=host,
    )
    response = pool.request("GET", path, headers={"Host": host}, redirect=False)
    return Answer(response.status, response.data.decode(errors="replace"))


def ws_echo(address: str, host: str, message: str, *, ca: TrafficCA | None = None, path: str = "/") -> str:
    """Open a WebSocket (wss when ``ca`` is given) through nginx, send one message, return the echo."""
    port = 443 if ca else 80
    sock = socket.create_connection((address, port), timeout=TIMEOUT)
    scheme = "wss" if ca else "ws"
    with connect(
        f"{scheme}://{host}{path}",
        sock=sock,
        ssl=ca.ssl_context() if ca else None,
        server_hostname=host if ca else None,
        open_timeout=TIMEOUT,
        close_timeout=1,
    ) as websocket:
        websocket.send(message)
        return str(websocket.recv(timeout=TIMEOUT))


def alpn(address: str, host: str, ca: TrafficCA, offered: list[str]) -> str | None:
    """The application protocol nginx picks in the TLS handshake for ``host`` (h2 when HTTP/2 is on)."""
    context = ca.ssl_context()
    context.set_alpn_protocols(offered)
    with (
        socket.create_connection((address, 443), timeout=TIMEOUT) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        return tls.selected_alpn_protocol()


def grpc_health(address: str, host: str, ca: TrafficCA) -> str:
    """The standard gRPC health Check over TLS through nginx; the status name (SERVING)."""
    credentials = grpc.ssl_channel_credentials(root_certificates=ca.ca_pem)
    options = [
        ("grpc.ssl_target_name_override", host),
        ("grpc.default_authority", host),
        ("grpc.enable_http_proxy", 0),
    ]
    with grpc.secure_channel(f"{address}:443", credentials, options=options) as channel:
        response = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=TIMEOUT)
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(response.status))


def eventually(attempt: Callable[[], object], timeout: float = 5) -> object:
    """The first result of ``attempt`` that does not raise. nginx has reloaded when the
    controller records its Event, but a worker of the old generation may still take a
    connection for a moment."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return attempt()
        except (OSError, AssertionError, urllib3.exceptions.HTTPError, grpc.RpcError, ssl.SSLError) as exc:
            if time.monotonic() > deadline:
                raise AssertionError(f"no success within {timeout}s: {exc!r}") from exc
            time.sleep(0.05)


class Events:
    """The controller's Events on one object; ``wait`` returns the first one recorded after ``mark``."""

    def __init__(self, kube: KubeClient, namespace: str, name: str, kind: str = "Ingress") -> None:
        self.kube, self.namespace, self.name, self.kind = kube, namespace, name, kind
        self.seen: set[tuple[str, int]] = set()

    def mark(self) -> None:
        self.seen = {self._key(e) for e in self.kube.list_events(self.namespace, self.kind, self.name)}

    @staticmethod
    def _key(event: dict) -> tuple[str, int]:
        return event["metadata"]["uid"], int(event.get("count") or 1)

    def wait(self, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.kube.list_events(self.namespace, self.kind, self.name):
                if event.get("source", {}).get("component") != "nginx-ingress-controller":
                    continue
                if self._key(event) not in self.seen:
                    self.seen.add(self._key(event))
                    return event
            time.sleep(0.05)
        raise AssertionError(
            f"the controller recorded no Event on {self.kind} {self.namespace}/{self.name} in {timeout}s"
        )


@dataclass(frozen=True)
class Reply:
    status: int
    body: str
    headers: dict[str, str]


def http_request(
    address: str,
    host: str,
    path: str = "/",
    *,
    method: str = "GET",
    body: bytes | None = None,
    timeout: float = TIMEOUT,
) -> Reply:
    """One request through nginx on port 80, as curl would send it; the status, body and headers as answered
    (redirects not followed)."""
    pool = urllib3.HTTPConnectionPool(address, 80, timeout=timeout, retries=False)
    response = pool.request(method, path, body=body, headers={"Host": host}, redirect=False)
    return Reply(response.status, response.data.decode(errors="replace"), dict(response.headers))
