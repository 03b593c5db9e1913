"""Review before apply: what the API server would store for a route's values, and nothing written.

The values pass the checks a save makes (``saving.checked``; the host's claim and owners, taken back), the
object is built as a save builds it, and the API server is asked with ``dryRun=All``: admission (mutating
and validating webhooks and policies) runs, nothing is stored. An update is reviewed against the object's
version the edit carries, the same one the save applies over, so a change made in between is a conflict.
Failures are the save's own route errors (``refusals.save_refusal``), so they land on the same fields.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError
from django.utils.translation import gettext as _

from kubegems_routes.kube.client import KubeClient, Manifest
from kubegems_routes.kube.errors import KubeError
from kubegems_routes.routes import drift, manifest, refusals
from kubegems_routes.routes.models import Route
from kubegems_routes.routes.ports import values_spec
from kubegems_routes.routes.saving import check_host_and_take_back, checked
from kubegems_routes.routes.values import RouteValues


@dataclass(frozen=True)
class Review:
    """What saving the values would do, as the API server answered a dry run of it."""

    kind: str
    creating: bool  # no object yet (or one of another kind replaces the route's)
    diff: str  # the cluster's object now (none for a create) against what it would store
    admission_diff: str  # what the console sends against what the API server would store: admission's doing
    resource_version: str  # the object's version the review was made against ("" for a create)


def review_route(route: Route, values: RouteValues, *, suggested_host: str = "", resource_version: str = "") -> Review:
    """Review the values as the route's next save (``route.pk`` unset: a create); raises a RouteError as a save
    would, and writes nothing."""
    environment = route.environment
    client = environment.cluster.client()
    namespace = environment.namespace
    values = checked(route, values, suggested_host)
    previous_kind = "" if route.pk is None else Route.objects.select_related("gateway").get(pk=route.pk).spec().kind
    creating = previous_kind != values.kind  # a create, or a confirmed switch: the new kind is created
    version = "" if route.pk is None else (resource_version or route.resource_version)
    body: Manifest = {}
    try:
        spec = values_spec(route, values)
        route.host = spec.host  # in memory only: the host the refusals name, as a save's do
        check_host_and_take_back(route, values, spec)
        body = manifest.build(spec)
        live = client.get_route_object(previous_kind, namespace, route.name) if previous_kind else None
        if not creating:
            body["metadata"]["resourceVersion"] = version
        stored = client.dry_run_route_object(values.kind, namespace, body, replace=not creating)
    except (KubeError, manifest.UnresolvedPort, IntegrityError) as exc:
        raise refusals.save_refusal(
            exc,
            name=route.name,
            namespace=namespace,
            backends=values.backends,
            protocol=values.protocol,
            stale_diff=lambda: _now(client, values.kind, namespace, route.name, body),
        ) from exc
    return Review(
        kind=values.kind,
        creating=creating,
        diff=drift.diff(live, stored, _("the cluster now"), _("after saving")),
        admission_diff=(
            drift.diff(body, stored, _("the console sends"), _("the cluster would store"))
            if drift.managed_view(body) != drift.managed_view(stored)
            else ""
        ),
        resource_version=version if not creating else "",
    )


def _now(client: KubeClient, kind: str, namespace: str, name: str, body: Manifest) -> str:
    """How the object differs now from what was reviewed ('' when it is gone)."""
    try:
        live = client.get_route_object(kind, namespace, name)
    except KubeError:
        return ""
    return drift.diff(body, live, _("your edit"), _("the cluster now"))
