"""The local control plane is a real kube-apiserver: it stores, defaults and validates like production."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kubegems_routes.controlplane.build import build_lock
from kubegems_routes.controlplane.server import ControlPlane
from kubegems_routes.kube.client import KubeClient
from kubegems_routes.kube.errors import Invalid


def _ingress(name: str, host: str = "app.example.com", path_type: str | None = "Prefix") -> dict:
    path = {"path": "/", "backend": {"service": {"name": "web", "port": {"number": 80}}}}
    if path_type:
        path["pathType"] = path_type
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": name},
        "spec": {
            "ingressClassName": "default-gateway",
            "tls": [{"hosts": [host], "secretName": "app-tls"}],
            "rules": [{"host": host, "http": {"paths": [path]}}],
        },
    }


def test_server_reports_the_pinned_version(kube: KubeClient):
    assert kube.version() == "v1.37.2"


def test_ingress_round_trips_through_the_api_server(kube: KubeClient, namespace: str):
    kube.create_ingress(namespace, _ingress("app"))
    stored = kube.get_ingress(namespace, "app")
    assert stored["spec"]["ingressClassName"] == "default-gateway"
    assert stored["spec"]["tls"] == [{"hosts": ["app.example.com"], "secretName": "app-tls"}]
    path = stored["spec"]["rules"][0]["http"]["paths"][0]
    assert path["pathType"] == "Prefix"
    assert path["backend"] == {"service": {"name": "web", "port": {"number": 80}}}


def test_ingress_without_path_type_is_refused_at_that_field(kube: KubeClient, namespace: str):
    with pytest.raises(Invalid) as refused:
        kube.create_ingress(namespace, _ingress("no-type", path_type=None))
    assert refused.value.status == 422
    assert "spec.rules[0].http.paths[0].pathType" in {c.field for c in refused.value.causes}


def test_ip_address_host_is_refused_at_the_host_field(kube: KubeClient, namespace: str):
    with pytest.raises(Invalid) as refused:
        kube.create_ingress(namespace, _ingress("ip-host", host="10.1.2.3"))
    assert "spec.rules[0].host" in {c.field for c in refused.value.causes}


def test_stopping_leaves_no_process_and_no_directory(control_plane: ControlPlane):
    plane = ControlPlane(binaries=control_plane.binaries).start()
    pids = [plane._etcd.pid, plane._apiserver.pid]  # type: ignore[union-attr]
    workdir = plane.workdir
    plane.stop()
    assert not workdir.exists()
    for pid in pids:
        assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"


@pytest.mark.slow
def test_a_killed_owner_leaves_no_orphan(control_plane: ControlPlane, tmp_path):
    """Even when the Python process is SIGKILLed (a CI time-out), etcd and kube-apiserver die with it."""
    import signal
    import time

    script = (
        "import sys, time\n"
        "from kubegems_routes.controlplane.server import ControlPlane\n"
        "plane = ControlPlane().start()\n"
        "print(plane._etcd.pid, plane._apiserver.pid, plane.workdir, flush=True)\n"
        "time.sleep(600)\n"
    )
    owner = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )
    etcd, apiserver, workdir = owner.stdout.readline().split()  # type: ignore[union-attr]
    pids = [int(etcd), int(apiserver)]
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in pids)
    shutil.rmtree(workdir)  # a killed owner cannot clean up its directory; the test does


def _alive(pid: int) -> bool:
    try:
        state = open(f"/proc/{pid}/stat").read().split()[2]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_a_second_build_of_the_same_binary_waits_for_the_first(tmp_path, monkeypatch):
    """Clones and worktrees on one machine share the cache: their builds of one binary take turns."""

    monkeypatch.setenv("KGR_CACHE_DIR", str(tmp_path))
    waiter = (
        "from kubegems_routes.controlplane.build import build_lock\nwith build_lock('etcd-v0'):\n    print('built')"
    )
    with build_lock("etcd-v0"):
        second = subprocess.Popen(
            [sys.executable, "-c", waiter], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        with pytest.raises(subprocess.TimeoutExpired):
            second.wait(timeout=1.5)
    out, err = second.communicate(timeout=30)
    assert out == "built\n" and "another process is building etcd-v0; waiting for it" in err
    with build_lock("kubernetes-v0"), build_lock("etcd-v0"):  # one lock per binary: others go on
        pass
