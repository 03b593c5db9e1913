"""Render deploy/ with kustomize: a kustomize binary built from its Go module, or `kubectl kustomize`."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import yaml

from kubegems_routes.controlplane.build import cache_root

ROOT = Path(__file__).resolve().parent.parent
KUSTOMIZE_VERSION = "v5.7.1"  # the newest that builds with Go 1.26 (v5.8 needs Go 1.27)


class KustomizeMissing(RuntimeError):
    pass


def _command() -> list[str]:
    built = cache_root() / "bin" / f"kustomize-{KUSTOMIZE_VERSION}" / "kustomize"
    if os.access(built, os.X_OK):
        return [str(built), "build"]
    if found := shutil.which("kustomize"):
        return [found, "build"]
    if found := shutil.which("kubectl"):
        return [found, "kustomize"]
    partial = built.parent.with_name(built.parent.name + ".partial")
    result = subprocess.run(
        ["go", "install", "-trimpath", f"sigs.k8s.io/kustomize/kustomize/v5@{KUSTOMIZE_VERSION}"],
        env={**os.environ, "CGO_ENABLED": "0", "GOBIN": str(partial)},
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise KustomizeMissing(
            "kustomize is needed to render deploy/: install Go 1.26+ (it builds "
            f"sigs.k8s.io/kustomize/kustomize/v5@{KUSTOMIZE_VERSION}) or kubectl.\n{result.stderr[-2000:]}"
        )
    if not built.exists():  # another run may have finished the same build meanwhile
        partial.rename(built.parent)
    return [str(built), "build"]


def render(path: str) -> list[dict]:
    """The objects of one kustomization under the repository, in order."""
    result = subprocess.run([*_command(), str(ROOT / path)], capture_output=True, text=True, check=True)
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]
