"""What a route keeps of an object the console did not make, though the form does not show it (pure).

An object made elsewhere (kubectl, a chart, an operator) and imported or taken over carries parts the route
form has no field for: its team's labels, annotations the console leaves alone, finalizers and owner
references. The route keeps them (``Route.kept``) and every object built for it carries them again
(``manifest.build``), so an edit through the form changes only what the form shows. The rest of such an
object is the form's, or the import is refused (``readback``).
"""

from __future__ import annotations

from typing import Any

from kubegems_routes.routes import drift, manifest

# The console's own labels: rebuilt on every save, never kept.
OWN_LABELS = frozenset(manifest.route_labels("", "", "", "", ""))
# Metadata the API server keeps only if each write sends it again (a replace is a whole object).
KEPT_METADATA = ("finalizers", "ownerReferences")

Kept = dict[str, Any]  # {"labels": {...}, "annotations": {...}, "metadata": {"finalizers": [...], ...}}


def kept_from(obj: dict[str, Any]) -> Kept:
    """The parts of a cluster object a route keeps: labels not the console's, annotations the form does not
    manage (kubectl's last-applied configuration), finalizers and owner references."""
    meta = obj.get("metadata") or {}
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if k not in OWN_LABELS}
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k in drift.IGNORED_ANNOTATIONS}
    metadata = {k: meta[k] for k in KEPT_METADATA if meta.get(k)}
    kept: Kept = {}
    for part, found in (("labels", labels), ("annotations", annotations), ("metadata", metadata)):
        if found:
            kept[part] = found
    return kept


def kept_fields(kept: Kept) -> list[str]:
    """Each kept field by its path in the object, for people to read."""
    fields = [f"metadata.labels.{k}" for k in sorted(kept.get("labels") or {})]
    fields += [f"metadata.annotations.{k}" for k in sorted(kept.get("annotations") or {})]
    fields += [f"metadata.{k}" for k in KEPT_METADATA if k in (kept.get("metadata") or {})]
    return fields
