"""Build the data plane: the NGINX Ingress Controller and nginx + njs, into the cache.

The sources are kept, unmodified, as ``git archive`` tarballs in
``<repository>/../shared/third_party`` (``KGR_THIRD_PARTY_DIR`` overrides),
checked against their ``SHA256SUMS``; where that folder is absent the same refs
are cloned from the upstream git repositories. Neither the controller nor two of
its Go dependencies are served by the Go module proxy these machines reach, and
no Debian nginx runs the controller's configuration, hence a build.

What lands in ``~/.cache/kubegems-routes/bin/`` (``KGR_CACHE_DIR`` overrides),
each rebuilt only when missing:

- ``nginx-ingress-<ref>/``: the static controller binary, the templates it
  reads from its working directory (``templates/``), its njs scripts (``njs/``)
  and the upstream RBAC manifests (``manifests/``);
- ``nginx-<version>-njs-<version>/``: ``sbin/nginx``, ``modules/`` with the njs
  dynamic module the controller's main template always loads, ``mime.types``.

This module uses the standard library only: it runs before any pip install.

    python -m kubegems_routes.dataplane.build          # build what is missing
    python -m kubegems_routes.dataplane.build --print  # print the folders
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

from kubegems_routes.controlplane.build import BuildError, build_lock, cache_root, run_with_progress

REPOSITORY = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Source:
    tarball: str
    folder: str
    git_url: str
    ref: str  # a tag, or a full commit id


CONTROLLER = Source(
    "kubernetes-ingress-0eb3072d1.tar.gz",
    "kubernetes-ingress",
    "https://github.com/nginx/kubernetes-ingress.git",
    "0eb3072d14f04931824bb74c99a6566d8c108f3c",
)
PLUS_GO_CLIENT = Source(
    "nginx-plus-go-client-v3.0.2.tar.gz",
    "nginx-plus-go-client",
    "https://github.com/nginx/nginx-plus-go-client.git",
    "v3.0.2",
)
PROMETHEUS_EXPORTER = Source(
    "nginx-prometheus-exporter-v1.5.3.tar.gz",
    "nginx-prometheus-exporter",
    "https://github.com/nginx/nginx-prometheus-exporter.git",
    "v1.5.3",
)
NGINX = Source("nginx-1.31.3.tar.gz", "nginx-1.31.3", "https://github.com/nginx/nginx.git", "release-1.31.3")
NJS = Source("njs-1.0.0.tar.gz", "njs-1.0.0", "https://github.com/nginx/njs.git", "1.0.0")

CONTROLLER_REF = CONTROLLER.ref[:9]
NGINX_VERSION = "1.31.3"
NJS_VERSION = "1.0.0"

# Templates the controller reads at run time from its working directory, by
# their bare names (the paths are compiled in); installed flat in templates/.
CONTROLLER_TEMPLATES = (
    "internal/configs/version1/nginx.tmpl",
    "internal/configs/version1/nginx.ingress.tmpl",
    "internal/configs/version2/nginx.virtualserver.tmpl",
    "internal/configs/version2/nginx.transportserver.tmpl",
)
# RBAC and namespace manifests the controller needs in the API server.
CONTROLLER_MANIFESTS = ("deployments/common/ns-and-sa.yaml", "deployments/rbac/rbac.yaml")

# The paths the controller hard-codes: nginx must be configured for exactly these.
NGINX_CONFIGURE = [
    "--prefix=/etc/nginx",
    "--sbin-path=/usr/sbin/nginx",
    "--modules-path=/etc/nginx/modules",
    "--conf-path=/etc/nginx/nginx.conf",
    "--pid-path=/var/lib/nginx/nginx.pid",
    "--lock-path=/var/lib/nginx/nginx.lock",
    "--http-client-body-temp-path=/var/lib/nginx/client_temp",
    "--http-proxy-temp-path=/var/lib/nginx/proxy_temp",
    "--http-fastcgi-temp-path=/var/lib/nginx/fastcgi_temp",
    "--http-uwsgi-temp-path=/var/lib/nginx/uwsgi_temp",
    "--http-scgi-temp-path=/var/lib/nginx/scgi_temp",
    "--user=root",
    "--group=root",
    "--with-compat",
    "--with-threads",
    "--with-http_ssl_module",
    "--with-http_v2_module",
    "--with-http_realip_module",
    "--with-http_stub_status_module",
    "--with-http_auth_request_module",
    "--with-http_sub_module",
    "--with-stream",
    "--with-stream_ssl_module",
    "--with-stream_ssl_preread_module",
    "--with-stream_realip_module",
]


@dataclass(frozen=True)
class DataPlaneBinaries:
    controller_dir: Path
    nginx_dir: Path

    @property
    def controller(self) -> Path:
        return self.controller_dir / "nginx-ingress"

    @property
    def nginx(self) -> Path:
        return self.nginx_dir / "sbin" / "nginx"

    @property
    def modules(self) -> Path:
        return self.nginx_dir / "modules"

    @property
    def mime_types(self) -> Path:
        return self.nginx_dir / "mime.types"

    @property
    def templates(self) -> Path:
        return self.controller_dir / "templates"

    @property
    def njs(self) -> Path:
        """The njs scripts the main template imports from /etc/nginx/njs/."""
        return self.controller_dir / "njs"

    @property
    def manifests(self) -> Path:
        return self.controller_dir / "manifests"

    def controller_ready(self) -> bool:
        return os.access(self.controller, os.X_OK) and all(
            (self.templates / Path(f).name).is_file() for f in CONTROLLER_TEMPLATES
        )

    def nginx_ready(self) -> bool:
        return (
            os.access(self.nginx, os.X_OK)
            and (self.modules / "ngx_http_js_module.so").is_file()
            and self.mime_types.is_file()
        )


def binaries() -> DataPlaneBinaries:
    bin_root = cache_root() / "bin"
    return DataPlaneBinaries(
        controller_dir=bin_root / f"nginx-ingress-{CONTROLLER_REF}",
        nginx_dir=bin_root / f"nginx-{NGINX_VERSION}-njs-{NJS_VERSION}",
    )


def _log(message: str) -> None:
    print(f"[dataplane] {message}", file=sys.stderr, flush=True)


def third_party_dir() -> Path:
    override = os.environ.get("KGR_THIRD_PARTY_DIR")
    return Path(override) if override else REPOSITORY.parent / "shared" / "third_party"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _expected_sums(folder: Path) -> dict[str, str]:
    sums: dict[str, str] = {}
    for line in (folder / "SHA256SUMS").read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            sums[name.lstrip("*")] = digest
    return sums


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BuildError(
            f"`{' '.join(args)}` failed in {cwd} (exit {proc.returncode}):\n{(proc.stdout + proc.stderr)[-4000:]}"
        )
    return proc.stdout


def _unpack(source: Source, into: Path) -> Path:
    """The source tree of ``source`` as ``into/<folder>``: from the checked tarball, else from git."""
    target = into / source.folder
    if target.is_dir():
        shutil.rmtree(target)
    folder = third_party_dir()
    if (folder / "SHA256SUMS").is_file():
        tarball = folder / source.tarball
        expected = _expected_sums(folder).get(source.tarball)
        if expected is None or not tarball.is_file():
            raise BuildError(f"{tarball} is missing or not listed in {folder / 'SHA256SUMS'}")
        actual = _sha256(tarball)
        if actual != expected:
            raise BuildError(f"{tarball}: SHA-256 {actual} does not match SHA256SUMS ({expected}); refusing to build")
        _log(f"unpacking {source.tarball} (SHA-256 checked)")
        with tarfile.open(tarball) as archive:
            archive.extractall(into, filter="data")
        if not target.is_dir():
            raise BuildError(f"{tarball} did not unpack into {source.folder}/")
        return target
    git = shutil.which("git")
    if git is None:
        raise BuildError(
            f"{folder} is absent, so the sources come from upstream git, but git is not on PATH "
            "(install Debian's git), or point KGR_THIRD_PARTY_DIR at a copy of shared/third_party"
        )
    _log(f"{folder} is absent: fetching {source.git_url} at {source.ref} from upstream git instead")
    target.mkdir(parents=True)
    _run([git, "init", "-q"], target)
    _run([git, "fetch", "-q", "--depth", "1", source.git_url, source.ref], target)
    _run([git, "-c", "advice.detachedHead=false", "checkout", "-q", "FETCH_HEAD"], target)
    shutil.rmtree(target / ".git")
    return target


def _stream(args: list[str], cwd: Path, env: dict[str, str], what: str, every: int) -> None:
    """Run a long build, printing a progress line every ``every`` lines of output."""
    run_with_progress(
        args,
        cwd,
        env,
        what,
        lambda count, seconds: _log(f"  {what}: {count} steps, {seconds:.0f}s") if count % every == 0 else None,
    )


def build_controller(bins: DataPlaneBinaries) -> None:
    go = shutil.which("go")
    if go is None:
        raise BuildError(
            "the Go toolchain is not on PATH; install Go 1.26 or newer to build the NGINX Ingress Controller"
        )
    work = cache_root() / "build" / f"nginx-ingress-{CONTROLLER_REF}"
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    tree = _unpack(CONTROLLER, work)
    _unpack(PLUS_GO_CLIENT, work)
    _unpack(PROMETHEUS_EXPORTER, work)
    env = dict(os.environ, CGO_ENABLED="0")
    env["GOFLAGS"] = (env.get("GOFLAGS", "") + " -mod=mod -buildvcs=false").strip()
    # Neither module is on the module proxy reachable here: build against the
    # unpacked trees beside the controller's.
    _run(
        [
            go,
            "mod",
            "edit",
            f"-replace=github.com/nginx/nginx-plus-go-client/v3=../{PLUS_GO_CLIENT.folder}",
            f"-replace=github.com/nginx/nginx-prometheus-exporter=../{PROMETHEUS_EXPORTER.folder}",
        ],
        tree,
        env,
    )
    _log(
        f"compiling the NGINX Ingress Controller ({CONTROLLER_REF}): about 0.5 GB of Go modules and "
        "3-11 minutes on 2 cores the first time; cached afterwards"
    )
    staging = bins.controller_dir.with_name(bins.controller_dir.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    _stream(
        [
            go,
            "build",
            "-v",
            "-trimpath",
            "-ldflags",
            "-s -w",
            "-o",
            str(staging / "nginx-ingress"),
            "./cmd/nginx-ingress",
        ],
        tree,
        env,
        "go build nginx-ingress",
        every=100,
    )
    (staging / "templates").mkdir()
    for relative in CONTROLLER_TEMPLATES:
        shutil.copy2(tree / relative, staging / "templates" / Path(relative).name)
    for relative in CONTROLLER_MANIFESTS:
        destination = staging / "manifests" / Path(relative).name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(tree / relative, destination)
    shutil.copytree(tree / "internal/configs/njs", staging / "njs")
    shutil.copy2(tree / "LICENSE", staging / "LICENSE")
    shutil.rmtree(bins.controller_dir, ignore_errors=True)
    staging.replace(bins.controller_dir)
    shutil.rmtree(work, ignore_errors=True)
    _log(f"built {bins.controller} in {time.monotonic() - started:.0f}s")


def build_nginx(bins: DataPlaneBinaries) -> None:
    missing = [tool for tool in ("cc", "make") if shutil.which(tool) is None]
    if missing:
        raise BuildError(
            f"{' and '.join(missing)} not on PATH; install Debian's build-essential libpcre2-dev libssl-dev zlib1g-dev"
        )
    work = cache_root() / "build" / f"nginx-{NGINX_VERSION}-njs-{NJS_VERSION}"
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    nginx_tree = _unpack(NGINX, work)
    njs_tree = _unpack(NJS, work)
    env = dict(os.environ, NJS_QUICKJS="NO", NJS_LIBXSLT="NO")
    configure = "./configure" if (nginx_tree / "configure").is_file() else "./auto/configure"
    _log(f"configuring nginx {NGINX_VERSION} with njs {NJS_VERSION} as a dynamic module")
    try:
        _run([configure, *NGINX_CONFIGURE, f"--add-dynamic-module={njs_tree / 'nginx'}"], nginx_tree, env)
    except BuildError as exc:
        raise BuildError(
            f"{exc}\nnginx needs Debian's build-essential libpcre2-dev libssl-dev zlib1g-dev to build"
        ) from exc
    _log(f"compiling nginx and njs (about 2.5 minutes on 2 cores): make -j{os.cpu_count() or 1}")
    _stream(["make", f"-j{os.cpu_count() or 1}"], nginx_tree, env, "make nginx", every=50)
    staging = bins.nginx_dir.with_name(bins.nginx_dir.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "sbin").mkdir(parents=True)
    (staging / "modules").mkdir()
    shutil.copy2(nginx_tree / "objs" / "nginx", staging / "sbin" / "nginx")
    for module in (nginx_tree / "objs").glob("*.so"):
        shutil.copy2(module, staging / "modules" / module.name)
    shutil.copy2(nginx_tree / "conf" / "mime.types", staging / "mime.types")
    shutil.copy2(nginx_tree / "LICENSE", staging / "LICENSE.nginx")
    shutil.copy2(njs_tree / "LICENSE", staging / "LICENSE.njs")
    shutil.rmtree(bins.nginx_dir, ignore_errors=True)
    staging.replace(bins.nginx_dir)
    shutil.rmtree(work, ignore_errors=True)
    _log(f"built {bins.nginx} in {time.monotonic() - started:.0f}s")


def ensure_binaries(*, controller: bool = True, nginx: bool = True) -> DataPlaneBinaries:
    """Build whatever is missing; return the paths. Raises BuildError with a cause."""
    bins = binaries()
    if nginx and not bins.nginx_ready():
        with build_lock(bins.nginx_dir.name):
            if not bins.nginx_ready():
                build_nginx(bins)
    if controller and not bins.controller_ready():
        with build_lock(bins.controller_dir.name):
            if not bins.controller_ready():
                build_controller(bins)
    return bins


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--print", action="store_true", help="print the folders")
    parser.add_argument("--only", choices=("controller", "nginx"), help="build only one of the two")
    args = parser.parse_args(argv)
    try:
        bins = ensure_binaries(controller=args.only != "nginx", nginx=args.only != "controller")
    except BuildError as exc:
        _log(f"ERROR: {exc}")
        return 1
    wanted = {bins.controller_dir: args.only != "nginx", bins.nginx_dir: args.only != "controller"}
    for folder in (f for f, want in wanted.items() if want):
        if args.print:
            print(folder)
        else:
            _log(f"ready: {folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
