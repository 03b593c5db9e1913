"""Run the real NGINX Ingress Controller and nginx against the local API server.

Everything lives in namespaces of the kernel that die with their processes, so
neither a clean stop nor a killed owner leaves anything behind on the host:

- **network**: one Python process (``backends.py``) is started in a new network
  namespace and serves HTTP, WebSocket and gRPC backends on its inner address;
  a veth pair joins it to the host. When that process dies, the namespace and
  the veth pair go too (no ``ip netns add``: a named namespace would outlive a
  killed owner).
- **mount + pid**: the controller is started under ``unshare --mount --pid
  --fork --kill-child``. Inside that private mount namespace only, read-only
  overlays over ``/etc``, ``/var/lib``, ``/usr/sbin`` and ``/run`` provide the
  paths it hard-codes, with writable folders of a temporary directory bound on
  ``/etc/nginx``, ``/var/lib/nginx`` and the ServiceAccount folder.
  ``/usr/sbin/nginx`` there is a wrapper that enters the backends' network
  namespace, so nginx listens on 80/443 inside it, never on the host. If the
  owner dies, ``unshare`` gets SIGKILL (PR_SET_PDEATHSIG), its child too
  (``--kill-child``), and with the pid namespace's first process the kernel
  kills every nginx.

The controller has no kubeconfig flag: it gets in-cluster settings (API server
on loopback, a TokenRequest token for its ServiceAccount, the control plane's
CA) and its own Pod with an owner chain Deployment -> ReplicaSet -> Pod, which it
reads at start-up. Needs root, ``unshare``/``nsenter`` (util-linux) and ``ip``
(iproute2).
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kubegems_routes.controlplane.build import BuildError
from kubegems_routes.controlplane.server import ControlPlane, _die_with_parent, _http_ok, _terminate, free_port
from kubegems_routes.dataplane.build import DataPlaneBinaries, ensure_binaries
from kubegems_routes.kube.client import KubeClient
from kubegems_routes.kube.errors import KubeError

READY_TIMEOUT = float(os.environ.get("KGR_DATAPLANE_READY_TIMEOUT", "60"))
CONTROLLER_NAMESPACE = "nginx-ingress"  # the upstream manifests' namespace and ServiceAccount
NGINX_STATUS_PORT = 8088  # inside the network namespace; no backend uses it

# What runs inside the network namespace: (Service name, Service port, backend port).
HTTP_BACKENDS = {"web": 8081, "api": 8082}
WS_PORT = 8083
GRPC_PORT = 50051
SERVICES = (
    ("web", 80, HTTP_BACKENDS["web"]),
    ("api", 80, HTTP_BACKENDS["api"]),
    ("echo", 80, WS_PORT),
    ("grpc", GRPC_PORT, GRPC_PORT),
)


class DataPlaneError(RuntimeError):
    pass


def requirements_problem() -> str | None:
    """Why the data plane cannot run here, or None."""
    if os.geteuid() != 0:
        return (
            "the data plane needs root: it creates network and mount namespaces (unshare, nsenter, ip). "
            "Run the tests as root (CI does), e.g. `sudo make test`"
        )
    missing = [tool for tool in ("unshare", "nsenter", "mount", "ip") if shutil.which(tool) is None]
    if missing:
        return f"{', '.join(missing)} not on PATH: install Debian's util-linux and iproute2"
    return None


def _ip(*args: str, netns_pid: int | None = None) -> None:
    command = ["ip", *args]
    if netns_pid is not None:
        command = ["nsenter", f"--net=/proc/{netns_pid}/ns/net", *command]
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode != 0:
        raise DataPlaneError(f"`{' '.join(command)}` failed: {proc.stderr.strip()}")


def _used_subnets() -> set[str]:
    out = subprocess.run(["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True).stdout
    return {m.group(1) for m in re.finditer(r"inet (10\.250\.\d+\.\d+)/", out)}


def _free_subnet() -> tuple[str, str]:
    """A /30 of 10.250.0.0/16 unused on this host (several test runs may share a machine)."""
    used = _used_subnets()
    for _ in range(100):
        third, fourth = random.randrange(256), random.randrange(64) * 4  # noqa: S311 - not security
        outer, inner = f"10.250.{third}.{fourth + 1}", f"10.250.{third}.{fourth + 2}"
        if outer not in used and inner not in used:
            return outer, inner
    raise DataPlaneError("no free /30 left in 10.250.0.0/16 on this host")


@dataclass
class DataPlane:
    """Backends in a network namespace and the NGINX Ingress Controller serving one ingress class.

    Use as a context manager, or call start() and stop(). ``address`` is where
    nginx (ports 80 and 443) and the backends answer, reachable from the host.
    """

    control_plane: ControlPlane
    ingress_class: str
    http2: bool = True
    binaries: DataPlaneBinaries | None = None
    name: str = field(default_factory=lambda: f"kgr-{uuid.uuid4().hex[:8]}")
    workdir: Path = field(init=False)
    address: str = field(init=False, default="")
    host_address: str = field(init=False, default="")
    ready_port: int = field(init=False, default=0)
    _backends: subprocess.Popen[str] | None = field(init=False, default=None)
    _controller: subprocess.Popen[bytes] | None = field(init=False, default=None)
    _owns_workdir: bool = field(init=False, default=False)

    @property
    def kube(self) -> KubeClient:
        return KubeClient.from_kubeconfig(self.control_plane.kubeconfig)

    @property
    def configmap(self) -> str:
        return f"{self.name}-config"

    @property
    def veth(self) -> str:
        return self.name.replace("-", "")[:12]  # interface names: at most 15 characters

    def start(self) -> DataPlane:
        problem = requirements_problem()
        if problem:
            raise DataPlaneError(problem)
        try:
            self.binaries = self.binaries or ensure_binaries()
        except BuildError as exc:
            raise DataPlaneError(str(exc)) from exc
        self.workdir = Path(tempfile.mkdtemp(prefix="kubegems-routes-dp-"))
        self._owns_workdir = True
        try:
            self._start_backends()
            kube = self.kube
            self._apply_cluster_objects(kube)
            self._write_files(self._token(kube))
            self._start_controller()
        except BaseException:
            self.stop()
            raise
        return self

    # -- network namespace and backends ----------------------------------------

    def _start_backends(self) -> None:
        self.host_address, self.address = _free_subnet()
        args = [
            "unshare",
            "--net",
            "--",
            sys.executable,
            "-m",
            "kubegems_routes.dataplane.backends",
            f"--address={self.address}",
            *(f"--http={name}={port}" for name, port in HTTP_BACKENDS.items()),
            f"--ws={WS_PORT}",
            f"--grpc={GRPC_PORT}",
        ]
        log = (self.workdir / "backends.log").open("ab")
        try:
            self._backends = subprocess.Popen(
                args,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                preexec_fn=_die_with_parent,
                start_new_session=True,  # Ctrl-C reaches the owner only; it stops us in order
                cwd=Path(__file__).resolve().parents[2],
            )
        finally:
            log.close()
        pid = self._backends.pid
        # unshare(2) happens after the fork: until then the child is still in
        # the host's namespace, and a veth end moved "into" it would stay here.
        deadline = time.monotonic() + READY_TIMEOUT
        while _netns_inode(pid) in (_netns_inode(os.getpid()), None):
            if self._backends.poll() is not None or time.monotonic() > deadline:
                raise DataPlaneError("the backends' network namespace was not created:\n" + self.log_tail("backends"))
            time.sleep(0.005)
        outer, inner = f"{self.veth}h", f"{self.veth}n"
        _ip("link", "add", outer, "type", "veth", "peer", "name", inner, "netns", str(pid))
        _ip("addr", "add", f"{self.host_address}/30", "dev", outer)
        _ip("link", "set", outer, "up")
        _ip("addr", "add", f"{self.address}/30", "dev", inner, netns_pid=pid)
        _ip("link", "set", inner, "up", netns_pid=pid)
        _ip("link", "set", "lo", "up", netns_pid=pid)
        assert self._backends.stdin is not None and self._backends.stdout is not None
        self._backends.stdin.write("go\n")
        self._backends.stdin.flush()
        line = self._backends.stdout.readline()
        if line.strip() != "ready":
            raise DataPlaneError("the backends did not start:\n" + self.log_tail("backends"))

    def publish_backends(self, namespace: str) -> None:
        """Selector-less Services web, api (HTTP), echo (WebSocket) and grpc, with EndpointSlices to the backends."""
        kube = self.kube
        for service, port, target in SERVICES:
            kube.create(
                f"/api/v1/namespaces/{namespace}/services",
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"name": service},
                    "spec": {"ports": [{"name": "main", "port": port, "targetPort": target, "protocol": "TCP"}]},
                },
            )
            kube.create(
                f"/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices",
                {
                    "apiVersion": "discovery.k8s.io/v1",
                    "kind": "EndpointSlice",
                    "metadata": {"name": f"{service}-1", "labels": {"kubernetes.io/service-name": service}},
                    "addressType": "IPv4",
                    "endpoints": [{"addresses": [self.address], "conditions": {"ready": True}}],
                    "ports": [{"name": "main", "port": target, "protocol": "TCP"}],
                },
            )

    # -- objects in the API server ---------------------------------------------

    def _apply_cluster_objects(self, kube: KubeClient) -> None:
        assert self.binaries is not None
        for manifest_file in ("ns-and-sa.yaml", "rbac.yaml"):
            for document in yaml.safe_load_all((self.binaries.manifests / manifest_file).read_text()):
                if document:
                    kube.ensure(_collection_path(document), document)
        kube.ensure_ingress_class(self.ingress_class)
        ns = CONTROLLER_NAMESPACE
        kube.create(
            f"/api/v1/namespaces/{ns}/configmaps",
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": self.configmap},
                "data": {"http2": "true" if self.http2 else "false"},
            },
        )
        # The controller reads its own Pod and follows its owners at start-up
        # (it panics without them). Objects only: nothing schedules them.
        labels = {"app": self.name}
        template: dict[str, Any] = {
            "metadata": {"labels": labels},
            "spec": {"containers": [{"name": "nginx-ingress", "image": "nginx/nginx-ingress:local"}]},
        }
        deployment = kube.create(
            f"/apis/apps/v1/namespaces/{ns}/deployments",
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": self.name, "labels": labels},
                "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": template},
            },
        )
        replica_set = kube.create(
            f"/apis/apps/v1/namespaces/{ns}/replicasets",
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {"name": f"{self.name}-rs", "labels": labels, "ownerReferences": [_owner(deployment)]},
                "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": template},
            },
        )
        kube.create(
            f"/api/v1/namespaces/{ns}/pods",
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": f"{self.name}-pod", "labels": labels, "ownerReferences": [_owner(replica_set)]},
                "spec": {**template["spec"], "serviceAccountName": "nginx-ingress"},
            },
        )

    def _delete_cluster_objects(self) -> None:
        kube = self.kube
        ns = CONTROLLER_NAMESPACE
        for path in (
            f"/api/v1/namespaces/{ns}/pods/{self.name}-pod",
            f"/apis/apps/v1/namespaces/{ns}/replicasets/{self.name}-rs",
            f"/apis/apps/v1/namespaces/{ns}/deployments/{self.name}",
            f"/api/v1/namespaces/{ns}/configmaps/{self.configmap}",
        ):
            try:
                kube.request("DELETE", path)
            except KubeError:  # best effort: the control plane may be gone already
                continue

    def set_http2(self, enabled: bool) -> None:
        """Change the controller's ConfigMap, as an admin flipping the gateway's flag would."""
        self.kube.request(
            "PUT",
            f"/api/v1/namespaces/{CONTROLLER_NAMESPACE}/configmaps/{self.configmap}",
            body={
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": self.configmap},
                "data": {"http2": "true" if enabled else "false"},
            },
        )
        self.http2 = enabled

    def _token(self, kube: KubeClient) -> str:
        response = kube.create(
            f"/api/v1/namespaces/{CONTROLLER_NAMESPACE}/serviceaccounts/nginx-ingress/token",
            {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 86400}},
        )
        return str(response["status"]["token"])

    # -- the controller ----------------------------------------------------------

    def _write_files(self, token: str) -> None:
        assert self.binaries is not None and self._backends is not None
        w = self.workdir
        etc_nginx = w / "etc-nginx"
        for sub in ("conf.d", "secrets", "stream-conf.d", "modules"):
            (etc_nginx / sub).mkdir(parents=True)
        shutil.copytree(self.binaries.njs, etc_nginx / "njs")
        shutil.copy2(self.binaries.mime_types, etc_nginx / "mime.types")
        for module in self.binaries.modules.iterdir():
            (etc_nginx / "modules" / module.name).symlink_to(module)
        (w / "var-lib-nginx").mkdir()
        account = w / "serviceaccount"
        account.mkdir(mode=0o700)
        (account / "token").write_text(token)
        (account / "ca.crt").write_bytes(self.control_plane.pki.ca_cert)
        (account / "namespace").write_text(CONTROLLER_NAMESPACE)
        # Mount points, seen only through the overlays of the private mount namespace.
        (w / "lower-etc" / "nginx").mkdir(parents=True)
        (w / "lower-var-lib" / "nginx").mkdir(parents=True)
        (w / "lower-run" / "secrets" / "kubernetes.io" / "serviceaccount").mkdir(parents=True)
        (w / "lower-usr-sbin").mkdir()
        wrapper = w / "lower-usr-sbin" / "nginx"
        wrapper.write_text(
            "#!/bin/sh\n"
            "# nginx runs in the backends' network namespace: 80/443 never open on the host.\n"
            f'exec nsenter --net=/proc/{self._backends.pid}/ns/net {self.binaries.nginx} "$@"\n'
        )
        wrapper.chmod(0o755)

    def _controller_script(self) -> str:
        assert self.binaries is not None
        w = self.workdir
        self.ready_port = free_port()
        flags = [
            f"-ingress-class={self.ingress_class}",
            f"-nginx-configmaps={CONTROLLER_NAMESPACE}/{self.configmap}",
            "-enable-custom-resources=false",
            "-enable-telemetry-reporting=false",
            f"-leader-election-lock-name={self.name}-leader",
            f"-ready-status-port={self.ready_port}",
            f"-nginx-status-port={NGINX_STATUS_PORT}",
        ]
        return "\n".join(
            [
                "set -eu",
                f"mount -t overlay overlay -o ro,lowerdir={w}/lower-etc:/etc /etc",
                f"mount --bind {w}/etc-nginx /etc/nginx",
                f"mount -t overlay overlay -o ro,lowerdir={w}/lower-var-lib:/var/lib /var/lib",
                f"mount --bind {w}/var-lib-nginx /var/lib/nginx",
                f"mount -t overlay overlay -o ro,lowerdir={w}/lower-usr-sbin:/usr/sbin /usr/sbin",
                f"mount -t overlay overlay -o ro,lowerdir={w}/lower-run:/run /run",
                f"mount --bind {w}/serviceaccount /run/secrets/kubernetes.io/serviceaccount",
                # The controller reads its templates from its working directory.
                f"cd {self.binaries.templates}",
                f"exec {self.binaries.controller} {' '.join(flags)}",
                "",
            ]
        )

    def _start_controller(self) -> None:
        script = self.workdir / "start-controller.sh"
        script.write_text(self._controller_script())
        env = {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "KUBERNETES_SERVICE_HOST": "127.0.0.1",
            "KUBERNETES_SERVICE_PORT": str(self.control_plane.apiserver_port),
            "POD_NAMESPACE": CONTROLLER_NAMESPACE,
            "POD_NAME": f"{self.name}-pod",
        }
        log = (self.workdir / "controller.log").open("ab")
        try:
            self._controller = subprocess.Popen(
                [
                    "unshare",
                    "--mount",
                    "--propagation",
                    "private",
                    "--pid",
                    "--fork",
                    "--kill-child=SIGKILL",
                    "/bin/sh",
                    str(script),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                preexec_fn=_die_with_parent,
                start_new_session=True,  # Ctrl-C reaches the owner only; it stops us in order
                cwd=self.workdir,
            )
        finally:
            log.close()
        deadline = time.monotonic() + READY_TIMEOUT
        url = f"http://127.0.0.1:{self.ready_port}/nginx-ready"
        while time.monotonic() < deadline:
            if self._controller.poll() is not None:
                raise DataPlaneError(
                    f"the NGINX Ingress Controller exited with code {self._controller.returncode} while starting:\n"
                    + self.log_tail("controller")
                )
            if _http_ok(url, None):
                return
            time.sleep(0.1)
        raise DataPlaneError(
            f"the NGINX Ingress Controller was not ready within {READY_TIMEOUT:.0f}s:\n" + self.log_tail("controller")
        )

    def controller_pid(self) -> int | None:
        """The controller's pid (the first process of its pid namespace), as the host sees it."""
        if self._controller is None:
            return None
        children = Path(f"/proc/{self._controller.pid}/task/{self._controller.pid}/children")
        try:
            pids = children.read_text().split()
        except OSError:
            return None
        return int(pids[0]) if pids else None

    def pids(self) -> list[int]:
        """Every process of the data plane: unshare, controller, nginx master and workers, backends."""
        found = [p.pid for p in (self._controller, self._backends) if p is not None]
        frontier = list(found)
        while frontier:
            pid = frontier.pop()
            for task in Path(f"/proc/{pid}/task").glob("*"):
                try:
                    children = [int(c) for c in (task / "children").read_text().split()]
                except OSError:
                    continue
                found.extend(children)
                frontier.extend(children)
        return sorted(set(found))

    def log_tail(self, name: str, lines: int = 60) -> str:
        path = self.workdir / f"{name}.log"
        if not path.exists():
            return "(no log)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        controller = self._controller
        if controller is not None and controller.poll() is None:
            # SIGTERM to the controller itself: it stops nginx and exits; then
            # unshare exits too. Whatever is left dies with the pid namespace.
            pid = self.controller_pid()
            if pid is not None:
                try:
                    os.kill(pid, signal.SIGTERM)
                    controller.wait(timeout=15)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    pass
            if controller.poll() is None:
                controller.kill()  # --kill-child takes the pid namespace down with it
                controller.wait()
        self._controller = None
        if self._backends is not None:
            # Gone with the namespace; only a start that failed half-way leaves it here.
            subprocess.run(["ip", "link", "del", f"{self.veth}h"], capture_output=True)
            if self._backends.stdin is not None:
                self._backends.stdin.close()
            _terminate(self._backends)  # type: ignore[arg-type]
            if self._backends.stdout is not None:
                self._backends.stdout.close()
            self._backends = None
        if self._owns_workdir:
            self._delete_cluster_objects()
            shutil.rmtree(self.workdir, ignore_errors=True)
            self._owns_workdir = False

    def __enter__(self) -> DataPlane:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _netns_inode(pid: int) -> int | None:
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino
    except OSError:
        return None


def _owner(obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


_PLURALS = {
    "Namespace": ("/api/v1", "namespaces", False),
    "ServiceAccount": ("/api/v1", "serviceaccounts", True),
    "ClusterRole": ("/apis/rbac.authorization.k8s.io/v1", "clusterroles", False),
    "ClusterRoleBinding": ("/apis/rbac.authorization.k8s.io/v1", "clusterrolebindings", False),
    "Role": ("/apis/rbac.authorization.k8s.io/v1", "roles", True),
    "RoleBinding": ("/apis/rbac.authorization.k8s.io/v1", "rolebindings", True),
}


def _collection_path(document: dict[str, Any]) -> str:
    try:
        prefix, plural, namespaced = _PLURALS[document["kind"]]
    except KeyError:
        raise DataPlaneError(f"unexpected kind {document['kind']} in the controller's manifests") from None
    if namespaced:
        return f"{prefix}/namespaces/{document['metadata']['namespace']}/{plural}"
    return f"{prefix}/{plural}"
