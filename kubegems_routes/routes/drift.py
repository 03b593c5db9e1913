"""Does the cluster still hold what the console applied? Pure comparison, no I/O."""

from __future__ import annotations

import difflib
import enum
from typing import Any

from kubegems_routes.routes import manifest

# Written by kubectl apply; not part of what a route manages.
IGNORED_ANNOTATIONS = frozenset({"kubectl.kubernetes.io/last-applied-configuration"})


class Sync(enum.StrEnum):
    IN_SYNC = "in-sync"
    CHANGED = "changed"
    MISSING = "missing"
    UNKNOWN = "unknown"  # the cluster could not be asked


def managed_view(ingress: dict[str, Any]) -> dict[str, Any]:
    """The parts of an Ingress a route decides: labels, annotations and spec."""
    meta = ingress.get("metadata", {})
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k not in IGNORED_ANNOTATIONS}
    return {
        "labels": dict(meta.get("labels") or {}),
        "annotations": annotations,
        "spec": ingress.get("spec", {}),
    }


def sync_state(expected: dict[str, Any], live: dict[str, Any] | None) -> Sync:
    if live is None:
        return Sync.MISSING
    return Sync.IN_SYNC if managed_view(expected) == managed_view(live) else Sync.CHANGED


def diff(ours: dict[str, Any], theirs: dict[str, Any], ours_label: str, theirs_label: str) -> str:
    """A unified diff of the managed parts, as YAML, for people to read."""
    return "".join(
        difflib.unified_diff(
            manifest.to_yaml(managed_view(ours)).splitlines(keepends=True),
            manifest.to_yaml(managed_view(theirs)).splitlines(keepends=True),
            fromfile=ours_label,
            tofile=theirs_label,
        )
    )
