"""Move an Ingress route to a Gateway API gateway: create its HTTPRoute or GRPCRoute, wait until the Gateway's
controller accepts it, and only then delete the Ingress.

A move is a save (``routes.saving``) of the route's own values on the other gateway, as a confirmed switch
of kind (``routes.switch``), in two steps with the wait between them and no transaction held across it:

1. ``move_route`` makes the save's checks (the host's domain on that gateway, the Gateway's
   ``allowedRoutes``, the host's owners), then in one short transaction records the move (a ``RouteMove``
   row: one per route, with the Ingress's version and a deadline ``settings.MOVE_ACCEPT_SECONDS`` away) and
   creates the new object. The route's row is untouched: the Ingress serves and the route is still it.
2. ``advance`` (the move's page polls it) reads the new object's ``status.parents``. Accepted=True for the
   Gateway: ``save_route`` ends the switch (the row changed, the new object kept as accepted, the Ingress
   deleted at the version the move started from, the audit entry and version). Accepted=False,
   no answer by the deadline, or any failure of that save: the new object is deleted again, the row goes,
   and the Ingress keeps serving.

The database always knows of the new object while it exists: a worker that dies while waiting leaves the
``RouteMove`` row, and the next look at the move finishes it or takes it back. A change to the route while
the move waits (an edit, a re-apply, kubectl) changes the Ingress's resourceVersion, so the Ingress is not
deleted and the move is taken back; the row is taken by deleting it first in the last step's transaction,
so two requests never both finish one move.

The route keeps the annotations that become Gateway API fields (a timeout, a rewrite, headers), which the
HTTPRoute's manifest translates as "Show as Gateway API" showed (``gateway_behaviour``); the others do not carry
over, and those with no Gateway API equivalent must have been confirmed as dropped.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import logging

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kubegems_routes.gateways.models import Gateway
from kubegems_routes.kube.client import Manifest
from kubegems_routes.kube.errors import KubeError, NotFound
from kubegems_routes.routes import manifest, refusals
from kubegems_routes.routes.errors import RouteError, StaleEdit
from kubegems_routes.routes.gateway_status import ParentStatus, parent_statuses
from kubegems_routes.routes.models import AuditEntry, Route, RouteMove
from kubegems_routes.routes.ports import port_numbers, values_spec
from kubegems_routes.routes.saving import MovedIn, check_host_and_take_back, checked, save_route
from kubegems_routes.routes.to_gateway_api import AsGatewayApi, as_gateway_api, gateway_backends
from kubegems_routes.routes.values import RouteValues

logger = logging.getLogger(__name__)


class DropsNotConfirmed(RouteError):
    """Annotations with no Gateway API equivalent would be dropped, and the user did not confirm it."""

    form_field = "confirm_dropped"


class MoveUnderWay(RouteError):
    """The route is already being moved."""


class _Gone(RouteError):
    """The move's row was taken by another request (which finished the move or took it back)."""


def move_route(route: Route, shown: AsGatewayApi, user: User, *, drops_confirmed: bool) -> RouteMove:
    """Start moving the Ingress route to ``shown.gateway`` as ``shown`` (``to_gateway_api.as_gateway_api``)
    showed it: its new object created and the move recorded, the Ingress serving; ``advance`` goes on from
    there. Or raise a RouteError and change nothing."""
    if shown.dropped and not drops_confirmed:
        raise DropsNotConfirmed(
            _("Confirm that the annotations with no Gateway API equivalent are dropped: %(keys)s.")
            % {"keys": ", ".join(c.key for c in shown.dropped)}
        )
    if RouteMove.objects.filter(route=route).exists():
        raise MoveUnderWay(_under_way(route))
    values = checked(route, moved_values(route, shown), "")
    environment, client = route.environment, route.environment.cluster.client()
    body: Manifest = {}
    try:
        spec = values_spec(route, values)
        check_host_and_take_back(route, values, spec)
        body = manifest.build(spec)
        created = False
        try:
            with transaction.atomic():
                now = timezone.now()
                move = RouteMove.objects.create(
                    route=route,
                    gateway=values.gateway,
                    kind=spec.kind,
                    resource_version=route.resource_version,
                    user=user,
                    started_at=now,
                    deadline=now + datetime.timedelta(seconds=settings.MOVE_ACCEPT_SECONDS),
                )
                client.create_route_object(spec.kind, environment.namespace, body)
                created = True
        except BaseException:
            if created:  # the commit failed after the cluster took it
                client.delete_route_object(spec.kind, environment.namespace, route.name)
            raise
    except IntegrityError as exc:
        raise MoveUnderWay(_under_way(route)) from exc
    except (KubeError, manifest.UnresolvedPort) as exc:
        raise refusals.save_refusal(
            exc, name=route.name, namespace=environment.namespace, backends=values.backends, stale_diff=lambda: ""
        ) from exc
    return move


def moved_values(route: Route, shown: AsGatewayApi) -> RouteValues:
    """The route's values on the Gateway API gateway, as the move saves them."""
    gateway = shown.gateway
    backends, _notes = gateway_backends(route.backends())
    return RouteValues(
        gateway=gateway,
        host=route.host,
        protocol=route.protocol,
        tls_secret="",
        backends=backends,
        annotations=shown.becomes,
        tls_source=manifest.TLS_FROM_SECRET,
        switch_to=shown.kind,
    )


class State(enum.StrEnum):
    WAITING = "waiting"  # no word from the controller yet, the deadline ahead
    MOVED = "moved"
    KEPT = "kept"  # not moved: the new object deleted again, the Ingress serving


@dataclasses.dataclass(frozen=True)
class Progress:
    state: State
    message: str = ""  # why a move was not made, or what the wait is (a cluster not answering)
    seconds_left: int = 0


def advance(move: RouteMove) -> Progress:
    """One look at a move under way: finish it if the controller accepted its object, take it back if the
    controller refused it or the deadline passed, else say it still waits."""
    route = move.route
    client = route.environment.cluster.client()
    namespace = route.environment.namespace
    left = (move.deadline - timezone.now()).total_seconds()
    try:
        live = client.get_route_object(move.kind, namespace, route.name)
    except NotFound:
        return _kept(
            move,
            _(
                "%(kind)s %(name)s was deleted in the cluster while the move waited: Ingress %(name)s still serves the "
                "route."
            )
            % {"kind": move.kind, "name": route.name},
        )
    except KubeError as exc:
        logger.warning("reading %s %s/%s of a move: %s", move.kind, namespace, route.name, exc.message)
        if left <= 0:
            return _kept(move, _no_answer(move))
        return Progress(State.WAITING, _("The cluster cannot be reached right now."), _seconds(left))
    verdict = accepted(parent_statuses(live), move.gateway)
    if verdict is True:
        return _finish(move, live)
    if isinstance(verdict, ParentStatus):
        return _kept(move, _rejected(move.kind, route.name, move.gateway, verdict))
    if left <= 0:
        return _kept(move, _no_answer(move))
    return Progress(State.WAITING, seconds_left=_seconds(left))


def waiting(move: RouteMove) -> Progress:
    """The move as it stands, without a look at the cluster (the move's page before its first poll)."""
    return Progress(State.WAITING, seconds_left=_seconds((move.deadline - timezone.now()).total_seconds()))


def _seconds(left: float) -> int:
    return max(1, round(left))


def _finish(move: RouteMove, live: Manifest) -> Progress:
    """The controller accepted: the switch ends through ``save_route``, which first takes the move's row."""
    route = Route.objects.select_related("gateway", "environment__project__tenant", "environment__cluster").get(
        pk=move.route_id
    )
    changed = _(
        "Ingress %(name)s changed while the move waited (an edit, a re-apply or kubectl), so %(kind)s %(name)s was "
        "deleted again: Ingress %(name)s still serves the route. Move it again to move it as it is now."
    ) % {"kind": move.kind, "name": route.name}
    if route.resource_version != move.resource_version:
        return _kept(move, changed)  # (or another request finished it: _kept finds its row gone)

    def claim() -> None:
        if not RouteMove.objects.filter(pk=move.pk).delete()[0]:
            raise _Gone("")

    environment = route.environment
    try:
        shown = as_gateway_api(route, move.gateway, port_numbers(environment, move.gateway, route.backends()))
        save_route(
            route,
            moved_values(route, shown),
            move.user,  # type: ignore[arg-type]  # None only once the user is deleted
            resource_version=move.resource_version,
            moved_in=MovedIn(live, claim),
            action=AuditEntry.Action.MOVE,
        )
    except _Gone:
        return _ended_elsewhere(move)
    except StaleEdit:
        return _kept(move, changed)
    except RouteError as exc:
        return _kept(move, exc.message)
    except manifest.UnresolvedPort as exc:
        return _kept(move, refusals.port_message(exc))
    except KubeError as exc:
        logger.warning("finishing the move of %s/%s: %s", environment.namespace, route.name, exc.message)
        return _kept(move, _("The cluster cannot be reached right now."))
    return Progress(State.MOVED)


def _kept(move: RouteMove, why: str) -> Progress:
    """Not moved: the move's row taken, its object deleted (already gone is fine), the Ingress serving.

    A cluster that does not answer keeps the row (the object may still exist): the next look tries again."""
    route = move.route
    namespace = route.environment.namespace
    try:
        with transaction.atomic():
            if not RouteMove.objects.filter(pk=move.pk).delete()[0]:
                return _ended_elsewhere(move)
            route.environment.cluster.client().delete_route_object(move.kind, namespace, route.name)
    except KubeError as exc:
        logger.warning("deleting %s %s/%s of a move: %s", move.kind, namespace, route.name, exc.message)
        return Progress(
            State.WAITING,
            _("%(why)s The cluster did not answer when %(kind)s %(name)s was to be deleted; trying again.")
            % {"why": why, "kind": move.kind, "name": route.name},
        )
    return Progress(State.KEPT, why)


def _ended_elsewhere(move: RouteMove) -> Progress:
    """Another request took the move's row first, and finished the move or took it back."""
    if Route.objects.filter(pk=move.route_id, gateway=move.gateway).exists():
        return Progress(State.MOVED)
    return Progress(
        State.KEPT,
        _("The move ended without moving the route: Ingress %(name)s still serves it.") % {"name": move.route.name},
    )


def _under_way(route: Route) -> str:
    return _("Route %(name)s is already being moved to Gateway API.") % {"name": route.name}


def _no_answer(move: RouteMove) -> str:
    return _(
        "No controller of Gateway %(gateway)s accepted %(kind)s %(name)s within %(seconds)s seconds, so it was "
        "deleted again: Ingress %(name)s still serves the route."
    ) % {
        "gateway": move.gateway.name,
        "kind": move.kind,
        "name": move.route.name,
        "seconds": f"{(move.deadline - move.started_at).total_seconds():g}",
    }


def accepted(parents: list[ParentStatus], gateway: Gateway) -> bool | ParentStatus | None:
    """What the Gateway's controllers say of the route, from its status.parents: True when one accepts it on
    ``gateway``; the entry that refuses it when none accepts it; None when none has said yet (or only of an
    earlier generation)."""
    refused = None
    for parent in parents:
        if (parent.namespace, parent.name) != (gateway.gateway_namespace, gateway.gateway_name) or parent.stale:
            continue
        condition = parent.accepted
        if condition is None:
            continue
        if condition.status == "True":
            return True
        if condition.status == "False":
            refused = parent
    return refused


def _rejected(kind: str, name: str, gateway: Gateway, parent: ParentStatus) -> str:
    condition = parent.accepted
    why = ""
    if condition is not None:
        why = f"{condition.reason}: {condition.message}" if condition.message else condition.reason
    return _(
        "The controller of Gateway %(gateway)s did not accept %(kind)s %(name)s (%(why)s), so it was deleted "
        "again: Ingress %(name)s still serves the route."
    ) % {"gateway": gateway.name, "kind": kind, "name": name, "why": why or _("no reason given")}
