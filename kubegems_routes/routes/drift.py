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
    GATEWAY_CHANGED = "gateway-changed"  # the cluster holds what was applied; the gateway's defaults changed since
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


def sync_state(expected: dict[str, Any], live: dict[str, Any] | None, applied: dict[str, Any] | None = None) -> Sync:
    """``applied`` is the route built with the gateway defaults of its last apply: if the cluster still
    holds exactly that, the difference is an admin's change to the gateway, not someone else's edit."""
    if live is None:
        return Sync.MISSING
    theirs = managed_view(live)
    if managed_view(expected) == theirs:
        return Sync.IN_SYNC
    if applied is not None and managed_view(applied) == theirs:
        return Sync.GATEWAY_CHANGED
    return Sync.CHANGED


def _sorted(value: Any) -> Any:
    # Mappings in key order, so a reordering never shows as lines removed and added; lists keep theirs.
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def diff(ours: dict[str, Any] | None, theirs: dict[str, Any], ours_label: str, theirs_label: str) -> str:
    """A unified diff of the managed parts, as YAML, for people to read; ``ours`` None: no object (all added)."""
    return "".join(
        difflib.unified_diff(
            [] if ours is None else _lines(ours),
            _lines(theirs),
            fromfile=ours_label,
            tofile=theirs_label,
        )
    )


def _lines(obj: dict[str, Any]) -> list[str]:
    # An empty part (no annotations) is left out rather than shown as "annotations: {}".
    view = {k: v for k, v in managed_view(obj).items() if v}
    return manifest.to_yaml(_sorted(view)).splitlines(keepends=True) if view else []
