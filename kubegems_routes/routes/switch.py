"""A confirmed change of a route's kind of object (Ingress, HTTPRoute, GRPCRoute): create, then delete.

The new object is created first, then the old one deleted at the version the edit started from. If the
create fails nothing changed; if the delete fails the new object is deleted again, so the cluster holds
the old object only, never both and never neither.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass

from django.utils.translation import gettext as _

from kubegems_routes.kube.client import KubeClient
from kubegems_routes.kube.errors import Conflict, KubeError
from kubegems_routes.routes import drift, manifest
from kubegems_routes.routes.errors import KindSwitch, StaleEdit, SwitchFailed
from kubegems_routes.routes.values import RouteValues

logger = logging.getLogger(__name__)


def switch_refusal(name: str, old_kind: str, new_kind: str) -> str:
    """Why an unconfirmed switch of kind is refused, in the user's words."""
    return _(
        "On this gateway the route becomes %(new)s %(name)s: saving deletes %(old)s %(name)s and creates "
        "%(new)s %(name)s. Tick the confirmation to do so."
    ) % {"name": name, "old": old_kind, "new": new_kind}


@dataclass
class Switch:
    """A confirmed change of the route's kind of object, and how far it got in the cluster."""

    previous: manifest.RouteSpec  # the route before the edit: its kind is the object to delete
    new_kind: str
    created: bool = False  # the new object exists
    old_deleted: bool = False


def planned(name: str, previous: manifest.RouteSpec | None, values: RouteValues) -> Switch | None:
    """The switch an edit makes, if any; KindSwitch when the user has not confirmed it."""
    if previous is None or previous.kind == values.kind:
        return None
    if values.switch_to != values.kind:
        raise KindSwitch(switch_refusal(name, previous.kind, values.kind))
    return Switch(previous, values.kind)


@contextlib.contextmanager
def taken_back(client: KubeClient, name: str, switch: Switch | None) -> Iterator[None]:
    """On any failure of a switch (the transaction rolled back: the row keeps the old kind), the cluster
    gets the old object back and loses the new one."""
    try:
        yield
    except BaseException as exc:
        if switch is None or not switch.created:
            raise
        previous = switch.previous
        try:
            if switch.old_deleted:  # only if the commit failed after the delete
                client.create_route_object(previous.kind, previous.namespace, manifest.build(previous))
            client.delete_route_object(switch.new_kind, previous.namespace, name)
        except (KubeError, manifest.UnresolvedPort) as undo:
            logger.error("taking back the switch of %s %s/%s failed: %s", previous.kind, previous.namespace, name, undo)
            raise SwitchFailed(
                _(
                    "The route could not be moved, and the cluster could not be put back as it was: "
                    "%(new)s %(name)s and %(old)s %(name)s may both exist. The route is still %(old)s %(name)s; "
                    "delete %(new)s %(name)s in the cluster."
                )
                % {"name": name, "old": previous.kind, "new": switch.new_kind},
                detail=str(undo),
            ) from exc
        raise


def delete_replaced(client: KubeClient, name: str, switch: Switch, resource_version: str) -> None:
    """The second step of a switch: delete the old object, at the version the edit started from."""
    previous = switch.previous
    words = {"name": name, "old": previous.kind, "new": switch.new_kind}
    try:
        client.delete_route_object(previous.kind, previous.namespace, name, resource_version=resource_version)
    except Conflict as exc:
        raise StaleEdit(
            _(
                "%(old)s %(name)s was changed by someone else (another user or kubectl) since you opened this form, "
                "so it was kept and nothing was saved."
            )
            % words
            + " "
            + _("Review the differences, then reload the route and edit it again."),
            diff=_replaced_diff(client, previous, name),
        ) from exc
    except KubeError as exc:
        logger.warning("deleting %s %s/%s (a switch) failed: %s", previous.kind, previous.namespace, name, exc.message)
        raise SwitchFailed(
            _(
                "The cluster did not delete %(old)s %(name)s, so %(new)s %(name)s was deleted again "
                "and nothing was changed."
            )
            % words,
            detail=exc.message,
        ) from exc
    switch.old_deleted = True


def _replaced_diff(client: KubeClient, previous: manifest.RouteSpec, name: str) -> str:
    try:
        live = client.get_route_object(previous.kind, previous.namespace, name)
        return drift.diff(manifest.build(previous), live, "the route", "the cluster now")
    except (KubeError, manifest.UnresolvedPort):
        return ""
