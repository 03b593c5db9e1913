"""The data plane leaves nothing behind: no process, no mount, no network namespace, stopped or killed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kubegems_routes.controlplane.server import ControlPlane
from kubegems_routes.dataplane.server import DataPlane, DataPlaneError

REPOSITORY = Path(__file__).resolve().parent.parent


def test_nginx_runs_inside_the_network_namespace_and_stop_leaves_nothing(control_plane: ControlPlane, data_plane):
    plane = DataPlane(control_plane, ingress_class="lifecycle", binaries=data_plane.binaries).start()
    pids = plane.pids()
    commands = {pid: _comm(pid) for pid in pids}
    assert "nginx" in commands.values() and "nginx-ingress" in commands.values(), commands
    backends_netns = _netns(plane._backends.pid)  # type: ignore[union-attr]
    # nginx listens inside the backends' namespace, not on the host.
    assert {_netns(pid) for pid, command in commands.items() if command == "nginx"} == {backends_netns}
    assert _netns(os.getpid()) != backends_netns
    workdir, veth = plane.workdir, plane.veth

    plane.stop()

    _assert_nothing_left(pids, backends_netns, workdir, veth)
    assert not workdir.exists()


def test_a_killed_owner_leaves_no_process_mount_or_namespace(tmp_path):
    """SIGKILL the Python process that started the control and data planes (a CI time-out)."""
    script = (
        "import os, time\n"
        "from kubegems_routes.controlplane.server import ControlPlane\n"
        "from kubegems_routes.dataplane.server import DataPlane\n"
        "control = ControlPlane().start()\n"
        "plane = DataPlane(control, ingress_class='killed').start()\n"
        "netns = os.stat(f'/proc/{plane._backends.pid}/ns/net').st_ino\n"
        "print(plane.workdir, plane.veth, netns, *plane.pids(), flush=True)\n"
        "time.sleep(600)\n"
    )
    owner = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPOSITORY)},
    )
    line = owner.stdout.readline().split()  # type: ignore[union-attr]
    assert line, "the owner could not start the data plane"
    workdir, veth, netns, *pids = line
    pids = [int(p) for p in pids]
    assert any(_comm(pid) == "nginx" for pid in pids)
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.1)
    _assert_nothing_left(pids, int(netns), Path(workdir), veth)
    shutil.rmtree(workdir)  # a killed owner cannot remove its directory; the test does


def test_without_root_the_data_plane_fails_saying_what_it_needs(control_plane: ControlPlane):
    os.seteuid(65534)  # nobody, for this call only; the real uid stays root to switch back
    try:
        with pytest.raises(DataPlaneError, match="needs root"):
            DataPlane(control_plane, ingress_class="unprivileged").start()
    finally:
        os.seteuid(0)


def _assert_nothing_left(pids: list[int], netns: int, workdir: Path, veth: str) -> None:
    assert [pid for pid in pids if _alive(pid)] == []
    # No process anywhere is still in the data plane's network namespace, so the kernel freed it...
    assert [p for p in Path("/proc").iterdir() if p.name.isdigit() and _netns(int(p.name)) == netns] == []
    # ...and the veth pair with it (the kernel's namespace cleanup runs a moment later, in a work queue).
    deadline = time.monotonic() + 15
    while (link := subprocess.run(["ip", "link", "show", f"{veth}h"], capture_output=True, text=True)).returncode == 0:
        assert time.monotonic() < deadline, link.stdout
        time.sleep(0.2)
    # No mount of the overlays or bind mounts is visible from any mount namespace.
    for mountinfo in Path("/proc").glob("[0-9]*/mountinfo"):
        try:
            assert str(workdir) not in mountinfo.read_text(), mountinfo
        except OSError:
            continue


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _netns(pid: int) -> int:
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino
    except OSError:
        return -1


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"
