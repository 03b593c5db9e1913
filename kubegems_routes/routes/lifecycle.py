"""A stored route made what the cluster holds again (re-apply, one route or a whole gateway's), or deleted."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet

from kubegems_routes.gateways.models import Gateway
from kubegems_routes.kube.errors import NotFound
from kubegems_routes.routes.errors import RouteError
from kubegems_routes.routes.models import AuditEntry, Route, RouteMove
from kubegems_routes.routes.ports import expected_manifest
from kubegems_routes.routes.saving import record
from kubegems_routes.routes.unavailable import cluster_errors


def delete_route(route: Route, user: User | None = None) -> None:
    """Delete the route's object (already gone is fine), then the row; a cluster error keeps both.

    A move to Gateway API under way (``routes.move``) goes too: its new object first."""
    client = route.environment.cluster.client()
    with cluster_errors("deleting a route"), transaction.atomic():
        AuditEntry.objects.create(
            environment=route.environment, route_name=route.name, action=AuditEntry.Action.DELETE, user=user
        )
        for move in RouteMove.objects.filter(route=route):
            client.delete_route_object(move.kind, route.environment.namespace, route.name)
        client.delete_route_object(route.spec().kind, route.environment.namespace, route.name)
        route.delete()


def reapply_route(route: Route, user: User, action: str = AuditEntry.Action.REAPPLY) -> None:
    """Make the cluster hold the route again: recreate a deleted object or overwrite an edited one."""
    client = route.environment.cluster.client()
    namespace = route.environment.namespace
    with cluster_errors("re-applying a route"), transaction.atomic():
        body = expected_manifest(route)
        kind = body["kind"]
        try:
            live = client.get_route_object(kind, namespace, route.name)
        except NotFound:
            applied = client.create_route_object(kind, namespace, body)
        else:
            body["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"]
            applied = client.replace_route_object(kind, namespace, route.name, body)
        record(route, applied, action, user, body)


@dataclass(frozen=True)
class Reapplied:
    """One route's outcome in a gateway-wide re-apply: ``error`` is empty when its object was applied."""

    route: Route
    error: str = ""
    detail: str = ""  # the API server's words, for admins


def routes_of_gateway(gateway: Gateway) -> QuerySet[Route]:
    """The routes on a gateway, in the order a gateway-wide re-apply takes them."""
    return (
        Route.objects.filter(gateway=gateway)
        .select_related("gateway", "environment__project__tenant", "environment__cluster")
        .prefetch_related("paths")
        .order_by("environment__namespace", "name")
    )


def reapplying_gateway(gateway: Gateway, user: User, routes: Iterable[Route] | None = None) -> Iterator[Reapplied]:
    """Re-apply every route of the gateway, each on its own, yielding each outcome as it is known (the admin
    page streams them): one object the API server refuses (or a cluster that stops answering midway)
    leaves the others applied and that route as it was, both in the cluster and in the database (one
    replace per route, its row and audit entry in the same transaction)."""
    for route in routes_of_gateway(gateway) if routes is None else routes:
        try:
            reapply_route(route, user, AuditEntry.Action.GATEWAY_REAPPLY)
        except RouteError as exc:
            yield Reapplied(route, exc.message, exc.detail)
        else:
            yield Reapplied(route)


def reapply_gateway(gateway: Gateway, user: User) -> list[Reapplied]:
    """Every route of the gateway re-applied (see ``reapplying_gateway``), one outcome per route."""
    return list(reapplying_gateway(gateway, user))
