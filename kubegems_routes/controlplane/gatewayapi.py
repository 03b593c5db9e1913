"""Fetch Gateway API's standard CRDs from the Go module proxy into the cache.

The CRDs ship in the module ``sigs.k8s.io/gateway-api`` (``config/crd/standard/``);
they are fetched through the Go module proxy and copied next to the control-plane
binaries, once (``gomodule.py``). The tests install them into the local API
server, whose CEL validation then judges every HTTPRoute and GRPCRoute the
console writes.

This module uses the standard library only: it runs before any pip install.

    python -m kubegems_routes.controlplane.gatewayapi          # fetch if missing
    python -m kubegems_routes.controlplane.gatewayapi --print  # print the CRD files
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from kubegems_routes.controlplane.build import _log, build_lock, cache_root
from kubegems_routes.controlplane.gomodule import copy_module_folder, fetch_main

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
    target = copy_module_folder(GATEWAY_API_MODULE, version, _CHANNEL, crd_dir(version))
    files = crd_files(version)
    _log(f"Gateway API {version}: {len(files)} CRDs in {target}")
    return files


def main(argv: list[str] | None = None) -> int:
    return fetch_main((__doc__ or "").splitlines()[0], ensure_crds, argv)


if __name__ == "__main__":
    sys.exit(main())
