"""Save a route to the database and the cluster together, or not at all.

The database writes happen inside a transaction and the cluster call comes last inside it: if the API
server refuses, the transaction rolls back; if the commit fails after the cluster accepted, the cluster
change is undone. Failures reach the caller as the route errors of ``routes.errors``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _

from kubegems_routes.gateways.domains import host_refusal
from kubegems_routes.kube.client import KubeClient, Manifest
from kubegems_routes.kube.errors import KubeError
from kubegems_routes.routes import drift, manifest, refusals
from kubegems_routes.routes.attachment import attachment_refusal
from kubegems_routes.routes.claims import claim_for_route
from kubegems_routes.routes.errors import (
    CertificateConflict,
    FieldProblem,
    HostNotAllowed,
    HostTaken,
    NotAdmitted,
    RouteError,
)
from kubegems_routes.routes.history import record_version
from kubegems_routes.routes.host_choice import host_for
from kubegems_routes.routes.models import AuditEntry, Route, RoutePath
from kubegems_routes.routes.ownership import HostConflict, route_conflicts
from kubegems_routes.routes.ports import port_numbers, resolved_spec
from kubegems_routes.routes.switch import Switch, delete_replaced, planned, taken_back
from kubegems_routes.routes.tls import certificate_conflict, secrets_of
from kubegems_routes.routes.unavailable import cluster_errors
from kubegems_routes.routes.values import RouteValues
from kubegems_routes.tenancy.models import Environment

logger = logging.getLogger(__name__)


def save_route(
    route: Route,
    values: RouteValues,
    user: User,
    *,
    suggested_host: str = "",
    resource_version: str = "",
    reverting_to: int | None = None,
    moved_in: MovedIn | None = None,
    action: str = "",
) -> Route:
    """Create (``route.pk`` unset) or update the route and its object, or raise a RouteError and change nothing.

    An update carries ``resource_version``, the object's version the edit started from: if anyone changed
    it since, the API server refuses (StaleEdit). An update that changes the kind of the route's object is
    a switch the user confirmed (``values.switch_to``; see ``routes.switch``). ``reverting_to`` is the
    version (``routes.history``) a revert restores: the save is recorded as a revert to it.

    ``moved_in`` is the last step of a move to Gateway API (``routes.move``): the switch's new object already
    exists, created and accepted before this save; it is kept as it is (or, should the route's values now
    build another object, replaced at the version read) rather than created.
    ``action`` is the audit entry's, when not the save's own.
    """
    values = checked(route, values, suggested_host)
    previous = None if route.pk is None else _previous_spec(route)
    switch = planned(route.name, previous, values)
    save = _Save(
        route,
        values,
        user,
        previous,
        switch,
        resource_version,
        reverting_to=reverting_to,
        moved_in=moved_in,
        action=action,
    )
    try:
        with taken_back(save.client, route.name, save.switch), transaction.atomic():
            save.run()
    except BaseException as exc:
        save.taken_back(exc)
        if isinstance(exc, refusals.Failure):
            raise save.refusal(exc) from exc
        raise
    return route


def checked(route: Route, values: RouteValues, suggested_host: str) -> RouteValues:
    """The values with their host chosen, once the checks that need no write pass (a save's, and a review's)."""
    host = values.host or host_for(values.gateway, suggested_host)
    refusal = host_refusal(values.gateway, route.environment.project.tenant_id, host)
    if refusal:
        raise HostNotAllowed(refusal)
    if values.uses_certificate:
        conflict = certificate_conflict(route, secrets_of(route.environment))
        if conflict:
            raise CertificateConflict(conflict)
    _check_attachment(route.environment, values)
    return dataclasses.replace(values, host=host)


@dataclasses.dataclass(frozen=True)
class MovedIn:
    """A move's new object, created and accepted before the save that ends the move (``routes.move``)."""

    applied: Manifest  # as last read: the save replaces it at this version
    claim: Callable[[], None]  # first in the save's transaction: takes the move's row, or raises a RouteError


@dataclasses.dataclass
class _Save:
    """One save's steps, and how far it got (what a failure must take back)."""

    route: Route
    values: RouteValues
    user: User
    previous: manifest.RouteSpec | None  # the route as stored before an edit; None when creating
    switch: Switch | None
    resource_version: str
    creating: bool = dataclasses.field(init=False)
    body: Manifest = dataclasses.field(default_factory=dict)
    applied: bool = False  # the cluster holds the new object
    reverting_to: int | None = None  # the version a revert restores
    moved_in: MovedIn | None = None  # a move's new object, already created
    action: str = ""  # the audit entry's action, when not the save's own

    def __post_init__(self) -> None:
        self.creating = self.route.pk is None
        self.client: KubeClient = self.route.environment.cluster.client()
        self.namespace = self.route.environment.namespace

    def run(self) -> None:
        """Inside the transaction: the rows, the host checks, the write, the check after it, the audit entry."""
        route, values = self.route, self.values
        if self.moved_in is not None:
            self.moved_in.claim()
        store(route, values, self.user)
        spec = route.spec(port_numbers(route.environment, values.gateway, values.backends))
        _check_host(route, values, spec, replacing=not self.creating)
        self.body = manifest.build(spec)
        applied = self._write(spec)
        self.applied = True
        previous = self.previous
        if previous is None or (previous.host, previous.host_scope) != (spec.host, spec.host_scope):
            self._check_host_again(spec, str(applied.get("metadata", {}).get("resourceVersion", "")))
        if self.switch is not None:
            delete_replaced(self.client, route.name, self.switch, self._edit_version)
        record(route, applied, self._action, self.user, self.body, reverted_to=self.reverting_to)

    def _write(self, spec: manifest.RouteSpec) -> Manifest:
        if self.switch is not None and self.moved_in is not None:
            self.switch.created = True  # a failure from here on deletes it again
            moved = self.moved_in.applied
            if drift.managed_view(self.body) == drift.managed_view(moved):
                return moved  # as created and accepted: no write, so no race with the controller's status writes
            self.body["metadata"]["resourceVersion"] = moved["metadata"]["resourceVersion"]
            return self.client.replace_route_object(spec.kind, self.namespace, self.route.name, self.body)
        if self.creating or self.switch is not None:
            applied = self.client.create_route_object(spec.kind, self.namespace, self.body)
            if self.switch is not None:
                self.switch.created = True
            return applied
        self.body["metadata"]["resourceVersion"] = self._edit_version
        return self.client.replace_route_object(spec.kind, self.namespace, self.route.name, self.body)

    def _check_host_again(self, spec: manifest.RouteSpec, written: str) -> None:
        """Once the cache has seen this write: an object written by others a moment before ours is found,
        and ours is taken back (deleted by ``taken_back``, or put back as it was)."""
        try:
            _check_host(self.route, self.values, spec, written=written)
        except HostTaken:
            if self.previous is not None and self.switch is None:
                _put_back(self.client, self.route.name, self.previous, written)
            raise
        except KubeError as exc:
            # The write is in; the cluster stopped answering before it could be checked again. Rolling the
            # row back would leave the object in the cluster with no route (nor could it be taken back now):
            # keep both. The database claim still guards the host against other console saves; only a
            # kubectl write in this instant goes unseen.
            logger.warning(
                "saved %s %s/%s, but its host could not be checked again after the write: %s",
                spec.kind,
                self.namespace,
                self.route.name,
                exc.message,
            )

    @property
    def _edit_version(self) -> str:
        return self.resource_version or self.route.resource_version

    @property
    def _action(self) -> str:
        if self.action:
            return self.action
        if self.reverting_to is not None:
            return AuditEntry.Action.REVERT
        if self.switch is not None:
            return AuditEntry.Action.SWITCH
        return AuditEntry.Action.CREATE if self.creating else AuditEntry.Action.UPDATE

    def taken_back(self, exc: BaseException) -> None:
        """The transaction rolled back: a new route was never stored, and an object created for it goes.

        A cluster failure leaves it be (the cluster is not answering; a later save or re-apply mends it)."""
        if not self.creating:
            return
        self.route.pk = None
        if self.applied and not isinstance(exc, KubeError):
            self.client.delete_route_object(self.values.kind, self.namespace, self.route.name)

    def refusal(self, exc: refusals.Failure) -> RouteError:
        return refusals.save_refusal(
            exc,
            name=self.route.name,
            namespace=self.namespace,
            backends=self.values.backends,
            protocol=self.values.protocol,
            stale_diff=lambda: _stale_diff(self.client, self.namespace, self.route.name, self.body),
        )


def store(route: Route, values: RouteValues, user: User) -> None:
    """Write the route's row and its path rows (inside the caller's transaction)."""
    route.gateway = values.gateway
    route.host = values.host
    route.protocol = values.protocol
    route.tls_source = manifest.TLS_FROM_CERT_MANAGER if values.uses_certificate else manifest.TLS_FROM_SECRET
    route.tls_secret = manifest.tls_secret_for(route.name, values.protocol, route.tls_source, values.tls_secret)
    route.annotations = dict(values.annotations)
    if values.kept is not None:
        route.kept = dict(values.kept)
    route.updated_by = user
    creating = route.pk is None
    if creating:
        route.created_by = user
    route.save()
    if not creating:  # a route inserted just now has no path rows yet
        route.paths.all().delete()
    RoutePath.objects.bulk_create(RoutePath.from_backend(route, i, b) for i, b in enumerate(values.backends))


def _previous_spec(route: Route) -> manifest.RouteSpec:
    """The route as stored, before this edit (the form has already put the new values on ``route``)."""
    stored = Route.objects.get(pk=route.pk)
    try:
        return resolved_spec(stored)
    except (KubeError, manifest.UnresolvedPort):
        return stored.spec()  # put back only if its ports still resolve (_put_back)


def _check_attachment(environment: Environment, values: RouteValues) -> None:
    """On a Gateway API gateway: the Gateway exists and its listener admits this namespace and kind."""
    parent = values.gateway.parent()
    if parent is None:
        return
    with cluster_errors("reading the Gateway"):
        refusal = attachment_refusal(environment, parent, values.protocol)
    if refusal:
        raise NotAdmitted(refusal)


def _check_host(
    route: Route, values: RouteValues, spec: manifest.RouteSpec, *, replacing: bool = False, written: str = ""
) -> None:
    """Refuse a host another tenant holds: by the database claim (two console saves racing), and by the
    cluster's objects (written by anyone; ``written`` is this save's own write, for the check after it)."""
    if not written and not claim_for_route(route, spec.host_scope, spec.host, replacing=replacing):
        raise _host_taken(route, values, [HostConflict(spec.host, "", "")])
    conflicts = route_conflicts(route.environment, spec, route.name, written=written)
    if conflicts:
        raise _host_taken(route, values, conflicts)


class _TakenBack(Exception):
    pass


def check_host_and_take_back(route: Route, values: RouteValues, spec: manifest.RouteSpec) -> None:
    """A save's host checks (the database claim and the cluster's objects), their writes rolled back: for a
    review, which writes nothing. Raises HostTaken as the save would."""
    try:
        with transaction.atomic():
            _check_host(route, values, spec, replacing=route.pk is not None)
            raise _TakenBack
    except _TakenBack:
        pass


def _host_taken(route: Route, values: RouteValues, conflicts: list[HostConflict]) -> HostTaken:
    """Each path the same tenant serves already on its row; another tenant's host on the host field, naming
    the host asked for, never theirs nor where it lives."""
    problems = []
    for conflict in conflicts:
        if not conflict.path:
            message = _("Host %(host)s is already served on this gateway for another tenant.") % {"host": route.host}
            problems.append(FieldProblem("host", message))
            break
        message = _("%(host)s%(path)s is already served by Ingress %(ns)s/%(name)s.") % {
            "host": conflict.host,
            "path": conflict.path,
            "ns": conflict.namespace,
            "name": conflict.ingress,
        }
        row = next(i for i, b in enumerate(values.backends) if b.path == conflict.path)
        problems.append(FieldProblem("path", message, row))
    return HostTaken(_("The host is already served on this gateway."), on_fields=problems)


def _put_back(client: KubeClient, name: str, previous: manifest.RouteSpec, written: str) -> None:
    """An edit whose new host turned out to be taken: the object gets the route's previous version again."""
    try:
        body = manifest.build(previous)
        body["metadata"]["resourceVersion"] = written
        client.replace_route_object(previous.kind, previous.namespace, name, body)
    except (KubeError, manifest.UnresolvedPort) as exc:  # the pages show the drift; the row keeps the previous version
        logger.warning("putting back %s %s/%s failed: %s", previous.kind, previous.namespace, name, exc)


def record(
    route: Route, applied: Manifest, action: str, user: User | None, body: Manifest, *, reverted_to: int | None = None
) -> None:
    """What the cluster now holds for the route (its version, the gateway defaults it got), the audit entry,
    and the route's new version for its History."""
    route.resource_version = applied.get("metadata", {}).get("resourceVersion", "")
    route.applied_gateway_annotations = route.gateway.annotation_dict()
    route.applied_cluster_issuer = route.gateway.cluster_issuer if route.uses_certificate else ""
    Route.objects.filter(pk=route.pk).update(
        resource_version=route.resource_version,
        applied_gateway_annotations=route.applied_gateway_annotations,
        applied_cluster_issuer=route.applied_cluster_issuer,
    )
    AuditEntry.objects.create(
        environment=route.environment, route_name=route.name, action=action, user=user, manifest=body
    )
    record_version(route, action, user, body, reverted_to=reverted_to)


def _stale_diff(client: KubeClient, namespace: str, name: str, body: Manifest) -> str:
    """How the object differs from what the user was about to apply ('' when it is gone)."""
    if not body:
        return ""
    try:
        live = client.get_route_object(body["kind"], namespace, name)
    except KubeError:
        return ""
    return drift.diff(body, live, _("your edit"), _("the cluster now"))
