"""Build kube-apiserver and etcd from the official Go modules into a cache.

No prebuilt Kubernetes binary can be downloaded on the machines this project
runs on, only Go modules, so the control plane is compiled the way envtest's
binaries are: ``k8s.io/kubernetes/cmd/kube-apiserver`` from an outside module
and etcd's server from a second, separate module (so etcd's own libraries do
not change what kube-apiserver compiles against).

This module uses the standard library only: it runs before any pip install.

    python -m kubegems_routes.controlplane.build          # build what is missing
    python -m kubegems_routes.controlplane.build --print  # print the bin dir
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

KUBERNETES_VERSION = os.environ.get("KGR_KUBERNETES_VERSION", "v1.37.2")
ETCD_VERSION = os.environ.get("KGR_ETCD_VERSION", "v3.7.0")


def cache_root() -> Path:
    base = os.environ.get("KGR_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME")
    root = Path(base) if base else Path.home() / ".cache"
    if not os.environ.get("KGR_CACHE_DIR"):
        root = root / "kubegems-routes"
    return root


@dataclass(frozen=True)
class Binaries:
    kube_apiserver: Path
    etcd: Path

    def missing(self) -> list[Path]:
        return [p for p in (self.kube_apiserver, self.etcd) if not os.access(p, os.X_OK)]


def binaries(kubernetes_version: str = KUBERNETES_VERSION, etcd_version: str = ETCD_VERSION) -> Binaries:
    bin_root = cache_root() / "bin"
    return Binaries(
        kube_apiserver=bin_root / f"kubernetes-{kubernetes_version}" / "kube-apiserver",
        etcd=bin_root / f"etcd-{etcd_version}" / "etcd",
    )


class BuildError(RuntimeError):
    pass


def _log(message: str) -> None:
    print(f"[controlplane] {message}", file=sys.stderr, flush=True)


def _go() -> str:
    go = shutil.which("go")
    if go is None:
        raise BuildError(
            "the Go toolchain is not on PATH; install Go 1.26 or newer "
            "(https://go.dev/dl/ or Debian's golang package) to build kube-apiserver and etcd"
        )
    return go


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BuildError(f"`{' '.join(args)}` failed in {cwd} (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc.stdout


def _build_env() -> dict[str, str]:
    env = dict(os.environ)
    env["CGO_ENABLED"] = "0"
    env.setdefault("GOFLAGS", "")
    env["GOFLAGS"] = (env["GOFLAGS"] + " -mod=mod -buildvcs=false").strip()
    return env


def staging_replaces(kubernetes_gomod: str, staging_version: str) -> list[str]:
    """The replace lines an outside module needs to depend on k8s.io/kubernetes.

    The kubernetes module requires each staging module at v0.0.0 and replaces it
    with ./staging/...; those replaces do not apply to a dependant, so each is
    pinned to the published tag instead. Read from the module's own go.mod so a
    new staging module in a new release needs no change here.
    """
    pattern = re.compile(r"^\s*(k8s\.io/[\w.\-/]+)\s+=>\s+\./staging/", re.MULTILINE)
    modules = sorted(set(pattern.findall(kubernetes_gomod)))
    return [f"\t{m} => {m} {staging_version}" for m in modules]


def _staging_version(kubernetes_version: str) -> str:
    match = re.fullmatch(r"v1\.(\d+)\.(\d+)", kubernetes_version)
    if not match:
        raise BuildError(f"unexpected Kubernetes version {kubernetes_version!r}")
    return f"v0.{match.group(1)}.{match.group(2)}"


def build_kube_apiserver(version: str, target: Path) -> None:
    go = _go()
    env = _build_env()
    work = cache_root() / "build" / f"kube-apiserver-{version}"
    work.mkdir(parents=True, exist_ok=True)
    _log(f"downloading k8s.io/kubernetes@{version} (about 40 MB)")
    info = json.loads(_run([go, "mod", "download", "-json", f"k8s.io/kubernetes@{version}"], work, env))
    upstream_gomod = Path(info["GoMod"]).read_text()
    go_directive = re.search(r"^go\s+(\S+)", upstream_gomod, re.MULTILINE)
    replaces = staging_replaces(upstream_gomod, _staging_version(version))
    (work / "go.mod").write_text(
        "module kubegems-routes.local/controlplane/kube-apiserver\n\n"
        f"go {go_directive.group(1) if go_directive else '1.26.0'}\n\n"
        f"require k8s.io/kubernetes {version}\n\n"
        "replace (\n" + "\n".join(replaces) + "\n)\n"
    )
    (work / "go.sum").touch()
    major, minor = re.match(r"v(\d+)\.(\d+)", version).groups()  # type: ignore[union-attr]
    ldflags = (
        "-s -w"
        f" -X k8s.io/component-base/version.gitVersion={version}"
        f" -X k8s.io/component-base/version.gitMajor={major}"
        f" -X k8s.io/component-base/version.gitMinor={minor}"
        " -X k8s.io/component-base/version.gitTreeState=clean"
    )
    _log(
        f"compiling kube-apiserver {version}: several hundred MB of modules and "
        "15-40 minutes on 2 cores the first time; cached afterwards"
    )
    _go_build(
        go,
        work,
        env,
        target,
        ["-tags=selinux,notest", "-trimpath", "-ldflags", ldflags],
        "k8s.io/kubernetes/cmd/kube-apiserver",
    )


def build_etcd(version: str, target: Path) -> None:
    go = _go()
    env = _build_env()
    work = cache_root() / "build" / f"etcd-{version}"
    work.mkdir(parents=True, exist_ok=True)
    (work / "go.mod").write_text(
        f"module kubegems-routes.local/controlplane/etcd\n\ngo 1.25.0\n\nrequire go.etcd.io/etcd/server/v3 {version}\n"
    )
    (work / "go.sum").touch()
    _log(f"compiling etcd {version} (a few minutes the first time)")
    _go_build(go, work, env, target, ["-trimpath", "-ldflags", "-s -w"], "go.etcd.io/etcd/server/v3")


def _go_build(go: str, work: Path, env: dict[str, str], target: Path, flags: list[str], package: str) -> None:
    _run([go, "mod", "download", package.split("/cmd/")[0]], work, env)
    partial = target.with_name(target.name + ".partial")
    partial.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    # -v prints each package as it is compiled: the progress a long build needs.
    run_with_progress(
        [go, "build", "-v", *flags, "-o", str(partial), package],
        work,
        env,
        f"go build {package}",
        lambda count, seconds: _log(f"  {count} packages compiled, {seconds:.0f}s") if count % 100 == 0 else None,
    )
    partial.replace(target)
    _log(f"built {target} in {time.monotonic() - started:.0f}s")


def run_with_progress(
    args: list[str], cwd: Path, env: dict[str, str], what: str, progress: Callable[[int, float], None]
) -> None:
    """Run a long build; ``progress(lines, seconds)`` after each line of output; BuildError with its tail."""
    started = time.monotonic()
    proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    tail: list[str] = []
    count = 0
    for line in proc.stdout:
        tail = [*tail, line.rstrip()][-60:]
        count += 1
        progress(count, time.monotonic() - started)
    if proc.wait() != 0:
        raise BuildError(f"{what} failed (`{' '.join(args)}` in {cwd}):\n" + "\n".join(tail))


@contextlib.contextmanager
def build_lock(name: str) -> Iterator[None]:
    """One build of a binary at a time, across clones, worktrees and make invocations on this machine
    (two builds of the same binary share one work folder and would overwrite each other's go.mod)."""
    path = cache_root() / "build" / f"{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _log(f"another process is building {name}; waiting for it")
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def ensure_binaries() -> Binaries:
    """Build whatever is missing; return the paths. Raises BuildError with a cause."""
    bins = binaries()
    for binary, build, version in (
        (bins.etcd, build_etcd, ETCD_VERSION),
        (bins.kube_apiserver, build_kube_apiserver, KUBERNETES_VERSION),
    ):
        if os.access(binary, os.X_OK):
            continue
        with build_lock(binary.parent.name):
            if not os.access(binary, os.X_OK):  # built meanwhile by the process we waited for
                build(version, binary)
    return bins


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--print", action="store_true", help="print the binaries' paths")
    args = parser.parse_args(argv)
    try:
        bins = ensure_binaries()
    except BuildError as exc:
        _log(f"ERROR: {exc}")
        return 1
    if args.print:
        print(bins.kube_apiserver)
        print(bins.etcd)
    else:
        _log(f"kube-apiserver: {bins.kube_apiserver}")
        _log(f"etcd: {bins.etcd}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
