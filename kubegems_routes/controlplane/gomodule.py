"""Copy a folder of a Go module, fetched through the Go module proxy, into the cache.

The module proxy is the one place these machines can fetch upstream files
from, so manifests that ship inside Go modules (Gateway API's CRDs,
cert-manager's CRDs) are downloaded with ``go mod download`` and their folder
copied next to the control-plane binaries, once.

This module uses the standard library only: it runs before any pip install.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from kubegems_routes.controlplane.build import BuildError, _build_env, _go, _log, _run


def copy_module_folder(module: str, version: str, folder: Path, target: Path) -> Path:
    """Download ``module@version`` and copy its ``folder`` to ``target`` (replaced whole). Raises BuildError."""
    go = _go()
    env = _build_env()
    _log(f"downloading {module}@{version} for {folder}")
    with tempfile.TemporaryDirectory(prefix="kgr-gomodule-") as work:
        info = json.loads(_run([go, "mod", "download", "-json", f"{module}@{version}"], Path(work), env))
    if info.get("Error"):
        raise BuildError(f"{module}@{version}: {info['Error']}")
    source = Path(info["Dir"]) / folder
    if not source.is_dir():
        raise BuildError(f"{module}@{version} has no {folder} folder")
    # Copied beside the target and renamed into place: a run killed midway leaves no half folder behind.
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
    return target


def fetch_main(description: str, ensure: Callable[[], list[Path]], argv: list[str] | None = None) -> int:
    """The command line of a fetcher: fetch if missing, ``--print`` the files; 1 with the cause on failure."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--print", action="store_true", help="print the files")
    args = parser.parse_args(argv)
    try:
        files = ensure()
    except BuildError as exc:
        _log(f"ERROR: {exc}")
        return 1
    if args.print:
        for path in files:
            print(path)
    return 0
