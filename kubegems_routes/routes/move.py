"""Move an Ingress route to a Gateway API gateway: create its HTTPRoute or GRPCRoute, wait until the Gateway's
controller accepts it, and only then delete the Ingress.

A move is a save (``routes.saving``) of the route's own values on the other gateway, as a confirmed switch
of kind (``routes.switch``): the same checks (the host's domain on that gateway, the Gateway's
``allowedRoutes``, the host's owners), the same create-then-delete and the same take-back. Between the
create and the delete it polls the new object until its ``status.parents`` says Accepted=True for the
Gateway, for at most ``settings.MOVE_ACCEPT_SECONDS``. Accepted=False, or no answer in time, is a
NotAccepted: the new object is deleted again, the Ingress keeps serving, and the route's row is as it was.

The route keeps the annotations that become Gateway API fields (a timeout, a rewrite, headers), which the
HTTPRoute's manifest translates as "Show as Gateway API" showed (``gateway_behaviour``); the others do not carry
over, and those with no Gateway API equivalent must have been confirmed as dropped.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth.models import User
from django.utils.translation import gettext as _

from kubegems_routes.gateways.models import Gateway
from kubegems_routes.kube.client import KubeClient, Manifest
from kubegems_routes.routes import manifest
from kubegems_routes.routes.errors import NotAccepted, RouteError
from kubegems_routes.routes.gateway_status import ParentStatus, parent_statuses
from kubegems_routes.routes.models import AuditEntry, Route
from kubegems_routes.routes.saving import save_route
from kubegems_routes.routes.to_gateway_api import AsGatewayApi, gateway_backends
from kubegems_routes.routes.values import RouteValues

POLL_SECONDS = 0.25


class DropsNotConfirmed(RouteError):
    """Annotations with no Gateway API equivalent would be dropped, and the user did not confirm it."""

    form_field = "confirm_dropped"


def move_route(route: Route, shown: AsGatewayApi, user: User, *, drops_confirmed: bool) -> Route:
    """Move the Ingress route to ``shown.gateway`` as ``shown`` (``to_gateway_api.as_gateway_api``) showed it,
    or raise a RouteError and change nothing (the Ingress serving, the row as it was)."""
    if shown.dropped and not drops_confirmed:
        raise DropsNotConfirmed(
            _("Confirm that the annotations with no Gateway API equivalent are dropped: %(keys)s.")
            % {"keys": ", ".join(c.key for c in shown.dropped)}
        )
    gateway = shown.gateway
    backends, _notes = gateway_backends(route.backends())
    values = RouteValues(
        gateway=gateway,
        host=route.host,
        protocol=route.protocol,
        tls_secret="",
        backends=backends,
        annotations=shown.becomes,
        tls_source=manifest.TLS_FROM_SECRET,
        switch_to=shown.kind,
    )
    return save_route(route, values, user, accepted=_until_accepted(gateway), action=AuditEntry.Action.MOVE)


def _until_accepted(gateway: Gateway) -> _Waiter:
    return _Waiter(gateway, settings.MOVE_ACCEPT_SECONDS)


class _Waiter:
    """Polls the new object until the Gateway's controller accepts it (returns) or does not (NotAccepted)."""

    def __init__(self, gateway: Gateway, seconds: float) -> None:
        self.gateway = gateway
        self.seconds = seconds

    def __call__(self, client: KubeClient, applied: Manifest) -> None:
        kind = str(applied.get("kind", ""))
        metadata = applied.get("metadata") or {}
        namespace, name = str(metadata.get("namespace", "")), str(metadata.get("name", ""))
        deadline = time.monotonic() + self.seconds
        while True:
            verdict = accepted(parent_statuses(client.get_route_object(kind, namespace, name)), self.gateway)
            if verdict is True:
                return
            if isinstance(verdict, ParentStatus):
                raise NotAccepted(_rejected(kind, name, self.gateway, verdict))
            left = deadline - time.monotonic()
            if left <= 0:
                raise NotAccepted(
                    _(
                        "No controller of Gateway %(gateway)s accepted %(kind)s %(name)s within %(seconds)s "
                        "seconds, so it was deleted again: Ingress %(name)s still serves the route."
                    )
                    % {"gateway": self.gateway.name, "kind": kind, "name": name, "seconds": f"{self.seconds:g}"}
                )
            time.sleep(min(POLL_SECONDS, left))


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
