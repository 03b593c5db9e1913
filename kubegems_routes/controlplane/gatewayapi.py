"""Fetch Gateway API's standard CRDs from the Go module proxy into the cache.

The CRDs ship in the module ``sigs.k8s.io/gateway-api`` (``config/crd/standard/``);
the module proxy is the one place these machines can fetch them from, so they
are downloaded with ``go mod download`` and copied next to the control-plane
binaries, once. The tests install them into the local API server, whose CEL
validation then judges every HTTPRoute and GRPCRoute the console writes.

This module uses the standard library only: it runs before any pip install.

    python -m kubegems_routes.controlplane.gatewayapi          # fetch if missing
    python -m kubegems_routes.controlplane.gatewayapi --print  # print the CRD files
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from kubegems_routes.controlplane.build import BuildError, _build_env, _go, _log, _run, build_lock, cache_root

GATEWAY_API_MODULE = "sigs.k8s.io/gateway-api"
GATEWAY_API_VERSION = os.environ.get("KGR_GATEWAY_API_VERSION", "v1.6.3")
_CHANNEL = Path("config") / "crd" / "standard"


def crd_dir(version: str = GATEWAY_API_VERSION) -> Path:
    return cache_root() / "gateway-api" / version / "standard"


def crd_files(version: str = GATEWAY_API_VERSION) -> list[Path]:
    """The cached CRD manifests (one CustomResourceDefinition per file), sorted; empty when not fetched."""
    directory = crd_dir(version)
    if not directory.is_dir():
        return []
    # The standard channel also holds a ValidatingAdmissionPolicy guarding
    # upgrades (…_vap_*.yaml), which is not a CRD and not needed here.
    return sorted(p for p in directory.glob("gateway.networking.k8s.io_*.yaml") if "_vap_" not in p.name)


def ensure_crds(version: str = GATEWAY_API_VERSION) -> list[Path]:
    """Fetch the standard CRDs unless cached; return their files. Raises BuildError with a cause."""
    files = crd_files(version)
    if files:
        return files
    with build_lock(f"gateway-api-{version}"):
        return crd_files(version) or _fetch(version)


def _fetch(version: str) -> list[Path]:
    go = _go()
    env = _build_env()
    _log(f"downloading {GATEWAY_API_MODULE}@{version} for its standard CRDs")
    with tempfile.TemporaryDirectory(prefix="kgr-gateway-api-") as work:
        info = json.loads(_run([go, "mod", "download", "-json", f"{GATEWAY_API_MODULE}@{version}"], Path(work), env))
    if info.get("Error"):
        raise BuildError(f"{GATEWAY_API_MODULE}@{version}: {info['Error']}")
    source = Path(info["Dir"]) / _CHANNEL
    if not source.is_dir():
        raise BuildError(f"{GATEWAY_API_MODULE}@{version} has no {_CHANNEL} folder")
    target = crd_dir(version)
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, partial)
    # The module cache is read-only; the copy need not be.
    for path in partial.iterdir():
        path.chmod(0o644)
    partial.chmod(0o755)
    shutil.rmtree(target, ignore_errors=True)
    partial.replace(target)
    files = crd_files(version)
    _log(f"Gateway API {version}: {len(files)} CRDs in {target}")
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--print", action="store_true", help="print the CRD files")
    args = parser.parse_args(argv)
    try:
        files = ensure_crds()
    except BuildError as exc:
        _log(f"ERROR: {exc}")
        return 1
    if args.print:
        for path in files:
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
