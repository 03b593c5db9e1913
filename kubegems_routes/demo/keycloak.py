"""A real OpenID Connect provider for the tests and the demo: Keycloak, fetched with Maven.

Keycloak's Quarkus distribution (Maven Central ``org.keycloak:keycloak-quarkus-dist``, a 165 MB zip) is
fetched with ``mvn dependency:copy`` and unpacked once into ``~/.cache/kubegems-routes/keycloak/``. Each
start copies the unpacked tree into a fresh directory (``start-dev`` keeps its H2 database inside the tree),
drops the realm JSON into ``data/import/`` and starts ``kc.sh start-dev --import-realm`` in its own process
group, so that stopping it (SIGTERM to the group) also stops the JVM ``kc.sh`` starts.

This module uses the standard library only: it runs before any pip install.

    python -m kubegems_routes.demo.keycloak          # fetch and unpack if missing
    python -m kubegems_routes.demo.keycloak --print  # print kc.sh's path
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from kubegems_routes.controlplane.build import BuildError, _log, build_lock, cache_root

KEYCLOAK_VERSION = os.environ.get("KGR_KEYCLOAK_VERSION", "26.5.6")
ARTIFACT = "org.keycloak:keycloak-quarkus-dist:{version}:zip"
ADMIN_USER = "admin"
# Only ever a local, loopback-bound, throwaway Keycloak.
ADMIN_PASSWORD = "admin-password"  # noqa: S105


def home(version: str = KEYCLOAK_VERSION) -> Path:
    """The unpacked distribution (holding bin/kc.sh)."""
    return cache_root() / "keycloak" / version / f"keycloak-{version}"


# Written once the cached tree has been built for start-dev (see _build_for_development).
_DEV_BUILT = ".kgr-dev-built"


def ensure_keycloak(version: str = KEYCLOAK_VERSION) -> Path:
    """Fetch, unpack and build Keycloak unless cached; return its home. Raises BuildError saying what to install."""
    if (home(version) / _DEV_BUILT).is_file():
        return home(version)
    with build_lock(f"keycloak-{version}"):
        if not (home(version) / "bin" / "kc.sh").is_file():
            _fetch(version)
        if not (home(version) / _DEV_BUILT).is_file():
            _build_for_development(home(version))
    return home(version)


def _build_for_development(tree: Path, timeout: float = 900) -> None:
    """Run start-dev once in the cached tree and stop it once it has built itself.

    The distribution is built for production; start-dev first rebuilds it for development (Quarkus
    "augmentation", 90 s on 2 busy cores). Done here once, each start's copy of the tree skips it.
    """
    _log("building Keycloak for start-dev, once (about 1-2 minutes)")
    log_path = tree / "data" / "build.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    environment = {
        **os.environ,
        "KC_BOOTSTRAP_ADMIN_USERNAME": ADMIN_USER,
        "KC_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(tree / "bin" / "kc.sh"), "start-dev", f"--http-port={free_port()}", "--http-host=127.0.0.1"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    try:
        while "Running the server in development mode" not in log_path.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise BuildError(
                    f"Keycloak did not build for start-dev:\n{log_path.read_text(errors='replace')[-3000:]}"
                )
            time.sleep(1)
    finally:
        _stop_group(process)
        shutil.rmtree(tree / "data", ignore_errors=True)
    (tree / _DEV_BUILT).touch()


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _fetch(version: str) -> None:
    missing = [tool for tool in ("mvn", "java") if shutil.which(tool) is None]
    if missing:
        packages = {"mvn": "maven", "java": "default-jre-headless"}
        names = " ".join(packages[tool] for tool in missing)
        raise BuildError(f"Keycloak needs {' and '.join(missing)}: sudo apt-get install {names}")
    target = home(version).parent
    with tempfile.TemporaryDirectory(dir=cache_root() / "build") as work:
        _log(f"fetching Keycloak {version} with Maven (165 MB)")
        result = subprocess.run(
            [
                "mvn",
                "-q",
                "-B",
                "dependency:copy",
                f"-Dartifact={ARTIFACT.format(version=version)}",
                f"-DoutputDirectory={work}",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        archive = Path(work) / f"keycloak-quarkus-dist-{version}.zip"
        if result.returncode != 0 or not archive.is_file():
            raise BuildError(f"mvn could not fetch Keycloak {version}:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
        unpacked = Path(work) / "unpacked"
        with zipfile.ZipFile(archive) as zipped:
            zipped.extractall(unpacked)
        (unpacked / f"keycloak-{version}" / "bin" / "kc.sh").chmod(0o755)
        target.mkdir(parents=True, exist_ok=True)
        (unpacked / f"keycloak-{version}").rename(home(version))
    _log(f"Keycloak {version} in {home(version)}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Keycloak:
    """A running Keycloak on loopback, with one realm imported."""

    port: int
    realm: str
    directory: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    _stopped: bool = field(default=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def issuer(self) -> str:
        return f"{self.url}/realms/{self.realm}"

    def admin_token(self) -> str:
        data = urllib.parse.urlencode(
            {"grant_type": "password", "client_id": "admin-cli", "username": ADMIN_USER, "password": ADMIN_PASSWORD}
        ).encode()
        request = urllib.request.Request(f"{self.url}/realms/master/protocol/openid-connect/token", data=data)  # noqa: S310
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            return str(json.load(response)["access_token"])

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        _stop_group(self.process)
        shutil.rmtree(self.directory, ignore_errors=True)


def start(realm_file: Path, *, port: int | None = None, timeout: float = 300) -> Keycloak:
    """Start a fresh Keycloak with realm_file imported; return once its realm answers discovery."""
    source = ensure_keycloak()
    realm = json.loads(realm_file.read_text())["realm"]
    directory = Path(tempfile.mkdtemp(prefix="kgr-keycloak-"))
    tree = directory / source.name
    shutil.copytree(source, tree, symlinks=True)
    shutil.rmtree(tree / "data", ignore_errors=True)
    (tree / "data" / "import").mkdir(parents=True)
    shutil.copy(realm_file, tree / "data" / "import" / realm_file.name)
    port = port or free_port()
    log_path = directory / "keycloak.log"
    environment = {
        **os.environ,
        "KC_BOOTSTRAP_ADMIN_USERNAME": ADMIN_USER,
        "KC_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "JAVA_OPTS_APPEND": "-Xms64m -Xmx512m",
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                *(str(tree / "bin" / "kc.sh"), "start-dev", "--import-realm", f"--http-port={port}"),
                "--http-host=127.0.0.1",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
            start_new_session=True,
        )
    keycloak = Keycloak(port=port, realm=realm, directory=directory, process=process, log_path=log_path)
    deadline = time.monotonic() + timeout
    discovery = f"{keycloak.issuer}/.well-known/openid-configuration"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-3000:]
            keycloak.stop()
            raise BuildError(f"Keycloak exited with {process.returncode}:\n{tail}")
        try:
            with urllib.request.urlopen(discovery, timeout=5):  # noqa: S310 - loopback
                return keycloak
        except (urllib.error.URLError, OSError):
            time.sleep(1)
    tail = log_path.read_text(errors="replace")[-3000:]
    keycloak.stop()
    raise BuildError(f"Keycloak did not answer {discovery} within {timeout:.0f} s:\n{tail}")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        path = ensure_keycloak()
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if "--print" in args:
        print(path / "bin" / "kc.sh")
    return 0


if __name__ == "__main__":
    sys.exit(main())
