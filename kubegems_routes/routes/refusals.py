"""Cluster failures of a save, translated into route errors that know their field.

The API server's own words go to ``detail`` (the log and staff), never to tenants.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import IntegrityError
from django.utils.translation import gettext as _

from kubegems_routes.kube.errors import AlreadyExists, Conflict, Forbidden, Invalid, KubeError, NotFound
from kubegems_routes.routes import manifest
from kubegems_routes.routes.errors import (
    ClusterUnavailable,
    FieldProblem,
    IngressMissing,
    NameTaken,
    RefusedByCluster,
    RouteError,
    StaleEdit,
)

logger = logging.getLogger(__name__)

Failure = KubeError | manifest.UnresolvedPort | IntegrityError


def unresolved_port(exc: manifest.UnresolvedPort, backends: tuple[manifest.Backend, ...]) -> RefusedByCluster:
    """A port name the Service does not have, on each path row that names it."""
    return RefusedByCluster(
        port_message(exc),
        on_fields=[
            FieldProblem("port", _("The service has no port of this name."), i)
            for i, b in enumerate(backends)
            if (b.service, b.port) == (exc.service, exc.port)
        ],
    )


def port_message(exc: manifest.UnresolvedPort) -> str:
    return _("Service %(service)s has no port named %(port)s.") % {"service": exc.service, "port": exc.port}


def save_refusal(
    exc: Failure,
    *,
    name: str,
    namespace: str,
    backends: tuple[manifest.Backend, ...],
    stale_diff: Callable[[], str],
    protocol: str = "",
) -> RouteError:
    """What a failed save tells the user; ``stale_diff`` reads how the object differs now (on a conflict only).

    ``protocol`` says which path rows make each rule of a Gateway API object, so a cause lands on its row."""
    if isinstance(exc, manifest.UnresolvedPort):
        return unresolved_port(exc, backends)
    if isinstance(exc, IntegrityError):
        return NameTaken(_("A route with this name already exists in this environment."))
    if isinstance(exc, AlreadyExists):
        return NameTaken(
            _("An object named %(name)s already exists in namespace %(ns)s.") % {"name": name, "ns": namespace}
        )
    if isinstance(exc, Conflict):
        return StaleEdit(
            _(
                "The Ingress was changed by someone else (another user or kubectl) since you opened this form, "
                "so nothing was saved."
            )
            + " "
            + _("Review the differences, then reload the route and edit it again."),
            diff=stale_diff(),
        )
    if isinstance(exc, NotFound):
        return IngressMissing(
            _("The route's Ingress no longer exists in the cluster, so nothing was saved. Re-apply the route first.")
        )
    if isinstance(exc, Invalid):
        rules = manifest.rule_rows(protocol, backends)
        return RefusedByCluster(
            _("The cluster refused the route: %(msg)s") % {"msg": exc.message},
            on_fields=[
                FieldProblem(found[0], cause.message or exc.message, found[1])
                for cause in exc.causes
                if (found := manifest.route_field(cause.field, rules)) is not None
            ],
        )
    if isinstance(exc, Forbidden):
        # The console's identity lacks a permission here (deploy/environment not applied in this namespace, or
        # weakened): trying again will not help, the platform team's grant will.
        logger.warning("saving route %s/%s was forbidden: %s", namespace, name, exc.message)
        return ClusterUnavailable(
            _(
                "The console is not allowed to change routes in namespace %(ns)s, so nothing was changed. "
                "Ask your platform team to grant it this namespace."
            )
            % {"ns": namespace},
            detail=exc.message,
        )
    logger.warning("saving route %s/%s failed: %s", namespace, name, exc.message)
    return ClusterUnavailable(
        _("The cluster could not save the route; nothing was changed. Try again in a moment."), detail=exc.message
    )
