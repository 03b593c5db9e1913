"""Build the console's container image (`make image`), cached by the content of what goes in.

No registry is reachable on the machines this project runs on, so the base
(`debian:bookworm-slim`'s equivalent) is built from Debian's packages with
mmdebstrap and imported once as localhost/debian-base:bookworm. The wheels of
requirements.txt are built on the host into a wheelhouse, so the image build
itself needs no network. The image is tagged localhost/kubegems-routes:<hash>,
where the hash covers the Containerfile, requirements.txt, the wheels, the base
and every tracked file copied in; a build is skipped when that image exists.
It is also tagged as deploy/base names it (IMAGE_NAME).

Reproducible: the build context holds exactly the tracked files (their working
tree content), and SOURCE_DATE_EPOCH, the layers' timestamps and the revision
label come from the last commit that changed any of them.

Standard library only.

    python -m kubegems_routes.image          # build what is missing, print size and layers
    python -m kubegems_routes.image --print  # only print the image's name
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

from kubegems_routes.controlplane.build import BuildError, build_lock, cache_root

ROOT = Path(__file__).resolve().parent.parent
REPOSITORY = "localhost/kubegems-routes"
BASE_IMAGE = "localhost/debian-base:bookworm"  # the final stage's
BUILD_BASE_IMAGE = "localhost/debian-build:bookworm"  # the build stage's: the same, with what builds
SOURCE = "https://github.com/kubegems/kubegems-routes"
# What `docker.io/library/debian:bookworm-slim` holds (minbase, /usr merged by mmdebstrap itself rather than
# by the usrmerge package, which pulls in 50 MB of perl; no docs, man pages or translations) plus packages.
DEBIAN = [
    "--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr",
    "--dpkgopt=path-exclude=/usr/share/man/*",
    "--dpkgopt=path-exclude=/usr/share/doc/*",
    "--dpkgopt=path-include=/usr/share/doc/*/copyright",
    "--dpkgopt=path-exclude=/usr/share/locale/*",
    "--dpkgopt=path-exclude=/usr/share/info/*",
]
BASES = {
    # Essential packages only (minbase without apt): the image never installs anything.
    BASE_IMAGE: [*DEBIAN, "--variant=essential", "--include=python3,ca-certificates", "bookworm"],
    # python3-venv makes the virtualenv, gettext compiles the catalogs: no apt-get, no network in the build.
    BUILD_BASE_IMAGE: [
        *DEBIAN,
        "--variant=minbase",
        "--include=python3,python3-venv,ca-certificates,gettext",
        "bookworm",
    ],
}
# The repository's files the Containerfile copies (tracked files only).
CONTEXT = ["Containerfile", "requirements.txt", "manage.py", "gunicorn.conf.py", "kubegems_routes", "templates"]
CONTEXT += ["static", "locale"]
# How many images of REPOSITORY (content hashes) to keep; older ones are removed after a build.
KEEP = 3
TOOLS = {"podman": "podman", "buildah": "buildah", "mmdebstrap": "mmdebstrap", "newuidmap": "uidmap", "runc": "runc"}
INSTALL = "apt-get install buildah podman mmdebstrap uidmap runc (`make image` does it as root)"


def _log(message: str) -> None:
    print(f"[image] {message}", file=sys.stderr, flush=True)


def version() -> str:
    return str(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"])


# The name deploy/base/kustomization.yaml gives the image (`images:`), moved to each new build.
IMAGE_NAME = f"{REPOSITORY}:{version()}"


def image_dir() -> Path:
    return cache_root() / "image"


def missing_tools() -> list[str]:
    return sorted({package for tool, package in TOOLS.items() if shutil.which(tool) is None})


def _run(args: list[str], timeout: float = 120, **kwargs: object) -> str:
    """Run a step of the build, bounded: a build that hangs fails with what it was doing."""
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kwargs)  # type: ignore[call-overload]
    except subprocess.TimeoutExpired as exc:
        raise BuildError(f"`{' '.join(args[:3])} ...` did not finish within {timeout:.0f} s") from exc
    if proc.returncode != 0:
        raise BuildError(f"`{' '.join(args)}` failed ({proc.returncode}):\n{(proc.stdout + proc.stderr)[-4000:]}")
    return str(proc.stdout)


def image_exists(name: str) -> bool:
    return subprocess.run(["podman", "image", "exists", name], capture_output=True).returncode == 0


def _git(*args: str) -> str:
    return _run(["git", *args], cwd=ROOT).strip()


def context_files() -> list[str]:
    """The tracked files that go into the image, in a stable order."""
    listed = _git("ls-files", "-z", "--", *CONTEXT).split("\0")
    return sorted(name for name in listed if name and (ROOT / name).is_file())


def source_commit(files: list[str]) -> tuple[str, int]:
    """The last commit that changed what goes in, and its time; "-dirty" when the tree changes it further."""
    commit, epoch = _git("log", "-1", "--format=%H %ct", "--", *CONTEXT).split()
    dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", *files], cwd=ROOT).returncode != 0
    return commit + ("-dirty" if dirty else ""), int(epoch)


def ensure_base(name: str) -> str:
    """One of BASES, built with mmdebstrap when missing or when its recipe changed; its image id."""
    recipe = BASES[name]
    digest = hashlib.sha256("\n".join(recipe).encode()).hexdigest()[:16]
    slug = name.split("/")[-1].replace(":", "-")
    stamp = image_dir() / f"{slug}.recipe"
    with build_lock(slug):
        if not (image_exists(name) and stamp.is_file() and stamp.read_text().strip() == digest):
            _log(f"building {name} from Debian's packages with mmdebstrap (about a minute)")
            started = time.monotonic()
            stamp.parent.mkdir(parents=True, exist_ok=True)
            tarball = image_dir() / f"{slug}.tar"
            # A fixed date: the same packages give the same files.
            env = {**os.environ, "SOURCE_DATE_EPOCH": "1767225600"}
            _run(["mmdebstrap", "--quiet", *recipe, str(tarball)], timeout=900, env=env)
            try:
                _run(["podman", "import", str(tarball), name])
            finally:
                tarball.unlink(missing_ok=True)
            stamp.write_text(digest + "\n")
            _log(f"{name} built in {time.monotonic() - started:.0f} s")
        return _run(["podman", "image", "inspect", "--format", "{{.Id}}", name]).strip()


def ensure_wheels() -> Path:
    """A wheelhouse for requirements.txt (binary wheels only: no compiler), cached by its content.

    Built with the virtualenv's Python 3.11 on this Debian 12 host, the image's Python and libc."""
    requirements = (ROOT / "requirements.txt").read_bytes()
    folder = image_dir() / f"wheels-{hashlib.sha256(requirements).hexdigest()[:16]}"
    if folder.is_dir():
        return folder
    if sys.version_info[:2] != (3, 11):
        raise BuildError(f"the wheelhouse is built with Python 3.11 (the image's), not {sys.version.split()[0]}")
    with build_lock(folder.name):
        if folder.is_dir():
            return folder
        _log("building the wheelhouse for requirements.txt")
        partial = folder.with_name(folder.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        pip = [sys.executable, "-m", "pip", "wheel", "--quiet", "--only-binary=:all:", "--disable-pip-version-check"]
        _run([*pip, "-r", str(ROOT / "requirements.txt"), "-w", str(partial)], timeout=600)
        partial.rename(folder)
    return folder


@dataclass(frozen=True)
class Image:
    name: str  # localhost/kubegems-routes:<hash>
    built: bool  # False when the cached image was used


def content_hash(files: list[str], wheels: Path, base_ids: list[str]) -> str:
    digest = hashlib.sha256()
    for base_id in base_ids:
        digest.update(f"base {base_id}\n".encode())
    for wheel in sorted(p.name for p in wheels.glob("*.whl")):
        digest.update(f"wheel {wheel}\n".encode())
    for name in files:
        digest.update(f"file {name}\n".encode())
        digest.update(hashlib.sha256((ROOT / name).read_bytes()).digest())
    return digest.hexdigest()[:16]


def ensure_image() -> Image:
    """Build the image unless the one for this content exists; tag it IMAGE_NAME either way."""
    if os.geteuid() != 0:
        raise BuildError("the image is built as root here (podman's storage, mmdebstrap); run `sudo make image`")
    if missing := missing_tools():
        raise BuildError(f"missing Debian packages for the image: {' '.join(missing)}. Install: {INSTALL}")
    base_ids = [ensure_base(name) for name in BASES]
    wheels = ensure_wheels()
    files = context_files()
    name = f"{REPOSITORY}:{content_hash(files, wheels, base_ids)}"
    built = False
    with build_lock("kubegems-routes-image"):
        if not image_exists(name):
            _build(name, files, wheels)
            built = True
    _run(["podman", "tag", name, IMAGE_NAME])
    if built:
        _prune(keep=KEEP)
    return Image(name=name, built=built)


def _prune(keep: int) -> None:
    """Remove all but the `keep` newest images of REPOSITORY (each code change makes one of ~300 MB).

    More than one stays: another worktree's test run may be about to start the one it built."""
    listed = _run(["podman", "images", "--filter", f"reference={REPOSITORY}", "--format", "{{.ID}} {{.Tag}}"])
    ids: list[str] = []
    for line in listed.splitlines():  # newest first
        image_id, _tag = line.split()
        if image_id not in ids:
            ids.append(image_id)
    for image_id in ids[keep:]:
        subprocess.run(["podman", "rmi", "--force", image_id], capture_output=True)


def _build(name: str, files: list[str], wheels: Path) -> None:
    revision, epoch = source_commit(files)
    _log(f"building {name} (revision {revision})")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kubegems-routes-image-") as tmp:
        context = Path(tmp)
        for file in files:  # exactly the tracked files: nothing untracked or generated goes in
            target = context / file
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / file, target)
        args = [
            "podman",
            "build",
            "--isolation=chroot",
            f"--timestamp={epoch}",
            f"--build-arg=BASE={BASE_IMAGE}",
            f"--build-arg=BUILD_BASE={BUILD_BASE_IMAGE}",
            f"--build-arg=SOURCE={SOURCE}",
            f"--build-arg=VERSION={version()}",
            f"--build-arg=REVISION={revision}",
            f"--build-context=wheels={wheels}",
            "--file=Containerfile",
            f"--tag={name}",
            str(context),
        ]
        _run(args, timeout=900, env={**os.environ, "SOURCE_DATE_EPOCH": str(epoch)})
    # The build stage's intermediate images hold about 500 MB (the final stage's share the image's layers).
    prune = ["podman", "image", "prune", "--force", "--filter", "label=io.kubegems-routes.stage=build"]
    subprocess.run(prune, capture_output=True)
    _log(f"built {name} in {time.monotonic() - started:.0f} s")


def describe(name: str) -> str:
    size = int(_run(["podman", "image", "inspect", "--format", "{{.Size}}", name]).strip())
    history = _run(["podman", "history", "--human", "--no-trunc", "--format", "{{.Size}}\t{{.CreatedBy}}", name])
    layers = "\n".join(f"  {line[:150]}" for line in history.splitlines() if line.strip())
    return f"{name}: {size / 1e6:.0f} MB uncompressed\nlayers (newest first):\n{layers}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--print", action="store_true", help="print only the image's name")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        image = ensure_image()
        if args.print:
            print(image.name)
            return 0
        print(describe(image.name))
    except BuildError as exc:
        _log(f"ERROR: {exc}")
        return 1
    state = "built" if image.built else "cached, not rebuilt"
    print(f"{image.name} ({state}), tagged {IMAGE_NAME}, in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
