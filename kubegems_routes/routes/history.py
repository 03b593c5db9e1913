"""A route's versions: each one the console applied, kept per route, and the differences between them.

A version holds the route's values (what a revert saves again through the form and ``save_route``) and the
object sent for them (what the History shows and diffs). Recording one is part of every save's transaction
(``saving.record``); at most ``settings.ROUTE_VERSIONS_KEPT`` are kept per route.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Max
from django.utils.translation import gettext as _

from kubegems_routes.kube.client import Manifest
from kubegems_routes.routes import drift
from kubegems_routes.routes.models import Route, RouteVersion


def values_of(route: Route) -> dict[str, Any]:
    """The route's values as stored (after ``saving.store``), as a version keeps them."""
    return {
        "gateway": route.gateway_id,
        "host": route.host,
        "protocol": route.protocol,
        "tls_secret": route.tls_secret,
        "tls_source": route.tls_source,
        "annotations": dict(route.annotations),
        "kept": dict(route.kept),
        "backends": [
            {"path": b.path, "path_type": b.path_type, "service": b.service, "port": b.port, "weight": b.weight}
            for b in route.backends()
        ],
    }


def record_version(
    route: Route, action: str, user: User | None, body: Manifest, *, reverted_to: int | None = None
) -> RouteVersion:
    """A new version of the route (inside the caller's transaction), dropping those beyond the retention."""
    latest = RouteVersion.objects.filter(route=route).aggregate(latest=Max("number"))["latest"] or 0
    version = RouteVersion.objects.create(
        route=route,
        number=latest + 1,
        action=action,
        user=user,
        values=values_of(route),
        manifest=_without_version(body),
        reverted_to=reverted_to,
    )
    RouteVersion.objects.filter(route=route, number__lte=version.number - settings.ROUTE_VERSIONS_KEPT).delete()
    return version


def _without_version(body: Manifest) -> Manifest:
    """The object as the route made it: the resourceVersion an update carried is the cluster's, not the route's."""
    metadata = {k: v for k, v in (body.get("metadata") or {}).items() if k != "resourceVersion"}
    return {**body, "metadata": metadata}


@dataclass(frozen=True)
class Entry:
    """One version as the History shows it: what changed since the version before (kept) it."""

    version: RouteVersion
    diff: str  # empty: nothing the route decides changed (a re-apply), or no earlier version is kept
    first: bool  # no earlier version is kept to compare with
    current: bool  # the newest version: what the route is now


def history(route: Route) -> list[Entry]:
    """Every kept version, newest first, each with its diff to the one before: one query, however many."""
    versions = list(route.versions.select_related("user").order_by("-number"))
    entries = []
    for i, version in enumerate(versions):
        before = versions[i + 1] if i + 1 < len(versions) else None
        entries.append(
            Entry(
                version,
                diff=version_diff(before, version) if before is not None else "",
                first=before is None,
                current=i == 0,
            )
        )
    return entries


def version_diff(old: RouteVersion, new: RouteVersion) -> str:
    """The objects of two versions compared (labels, annotations, spec), as a unified diff of YAML."""
    return drift.diff(
        old.manifest,
        new.manifest,
        _("version %(n)s") % {"n": old.number},
        _("version %(n)s") % {"n": new.number},
    )
