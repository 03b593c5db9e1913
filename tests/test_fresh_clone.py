"""`make run` works on a fresh clone: only the tracked files, no var/, no database.

The console is started the way `make run` starts it (`manage.py runconsole`
with DJANGO_DEBUG=1) in a copy of the repository's tracked files, used as a
person would (log in with the printed password, open the demo environment's
routes), and stopped; nothing it started may outlive it.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from kubegems_routes.controlplane.build import BuildError, ensure_binaries
from kubegems_routes.controlplane.server import free_port

ROOT = Path(__file__).resolve().parent.parent


def _fresh_copy(target: Path) -> Path:
    """The files a `git clone` gives: tracked ones only (no var/, no .venv, no compiled catalogs)."""
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, text=True
    ).stdout.split("\0")
    for name in filter(None, tracked):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


class Console:
    """`manage.py runconsole` in its own process group; its output is collected as it comes."""

    def __init__(self, repo: Path, port: int) -> None:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/root"),
            "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",
            "DJANGO_DEBUG": "1",
        }
        # Where the built kube-apiserver and etcd are; nothing else of the tests' environment.
        for name in ("KGR_CACHE_DIR", "XDG_CACHE_HOME"):
            if name in os.environ:
                env[name] = os.environ[name]
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "runconsole", f"127.0.0.1:{port}"],
            cwd=repo,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.output: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)

    def text(self) -> str:
        return "".join(self.output)

    def wait_for(self, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if match := re.search(pattern, self.text()):
                return match
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"runconsole never printed {pattern!r}; its output:\n{self.text()}")

    def descendants(self) -> list[int]:
        """Every process below the console (etcd and kube-apiserver)."""
        parents: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        found: list[int] = []
        frontier = [self.process.pid]
        while frontier:
            parent = frontier.pop()
            children = [pid for pid, ppid in parents.items() if ppid == parent]
            found += children
            frontier += children
        return found

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _get(opener: urllib.request.OpenerDirector, url: str) -> tuple[int, str, str]:
    with opener.open(url, timeout=10) as response:
        return response.status, response.geturl(), response.read().decode()


@pytest.fixture(scope="module")
def built_binaries() -> None:
    try:
        ensure_binaries()
    except BuildError as exc:
        pytest.fail(f"kube-apiserver and etcd are needed: run `make setup`.\n{exc}", pytrace=False)


@pytest.mark.parametrize(
    "stop",
    [
        pytest.param(lambda pid: os.kill(pid, signal.SIGTERM), id="SIGTERM-to-the-console"),
        pytest.param(lambda pid: os.killpg(pid, signal.SIGINT), id="Ctrl-C-to-the-process-group"),
    ],
)
def test_make_run_serves_a_fresh_clone_and_stops_cleanly(stop, built_binaries, tmp_path):
    repo = _fresh_copy(tmp_path / "clone")
    assert not (repo / "var").exists()
    console = Console(repo, free_port())
    try:
        password = console.wait_for(r"user 'demo' password '([^']+)'", timeout=120).group(1)
        console.wait_for(r"Open http://", timeout=30)
        assert (repo / "var" / "db.sqlite3").exists() and (repo / "var" / "kubeconfig").exists()

        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        deadline = time.monotonic() + 30
        while True:
            try:
                status, _url, login_page = _get(opener, f"{console.url}/login/")
                break
            except OSError:
                if time.monotonic() > deadline or console.process.poll() is not None:
                    raise AssertionError(f"the login page never answered; output:\n{console.text()}") from None
                time.sleep(0.2)
        assert status == 200
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page).group(1)
        form = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": "demo", "password": password})
        with opener.open(f"{console.url}/login/", data=form.encode(), timeout=10) as response:
            assert response.geturl().endswith("/workbench/"), "logging in with the printed password failed"
            workbench = response.read().decode()
        environment = re.search(r'href="(/workbench/environments/\d+/)"', workbench).group(1)
        status, _url, routes = _get(opener, f"{console.url}{environment}routes/")
        assert status == 200 and "Create route" in routes

        children = console.descendants()
        names = {_cmdline(pid).split(" ")[0].rsplit("/", 1)[-1] for pid in children}
        assert {"etcd", "kube-apiserver"} <= names, names
        workdirs = set(re.findall(r"(/\S*/kubegems-routes-cp-[^/\s]+)", " ".join(map(_cmdline, children))))

        stop(console.process.pid)
        # Generous: on a loaded machine stopping etcd, kube-apiserver and (as root) the data plane took over 60 s once.
        assert console.process.wait(timeout=150) == 0, console.text()
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [_cmdline(pid) for pid in children if _alive(pid)] == []
        assert not any(Path(d).exists() for d in workdirs), workdirs
        left = [pid for pid in map(int, filter(str.isdigit, os.listdir("/proc"))) if str(repo) in _cmdline(pid)]
        assert [_cmdline(pid) for pid in left if _alive(pid)] == []
        with pytest.raises(OSError):
            _get(opener, f"{console.url}/login/")
    finally:
        console.stop()
