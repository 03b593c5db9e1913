"""Does the route answer? One request through the route's own gateway, as a client on the internet sends it.

The probe connects to the gateway's address and port (never to an address a user typed: the caller passes
the gateway's), says the route's host in SNI and in Host / ``:authority``, and reports what came back: the
status, the HTTP version, the time to the first byte, the certificate, the 101 of a WebSocket upgrade, the
gRPC health status. On failure it says which step failed: connect, TLS, HTTP, upgrade or gRPC.

Bounded: 3 s to connect, 5 s in all, 64 KiB of response read. The certificate is read, not trusted: the
console says whose it is and whether it covers the host, the user judges (a route's certificate may be
issued by a private CA the console does not know).

Written on the standard library (``socket``, ``ssl``, ``http.client``), ``cryptography`` for the
certificate, and ``h2`` for gRPC: no HTTP client library lets one connect to one address while naming
another host in SNI and ``:authority`` over HTTP/2 and read the gRPC trailers.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import http.client
import math
import os
import socket
import ssl
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import h2.config
import h2.connection
import h2.events
from cryptography import x509
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kubegems_routes.routes import manifest

CONNECT_TIMEOUT = 3.0
TOTAL_TIMEOUT = 5.0
MAX_BODY = 64 * 1024
EXPIRY_WARNING = timedelta(days=14)
USER_AGENT = "kubegems-routes-test/1"
GRPC_HEALTH_PATH = "/grpc.health.v1.Health/Check"
WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455, section 1.3
HEALTH_STATUSES = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}


class Step(enum.StrEnum):
    CONNECT = "connect"
    TLS = "tls"
    HTTP = "http"
    UPGRADE = "upgrade"
    GRPC = "grpc"


@dataclass(frozen=True)
class Certificate:
    subject: str
    issuer: str
    names: tuple[str, ...]
    not_after: datetime

    @classmethod
    def from_der(cls, der: bytes) -> Certificate:
        cert = x509.load_der_x509_certificate(der)
        try:
            names = tuple(
                cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
                    x509.DNSName
                )
            )
        except x509.ExtensionNotFound:
            names = ()
        return cls(cert.subject.rfc4514_string(), cert.issuer.rfc4514_string(), names, cert.not_valid_after_utc)

    def covers(self, host: str) -> bool:
        """Whether one of its DNS names matches ``host`` (a wildcard name stands for exactly one label)."""
        host = host.lower()
        for name in (n.lower() for n in self.names):
            if name == host:
                return True
            if name.startswith("*.") and host.partition(".")[2] == name[2:] and "." in host:
                return True
        return False


@dataclass(frozen=True)
class Probe:
    """What one request through the gateway found. ``failed`` is the step that failed (None: it answered)."""

    target: str  # address:port the request went to
    url: str  # what it asked for, as the route's user would write it
    failed: Step | None = None
    error: str = ""
    status: int | None = None
    http_version: str = ""
    first_byte_ms: int | None = None
    certificate: Certificate | None = None
    grpc_health: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failed is None


class _Failed(Exception):
    def __init__(self, step: Step, error: str) -> None:
        super().__init__(error)
        self.step = step
        self.error = error


class _Clock:
    """The probe's whole time budget; each blocking call gets what is left of it."""

    def __init__(self, total: float) -> None:
        self.deadline = time.monotonic() + total

    def left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        return left

    def bound(self, sock: socket.socket) -> None:
        sock.settimeout(self.left())


def probe(host: str, protocol: str, path: str, address: str, port: int, *, now: datetime | None = None) -> Probe:
    """Send one request for ``host`` + ``path`` with ``protocol``'s client to the gateway at ``address``:``port``."""
    tls = manifest.needs_tls(protocol)
    target = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
    if protocol == manifest.GRPC:
        path = GRPC_HEALTH_PATH
    url = f"{'https' if tls else 'http'}://{host}{path}"
    if protocol in (manifest.WS, manifest.WSS):
        url = f"{'wss' if tls else 'ws'}://{host}{path}"
    clock = _Clock(TOTAL_TIMEOUT)
    found: dict[str, object] = {}
    try:
        sock = _connect(address, port, clock)
        try:
            if tls:
                sock = _tls(sock, host, protocol, clock, found)
            if protocol == manifest.GRPC:
                _grpc(sock, host, clock, found)
            else:
                _http(sock, host, path, protocol, clock, found)
        finally:
            sock.close()
    except _Failed as exc:
        return _result(target, url, found, now, failed=exc.step, error=exc.error)
    return _result(target, url, found, now)


def _result(
    target: str,
    url: str,
    found: dict[str, object],
    now: datetime | None,
    *,
    failed: Step | None = None,
    error: str = "",
) -> Probe:
    certificate = found.get("certificate")
    assert certificate is None or isinstance(certificate, Certificate)
    host = url.split("://", 1)[1].split("/", 1)[0]
    warnings = []
    if certificate is not None:
        if not certificate.covers(host):
            warnings.append(_("The certificate does not name %(host)s.") % {"host": host})
        when = now or datetime.now(UTC)
        if certificate.not_after <= when:
            warnings.append(_("The certificate has expired."))
        elif certificate.not_after - when <= EXPIRY_WARNING:
            days = math.ceil((certificate.not_after - when) / timedelta(days=1))
            warnings.append(
                ngettext(
                    "The certificate expires within %(days)s day.", "The certificate expires in %(days)s days.", days
                )
                % {"days": days}
            )
    status = found.get("status")
    first_byte = found.get("first_byte_ms")
    return Probe(
        target=target,
        url=url,
        failed=failed,
        error=error,
        status=status if isinstance(status, int) else None,
        http_version=str(found.get("http_version", "")),
        first_byte_ms=first_byte if isinstance(first_byte, int) else None,
        certificate=certificate,
        grpc_health=str(found.get("grpc_health", "")),
        warnings=warnings,
    )


def _connect(address: str, port: int, clock: _Clock) -> socket.socket:
    try:
        return socket.create_connection((address, port), timeout=min(CONNECT_TIMEOUT, clock.left()))
    except (OSError, TimeoutError) as exc:
        raise _Failed(
            Step.CONNECT,
            _("No connection to %(address)s port %(port)s: %(why)s")
            % {"address": address, "port": port, "why": _why(exc)},
        ) from exc


def _tls(sock: socket.socket, host: str, protocol: str, clock: _Clock, found: dict[str, object]) -> ssl.SSLSocket:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # read, not trusted: see the module's docstring
    # A WebSocket upgrade is HTTP/1.1 only; gRPC is HTTP/2 only.
    context.set_alpn_protocols(["h2"] if protocol == manifest.GRPC else ["http/1.1"])
    try:
        clock.bound(sock)
        wrapped = context.wrap_socket(sock, server_hostname=host)
    except (OSError, TimeoutError) as exc:
        raise _Failed(Step.TLS, _("The TLS handshake failed: %(why)s") % {"why": _why(exc)}) from exc
    der = wrapped.getpeercert(binary_form=True)
    if der:
        found["certificate"] = Certificate.from_der(der)
    return wrapped


def _http(sock: socket.socket, host: str, path: str, protocol: str, clock: _Clock, found: dict[str, object]) -> None:
    upgrade = protocol in (manifest.WS, manifest.WSS)
    key = base64.b64encode(os.urandom(16)).decode()
    connection = http.client.HTTPConnection(host)
    connection.sock = sock
    start = time.monotonic()
    try:
        clock.bound(sock)
        connection.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", host)
        connection.putheader("User-Agent", USER_AGENT)
        if upgrade:
            connection.putheader("Connection", "Upgrade")
            connection.putheader("Upgrade", "websocket")
            connection.putheader("Sec-WebSocket-Version", "13")
            connection.putheader("Sec-WebSocket-Key", key)
        connection.endheaders()
        response = connection.getresponse()
        found["first_byte_ms"] = round((time.monotonic() - start) * 1000)
        found["status"] = response.status
        found["http_version"] = "HTTP/1.0" if response.version == 10 else "HTTP/1.1"
        clock.bound(sock)
        response.read(MAX_BODY)
    except (OSError, http.client.HTTPException) as exc:
        raise _Failed(Step.HTTP, _("The gateway did not answer the request: %(why)s") % {"why": _why(exc)}) from exc
    if upgrade:
        accept = base64.b64encode(hashlib.sha1((key + WEBSOCKET_GUID).encode()).digest()).decode()  # noqa: S324
        if response.status != 101:
            raise _Failed(
                Step.UPGRADE, _("The WebSocket upgrade was refused with %(status)s.") % {"status": response.status}
            )
        if response.getheader("Sec-WebSocket-Accept") != accept:
            raise _Failed(Step.UPGRADE, _("The WebSocket upgrade's Sec-WebSocket-Accept is wrong."))
    elif response.status >= 400:
        raise _Failed(Step.HTTP, _("The gateway answered %(status)s.") % {"status": response.status})


def _grpc(sock: socket.socket, host: str, clock: _Clock, found: dict[str, object]) -> None:
    """A grpc.health.v1.Health/Check of the server's overall health (the empty service name)."""
    if not isinstance(sock, ssl.SSLSocket) or sock.selected_alpn_protocol() != "h2":
        raise _Failed(Step.TLS, _("The gateway does not offer HTTP/2 here (ALPN), which gRPC needs."))
    found["http_version"] = "HTTP/2"
    connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    connection.initiate_connection()
    stream = connection.get_next_available_stream_id()
    connection.send_headers(
        stream,
        [
            (":method", "POST"),
            (":scheme", "https"),
            (":authority", host),
            (":path", GRPC_HEALTH_PATH),
            ("content-type", "application/grpc"),
            ("te", "trailers"),
            ("user-agent", USER_AGENT),
        ],
    )
    connection.send_data(stream, b"\x00\x00\x00\x00\x00", end_stream=True)  # an empty HealthCheckRequest
    start = time.monotonic()
    headers: dict[str, str] = {}
    body = b""
    ended = False
    try:
        while not ended:
            clock.bound(sock)
            sock.sendall(connection.data_to_send())
            data = sock.recv(65536)
            if not data:
                raise _Failed(Step.GRPC, _("The gateway closed the connection."))
            for event in connection.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived | h2.events.TrailersReceived):
                    found.setdefault("first_byte_ms", round((time.monotonic() - start) * 1000))
                    headers.update((str(k), str(v)) for k, v in event.headers)
                elif isinstance(event, h2.events.DataReceived):
                    body += event.data
                    connection.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                    if len(body) > MAX_BODY:
                        raise _Failed(Step.GRPC, _("The answer is too large."))
                elif isinstance(event, h2.events.StreamEnded):
                    ended = True
                elif isinstance(event, h2.events.StreamReset | h2.events.ConnectionTerminated):
                    raise _Failed(Step.GRPC, _("The gateway reset the stream."))
    except OSError as exc:
        raise _Failed(Step.GRPC, _("The gateway did not answer the request: %(why)s") % {"why": _why(exc)}) from exc
    found["status"] = int(headers.get(":status", "0"))
    if found["status"] != 200:
        raise _Failed(Step.HTTP, _("The gateway answered %(status)s.") % {"status": found["status"]})
    grpc_status = headers.get("grpc-status", "")
    if grpc_status != "0":
        raise _Failed(
            Step.GRPC,
            _("The gRPC call failed with status %(status)s: %(message)s")
            % {"status": grpc_status or "-", "message": headers.get("grpc-message", "")},
        )
    found["grpc_health"] = health_status(body)


def health_status(body: bytes) -> str:
    """The status of a length-prefixed HealthCheckResponse (field 1, an enum; absent means UNKNOWN)."""
    message = body[5 : 5 + int.from_bytes(body[1:5], "big")] if len(body) >= 5 else b""
    value, i = 0, 0
    while i < len(message):
        tag = message[i]
        i += 1
        number, shift = 0, 0
        while i < len(message):
            byte = message[i]
            i += 1
            number |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        if tag == 0x08:  # field 1, varint
            value = number
        elif tag & 0x07 != 0:  # only varints are expected here
            break
    return HEALTH_STATUSES.get(value, str(value))


def _why(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | socket.timeout):
        return _("no answer in time")
    if isinstance(exc, ssl.SSLError):
        return exc.reason or str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
