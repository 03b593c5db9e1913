"""Run a real etcd + kube-apiserver on loopback, as envtest does.

The API server validates, defaults and stores objects exactly as a production
one; there is no controller-manager, kubelet or ingress controller, so nothing
reconciles what is stored. That is all a console that writes Ingresses needs.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import ipaddress
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kubegems_routes.controlplane.build import Binaries, ensure_binaries

READY_TIMEOUT = float(os.environ.get("KGR_CONTROLPLANE_READY_TIMEOUT", "90"))


class ControlPlaneError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    # PR_SET_PDEATHSIG: if the Python process dies without stopping us (SIGKILL,
    # a CI time-out), the kernel kills etcd and kube-apiserver too, so no orphan
    # keeps a port alive. SIGKILL, not SIGTERM: kube-apiserver's graceful
    # shutdown hangs once etcd is gone, and nobody would be left to wait for it.
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)


def _pem_key(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _certificate(
    subject: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool = False,
    server: bool = False,
    client: bool = False,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    usages = []
    if server:
        usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    if client:
        usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
    if usages:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@dataclass
class Pki:
    """One CA that signs the serving certificate and the admin client certificate."""

    ca_cert: bytes
    server_cert: bytes
    server_key: bytes
    admin_cert: bytes
    admin_key: bytes
    sa_public: bytes
    sa_private: bytes

    @classmethod
    def generate(cls) -> Pki:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubegems-routes-local-ca")])
        ca = _certificate(ca_name, ca_key.public_key(), ca_name, ca_key, ca=True)

        server_key = ec.generate_private_key(ec.SECP256R1())
        server = _certificate(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]),
            server_key.public_key(),
            ca_name,
            ca_key,
            server=True,
        )
        admin_key = ec.generate_private_key(ec.SECP256R1())
        admin = _certificate(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters"),
                    x509.NameAttribute(NameOID.COMMON_NAME, "admin"),
                ]
            ),
            admin_key.public_key(),
            ca_name,
            ca_key,
            client=True,
        )
        sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = serialization.Encoding.PEM
        return cls(
            ca_cert=ca.public_bytes(pem),
            server_cert=server.public_bytes(pem),
            server_key=_pem_key(server_key),
            admin_cert=admin.public_bytes(pem),
            admin_key=_pem_key(admin_key),
            sa_public=sa_key.public_key().public_bytes(pem, serialization.PublicFormat.SubjectPublicKeyInfo),
            sa_private=_pem_key(sa_key),
        )


def kubeconfig_document(server: str, pki: Pki) -> dict[str, object]:
    import base64

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "kubegems-routes-local",
                "cluster": {"server": server, "certificate-authority-data": b64(pki.ca_cert)},
            }
        ],
        "users": [
            {
                "name": "admin",
                "user": {
                    "client-certificate-data": b64(pki.admin_cert),
                    "client-key-data": b64(pki.admin_key),
                },
            }
        ],
        "contexts": [
            {
                "name": "kubegems-routes-local",
                "context": {"cluster": "kubegems-routes-local", "user": "admin"},
            }
        ],
        "current-context": "kubegems-routes-local",
    }


@dataclass
class ControlPlane:
    """etcd and kube-apiserver as child processes, in one temporary directory.

    Use as a context manager, or call start() and stop(). stop() leaves no
    process and no directory behind.
    """

    binaries: Binaries | None = None
    kubeconfig_path: Path | None = None
    # Where etcd keeps its data; by default inside the temporary directory, gone
    # with stop(). The console's run command keeps it, so routes survive restarts.
    etcd_data_dir: Path | None = None
    # More kube-apiserver flags (tests: e.g. --watch-cache=false, so watches are served by etcd).
    apiserver_args: tuple[str, ...] = ()
    workdir: Path = field(init=False)
    pki: Pki = field(init=False)
    apiserver_port: int = field(init=False, default=0)
    etcd_port: int = field(init=False, default=0)
    _etcd: subprocess.Popen[bytes] | None = field(init=False, default=None)
    _apiserver: subprocess.Popen[bytes] | None = field(init=False, default=None)
    _owns_workdir: bool = field(init=False, default=False)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.apiserver_port}"

    @property
    def kubeconfig(self) -> dict[str, object]:
        return kubeconfig_document(self.url, self.pki)

    def start(self) -> ControlPlane:
        bins = self.binaries or ensure_binaries()
        self.binaries = bins
        self.workdir = Path(tempfile.mkdtemp(prefix="kubegems-routes-cp-"))
        self._owns_workdir = True
        if self.etcd_data_dir is not None:
            self.etcd_data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            self.pki = Pki.generate()
            self._write_pki()
            self._start_etcd()
            self.apiserver_port = free_port()
            self.start_apiserver()
            self._write_kubeconfig()
        except BaseException:
            self.stop()
            raise
        return self

    def _write_pki(self) -> None:
        pki_dir = self.workdir / "pki"
        pki_dir.mkdir(mode=0o700)
        for name, data in {
            "ca.crt": self.pki.ca_cert,
            "apiserver.crt": self.pki.server_cert,
            "apiserver.key": self.pki.server_key,
            "admin.crt": self.pki.admin_cert,
            "admin.key": self.pki.admin_key,
            "sa.pub": self.pki.sa_public,
            "sa.key": self.pki.sa_private,
        }.items():
            path = pki_dir / name
            path.write_bytes(data)
            path.chmod(0o600)

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        log = (self.workdir / f"{name}.log").open("ab")
        try:
            return subprocess.Popen(
                args,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=_die_with_parent,
                # Its own session: a terminal's Ctrl-C reaches the Python owner only,
                # which stops what runs on the API server first, then the API server.
                start_new_session=True,
                cwd=self.workdir,
            )
        finally:
            log.close()

    def _start_etcd(self) -> None:
        assert self.binaries is not None
        self.etcd_port = free_port()
        peer = free_port()
        client_url = f"http://127.0.0.1:{self.etcd_port}"
        self._etcd = self._spawn(
            "etcd",
            [
                str(self.binaries.etcd),
                f"--data-dir={self.etcd_data_dir or self.workdir / 'etcd'}",
                f"--listen-client-urls={client_url}",
                f"--advertise-client-urls={client_url}",
                f"--listen-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-cluster=default=http://127.0.0.1:{peer}",
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
        )
        self._wait(
            "etcd",
            self._etcd,
            lambda: _http_ok(f"{client_url}/health", None),
        )

    def start_apiserver(self) -> None:
        """Start (or restart, after stop_apiserver) kube-apiserver on the same port."""
        assert self.binaries is not None
        pki = self.workdir / "pki"
        port = self.apiserver_port
        self._apiserver = self._spawn(
            "kube-apiserver",
            [
                str(self.binaries.kube_apiserver),
                f"--etcd-servers=http://127.0.0.1:{self.etcd_port}",
                f"--cert-dir={self.workdir / 'apiserver-certs'}",
                f"--tls-cert-file={pki / 'apiserver.crt'}",
                f"--tls-private-key-file={pki / 'apiserver.key'}",
                f"--client-ca-file={pki / 'ca.crt'}",
                f"--secure-port={port}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                # Wide enough for thousands of test Services: namespaces are never
                # garbage-collected here (no controller-manager), so IPs are never freed.
                "--service-cluster-ip-range=10.0.0.0/16",
                "--allow-privileged=true",
                # No controller-manager maintains the kubernetes Service here, and
                # v1.37 refuses a loopback advertise address for the reconciler.
                "--endpoint-reconciler-type=none",
                "--disable-admission-plugins=ServiceAccount",
                "--authorization-mode=RBAC",
                f"--service-account-issuer=https://127.0.0.1:{port}/",
                f"--service-account-key-file={pki / 'sa.pub'}",
                f"--service-account-signing-key-file={pki / 'sa.key'}",
                "--v=0",
                *self.apiserver_args,
            ],
        )
        context = self.ssl_context()
        self._wait(
            "kube-apiserver",
            self._apiserver,
            lambda: _http_ok(f"{self.url}/readyz", context),
        )

    def compact_etcd(self) -> int:
        """Compact etcd's history up to its current revision (what kube-apiserver does every 5 minutes)."""
        # etcd's JSON gateway on its own loopback client URL.
        url = f"http://127.0.0.1:{self.etcd_port}/v3/kv/"
        with urllib.request.urlopen(url + "range", b'{"key": "AA=="}', timeout=10) as answer:  # noqa: S310
            revision = int(json.loads(answer.read())["header"]["revision"])
        body = json.dumps({"revision": str(revision), "physical": True}).encode()
        with urllib.request.urlopen(url + "compaction", body, timeout=10) as answer:  # noqa: S310
            answer.read()
        return revision

    def stop_apiserver(self) -> None:
        _terminate(self._apiserver)
        self._apiserver = None

    def ssl_context(self) -> ssl.SSLContext:
        pki = self.workdir / "pki"
        context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        context.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
        return context

    def _wait(self, name: str, proc: subprocess.Popen[bytes], ready: object) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise ControlPlaneError(
                    f"{name} exited with code {proc.returncode} while starting:\n" + self.log_tail(name)
                )
            if ready():  # type: ignore[operator]
                return
            time.sleep(0.2)
        raise ControlPlaneError(f"{name} was not ready within {READY_TIMEOUT:.0f}s:\n" + self.log_tail(name))

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.workdir / f"{name}.log"
        if not path.exists():
            return "(no log)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def _write_kubeconfig(self) -> None:
        path = self.kubeconfig_path or self.workdir / "kubeconfig"
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            yaml.safe_dump(self.kubeconfig, handle, sort_keys=False)
        self.kubeconfig_path = path

    def stop(self) -> None:
        _terminate(self._apiserver)
        _terminate(self._etcd)
        self._apiserver = self._etcd = None
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self._owns_workdir = False

    def __enter__(self) -> ControlPlane:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _terminate(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _http_ok(url: str, context: ssl.SSLContext | None) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2, context=context) as response:  # noqa: S310 - our own http(s) URL
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ssl.SSLError):
        return False
