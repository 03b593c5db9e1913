"""Save routes to the database and the cluster together, or not at all.

The services take plain values (a route and what it should become) and raise
the errors of ``routes.errors``; the views put those on the form. The database
writes happen inside a transaction and the cluster call comes last inside it:
if the API server refuses, the transaction rolls back; if the commit fails
after the cluster accepted, the cluster change is undone.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from kubegems_routes.gateways.domains import host_refusal
from kubegems_routes.gateways.models import Gateway
from kubegems_routes.kube.client import GATEWAY_ROUTE_KINDS, KubeClient, Manifest
from kubegems_routes.kube.errors import AlreadyExists, Conflict, Invalid, KubeError, NotFound
from kubegems_routes.lib.hosts import is_random_host_of, random_host
from kubegems_routes.routes import cluster_reads, drift, manifest
from kubegems_routes.routes.attachment import attachment_refusal
from kubegems_routes.routes.claims import claim_for_route
from kubegems_routes.routes.errors import (
    CertificateConflict,
    ClusterUnavailable,
    FieldProblem,
    HostNotAllowed,
    HostTaken,
    IngressMissing,
    KindSwitch,
    NameTaken,
    NotAdmitted,
    NotImportable,
    RefusedByCluster,
    RouteError,
    StaleEdit,
    SwitchFailed,
)
from kubegems_routes.routes.models import AuditEntry, Route, RoutePath
from kubegems_routes.routes.ownership import HostConflict, route_conflicts
from kubegems_routes.routes.tls import certificate_conflict, secrets_of
from kubegems_routes.tenancy.models import Environment

logger = logging.getLogger(__name__)

RANDOM_HOST_TRIES = 20


@dataclass(frozen=True)
class RouteValues:
    """What a route should become: validated values, no form and no request."""

    gateway: Gateway
    host: str  # empty: a random host from the gateway's default domain
    protocol: str
    tls_secret: str
    backends: tuple[manifest.Backend, ...]
    annotations: dict[str, str] = field(default_factory=dict)
    tls_source: str = manifest.TLS_FROM_SECRET
    # The kind of object (HTTPRoute, ...) the user confirmed the route's object may be replaced by, when an
    # edit changes it: without it, an edit that turns an Ingress into an HTTPRoute is refused (KindSwitch).
    switch_to: str = ""

    @property
    def kind(self) -> str:
        return manifest.object_kind(self.protocol, gateway_api=self.gateway.is_gateway_api)


def unique_random_host(gateway: Gateway) -> str:
    """A random host from the gateway's default domain that no route uses yet."""
    for _attempt in range(RANDOM_HOST_TRIES):
        host = random_host(gateway.default_domain)
        if not Route.objects.filter(host=host).exists():
            return host
    raise RuntimeError(f"no free random host in {gateway.default_domain} after {RANDOM_HOST_TRIES} tries")


def _host_for(gateway: Gateway, suggested_host: str) -> str:
    """The random host the preview showed, if it is still free; else a new random one."""
    if (
        suggested_host
        and is_random_host_of(suggested_host, gateway.default_domain)
        and not Route.objects.filter(host=suggested_host).exists()
    ):
        return suggested_host
    return unique_random_host(gateway)


@contextlib.contextmanager
def _cluster_errors(what: str) -> Iterator[None]:
    """Any other cluster failure, in words for tenants; the API server's own text goes to the log."""
    try:
        yield
    except KubeError as exc:
        logger.warning("cluster call failed while %s: %s", what, exc.message)
        raise ClusterUnavailable(
            _("The cluster cannot be reached or did not answer; nothing was changed. Try again in a moment."),
            detail=exc.message,
        ) from exc


def port_numbers(
    environment: Environment, gateway: Gateway, backends: tuple[manifest.Backend, ...]
) -> dict[tuple[str, str], int]:
    """Port names of the backends' Services, resolved to numbers: a Gateway API gateway's backendRefs take numbers.

    Empty for an ingress-class gateway, or when every port is a number (no cluster call then).
    """
    if not needs_port_numbers(gateway, backends):
        return {}
    return service_port_numbers(environment)


def needs_port_numbers(gateway: Gateway, backends: tuple[manifest.Backend, ...]) -> bool:
    return gateway.is_gateway_api and not all(b.port.isdigit() for b in backends)


def service_port_numbers(environment: Environment) -> dict[tuple[str, str], int]:
    """(service, port name) -> number for every named port of the environment's Services (one read)."""
    return {
        (service.name, port.name): port.port
        for service in cluster_reads.services(environment)
        for port in service.ports
        if port.name
    }


def route_port_numbers(route: Route) -> dict[tuple[str, str], int]:
    """``port_numbers`` for a stored route (may call the cluster; none for an ingress-class gateway)."""
    return port_numbers(route.environment, route.gateway, route.backends())


def resolved_spec(route: Route) -> manifest.RouteSpec:
    """The route's spec with its port names resolved when its gateway needs numbers (may call the cluster)."""
    return route.spec(route_port_numbers(route))


def expected_manifest(route: Route) -> Manifest:
    """What the cluster should hold for the route; raises KubeError, or UnresolvedPort for a port the Service lost."""
    return manifest.build(resolved_spec(route))


def _store(route: Route, values: RouteValues, user: User) -> None:
    """Write the route's row and its path rows (inside the caller's transaction)."""
    route.gateway = values.gateway
    route.host = values.host
    route.protocol = values.protocol
    certificate = values.tls_source == manifest.TLS_FROM_CERT_MANAGER and manifest.needs_tls(values.protocol)
    route.tls_source = manifest.TLS_FROM_CERT_MANAGER if certificate else manifest.TLS_FROM_SECRET
    route.tls_secret = manifest.tls_secret_for(route.name, values.protocol, route.tls_source, values.tls_secret)
    route.annotations = dict(values.annotations)
    route.updated_by = user
    if route.pk is None:
        route.created_by = user
    route.save()
    route.paths.all().delete()
    RoutePath.objects.bulk_create(RoutePath.from_backend(route, i, b) for i, b in enumerate(values.backends))


def save_route(
    route: Route, values: RouteValues, user: User, *, suggested_host: str = "", resource_version: str = ""
) -> Route:
    """Create (``route.pk`` unset) or update the route and its Ingress, or raise a RouteError and change nothing.

    An update carries ``resource_version``, the Ingress version the edit started
    from: if anyone changed the Ingress since, the API server refuses (StaleEdit).

    An update that changes the kind of the route's object (an ingress-class gateway for a Gateway API
    one, or http for grpc there) is a switch the user confirmed (``values.switch_to``): the new object
    is created first, then the old one deleted (at the version the edit started from). If the create
    fails nothing changed; if the delete fails the new object is deleted again, so the cluster holds
    the old object only, never both and never neither.
    """
    creating = route.pk is None
    client = route.environment.cluster.client()
    namespace = route.environment.namespace
    host = values.host or _host_for(values.gateway, suggested_host)
    refusal = host_refusal(values.gateway, route.environment.project.tenant_id, host)
    if refusal:
        raise HostNotAllowed(refusal)
    if values.tls_source == manifest.TLS_FROM_CERT_MANAGER and manifest.needs_tls(values.protocol):
        conflict = certificate_conflict(route, secrets_of(route.environment))
        if conflict:
            raise CertificateConflict(conflict)
    _check_attachment(route.environment, values)
    values = dataclasses.replace(values, host=host)
    body: Manifest = {}
    applied_in_cluster = False
    previous = None if creating else _previous_spec(route)
    switch = None
    if previous is not None and previous.kind != values.kind:
        if values.switch_to != values.kind:
            raise KindSwitch(switch_refusal(route.name, previous.kind, values.kind))
        switch = _Switch(previous, values.kind)
    try:
        with _switch_taken_back(client, route.name, switch), transaction.atomic():
            _store(route, values, user)
            spec = route.spec(port_numbers(route.environment, values.gateway, values.backends))
            _check_host(route, spec, replacing=not creating)
            body = manifest.build(spec)
            if creating or switch is not None:
                applied = client.create_route_object(spec.kind, namespace, body)
                if switch is not None:
                    switch.created = True
            else:
                body["metadata"]["resourceVersion"] = resource_version or route.resource_version
                applied = client.replace_route_object(spec.kind, namespace, route.name, body)
            applied_in_cluster = True
            if previous is None or (previous.host, previous.host_scope) != (spec.host, spec.host_scope):
                # Again, once the cache has seen this write: an Ingress written by
                # others a moment before ours is found, and ours is taken back
                # (deleted by the handler below, or put back as it was).
                written = str(applied.get("metadata", {}).get("resourceVersion", ""))
                try:
                    _check_host(route, spec, written=written)
                except HostTaken:
                    if previous is not None and switch is None:
                        _put_back(client, route.name, previous, written)
                    raise
                except KubeError as exc:
                    # The write is in; the cluster stopped answering before it could be checked again.
                    # Rolling the row back would leave the object in the cluster with no route (nor could
                    # it be taken back now): keep both. The database claim still guards the host against
                    # other console saves; only a kubectl write in this instant goes unseen.
                    logger.warning(
                        "saved %s %s/%s, but its host could not be checked again after the write: %s",
                        spec.kind,
                        namespace,
                        route.name,
                        exc.message,
                    )
            if switch is not None:
                _delete_replaced(client, route.name, switch, resource_version or route.resource_version)
            action = AuditEntry.Action.CREATE if creating else AuditEntry.Action.UPDATE
            _record(route, applied, AuditEntry.Action.SWITCH if switch is not None else action, user, body)
    except manifest.UnresolvedPort as exc:
        _forget_pk(route, creating)
        raise RefusedByCluster(
            _("Service %(service)s has no port named %(port)s.") % {"service": exc.service, "port": exc.port},
            problems=[
                FieldProblem("port", _("The service has no port of this name."), i)
                for i, b in enumerate(values.backends)
                if (b.service, b.port) == (exc.service, exc.port)
            ],
        ) from exc
    except AlreadyExists as exc:
        _forget_pk(route, creating)
        raise NameTaken(
            _("An object named %(name)s already exists in namespace %(ns)s.") % {"name": route.name, "ns": namespace}
        ) from exc
    except Conflict as exc:
        raise StaleEdit(
            _(
                "The Ingress was changed by someone else (another user or kubectl) since you opened this form, "
                "so nothing was saved."
            ),
            diff=_stale_diff(client, namespace, route.name, body),
        ) from exc
    except NotFound as exc:
        raise IngressMissing(
            _("The route's Ingress no longer exists in the cluster, so nothing was saved. Re-apply the route first.")
        ) from exc
    except Invalid as exc:
        _forget_pk(route, creating)
        raise RefusedByCluster(
            _("The cluster refused the route: %(msg)s") % {"msg": exc.message},
            problems=[
                FieldProblem(found[0], cause.message or exc.message, found[1])
                for cause in exc.causes
                if (found := manifest.route_field(cause.field)) is not None
            ],
        ) from exc
    except KubeError as exc:
        _forget_pk(route, creating)
        logger.warning("saving route %s/%s failed: %s", namespace, route.name, exc.message)
        raise ClusterUnavailable(
            _("The cluster could not save the route; nothing was changed. Try again in a moment."),
            detail=exc.message,
        ) from exc
    except IntegrityError as exc:
        _forget_pk(route, creating)
        _undo(client, namespace, route.name, values, creating and applied_in_cluster)
        raise NameTaken(_("A route with this name already exists in this environment.")) from exc
    except BaseException:
        _forget_pk(route, creating)
        _undo(client, namespace, route.name, values, creating and applied_in_cluster)
        raise
    return route


def _previous_spec(route: Route) -> manifest.RouteSpec:
    """The route as stored, before this edit (the form has already put the new values on ``route``)."""
    stored = Route.objects.get(pk=route.pk)
    try:
        return resolved_spec(stored)
    except (KubeError, manifest.UnresolvedPort):
        return stored.spec()  # put back only if its ports still resolve (_put_back)


def switch_refusal(name: str, old_kind: str, new_kind: str) -> str:
    """Why an unconfirmed switch of kind is refused, in the user's words."""
    return _(
        "On this gateway the route becomes %(new)s %(name)s: saving deletes %(old)s %(name)s and creates "
        "%(new)s %(name)s. Tick the confirmation to do so."
    ) % {"name": name, "old": old_kind, "new": new_kind}


@dataclass
class _Switch:
    """A confirmed change of the route's kind of object, and how far it got in the cluster."""

    previous: manifest.RouteSpec  # the route before the edit: its kind is the object to delete
    new_kind: str
    created: bool = False  # the new object exists
    old_deleted: bool = False


@contextlib.contextmanager
def _switch_taken_back(client: KubeClient, name: str, switch: _Switch | None) -> Iterator[None]:
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


def _delete_replaced(client: KubeClient, name: str, switch: _Switch, resource_version: str) -> None:
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
            % words,
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


def _check_attachment(environment: Environment, values: RouteValues) -> None:
    """On a Gateway API gateway: the Gateway exists and its listener admits this namespace and kind."""
    parent = values.gateway.parent()
    if parent is None:
        return
    with _cluster_errors("reading the Gateway"):
        refusal = attachment_refusal(environment, parent, values.protocol)
    if refusal:
        raise NotAdmitted(refusal)


def _check_host(route: Route, spec: manifest.RouteSpec, *, replacing: bool = False, written: str = "") -> None:
    """Refuse a host another tenant holds: by the database claim (two console saves racing), and by the
    cluster's Ingresses (written by anyone; ``written`` is this save's own write, for the check after it)."""
    if not written and not claim_for_route(route, spec.host_scope, spec.host, replacing=replacing):
        raise HostTaken(_("The host is already served on this gateway."), conflicts=[HostConflict(spec.host, "", "")])
    conflicts = route_conflicts(route.environment, spec, route.name, written=written)
    if conflicts:
        raise HostTaken(_("The host is already served on this gateway."), conflicts=conflicts)


def _put_back(client: KubeClient, name: str, previous: manifest.RouteSpec, written: str) -> None:
    """An edit whose new host turned out to be taken: the Ingress gets the route's previous version again."""
    try:
        body = manifest.build(previous)
        body["metadata"]["resourceVersion"] = written
        client.replace_route_object(previous.kind, previous.namespace, name, body)
    except (KubeError, manifest.UnresolvedPort) as exc:  # the pages show the drift; the row keeps the previous version
        logger.warning("putting back %s %s/%s failed: %s", previous.kind, previous.namespace, name, exc)


def _record(route: Route, applied: Manifest, action: str, user: User | None, body: Manifest) -> None:
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


def _stale_diff(client: KubeClient, namespace: str, name: str, body: Manifest) -> str:
    """How the Ingress differs from what the user was about to apply ('' when it is gone)."""
    if not body:
        return ""
    try:
        live = client.get_route_object(body["kind"], namespace, name)
    except KubeError:
        return ""
    return drift.diff(body, live, _("your edit"), _("the cluster now"))


def _undo(client: KubeClient, namespace: str, name: str, values: RouteValues, created: bool) -> None:
    # The cluster accepted an object whose row could not be committed: take it back.
    if created:
        kind = manifest.object_kind(values.protocol, gateway_api=values.gateway.is_gateway_api)
        client.delete_route_object(kind, namespace, name)


def _forget_pk(route: Route, creating: bool) -> None:
    # The transaction rolled back: a new route was never stored.
    if creating:
        route.pk = None


@dataclass(frozen=True)
class EditStart:
    """Where an edit starts: the Ingress version to carry, and how the cluster differs from the route."""

    resource_version: str
    sync: drift.Sync
    diff: str = ""


def start_edit(route: Route) -> EditStart:
    """Read the route's Ingress, so an edit starts from the cluster's current version, never a stale one."""
    client = route.environment.cluster.client()
    try:
        numbers = route_port_numbers(route)
        expected = manifest.build(route.spec(numbers))
        live = client.get_route_object(expected["kind"], route.environment.namespace, route.name)
    except NotFound:
        return EditStart(route.resource_version, drift.Sync.MISSING)
    except (KubeError, manifest.UnresolvedPort) as exc:
        logger.warning("reading route %s/%s failed: %s", route.environment.namespace, route.name, exc)
        return EditStart(route.resource_version, drift.Sync.UNKNOWN)
    sync = drift.Sync(route.sync_with(live, numbers))
    return EditStart(
        live["metadata"]["resourceVersion"],
        sync,
        drift.diff(expected, live, _("the route"), _("the cluster")) if sync == drift.Sync.CHANGED else "",
    )


def delete_route(route: Route, user: User | None = None) -> None:
    """Delete the Ingress (already gone is fine), then the row; a cluster error keeps both."""
    client = route.environment.cluster.client()
    with _cluster_errors("deleting a route"), transaction.atomic():
        AuditEntry.objects.create(
            environment=route.environment, route_name=route.name, action=AuditEntry.Action.DELETE, user=user
        )
        client.delete_route_object(route.spec().kind, route.environment.namespace, route.name)
        route.delete()


def reapply_route(route: Route, user: User, action: str = AuditEntry.Action.REAPPLY) -> None:
    """Make the cluster hold the route again: recreate a deleted Ingress or overwrite an edited one."""
    client = route.environment.cluster.client()
    namespace = route.environment.namespace
    with _cluster_errors("re-applying a route"), transaction.atomic():
        body = expected_manifest(route)
        kind = body["kind"]
        try:
            live = client.get_route_object(kind, namespace, route.name)
        except NotFound:
            applied = client.create_route_object(kind, namespace, body)
        else:
            body["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"]
            applied = client.replace_route_object(kind, namespace, route.name, body)
        _record(route, applied, action, user, body)


@dataclass(frozen=True)
class Reapplied:
    """One route's outcome in a gateway-wide re-apply: ``error`` is empty when its Ingress was applied."""

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
            yield Reapplied(route, exc.message, getattr(exc, "detail", ""))
        else:
            yield Reapplied(route)


def reapply_gateway(gateway: Gateway, user: User) -> list[Reapplied]:
    """Every route of the gateway re-applied (see ``reapplying_gateway``), one outcome per route."""
    return list(reapplying_gateway(gateway, user))


def values_from_ingress(ingress: Manifest, environment: Environment) -> RouteValues:
    """Read an Ingress back into a route's values; NotImportable says what a route cannot express."""
    spec = ingress.get("spec") or {}
    ingress_class = spec.get("ingressClassName") or ""
    gateway = (
        Gateway.objects.for_environment(environment)
        .filter(kind=Gateway.Kind.INGRESS, ingress_class=ingress_class)
        .first()
    )
    if gateway is None:
        raise NotImportable(
            _("Its ingress class %(cls)s is not a gateway of this environment.") % {"cls": ingress_class or "-"}
        )
    rules = spec.get("rules") or []
    if len(rules) != 1 or spec.get("defaultBackend"):
        raise NotImportable(_("A route has exactly one rule and no default backend."))
    backends = []
    for path in (rules[0].get("http") or {}).get("paths") or []:
        service = (path.get("backend") or {}).get("service")
        if not service:
            raise NotImportable(_("Only Service backends can be imported."))
        port = service.get("port") or {}
        backends.append(
            manifest.Backend(
                path=path.get("path", "/"),
                path_type=path.get("pathType", "Prefix"),
                service=service.get("name", ""),
                port=str(port.get("number") or port.get("name") or ""),
            )
        )
    if not backends:
        raise NotImportable(_("The Ingress has no paths."))
    tls = spec.get("tls") or []
    annotations = drift.managed_view(ingress)["annotations"]
    if manifest.WEBSOCKET_SERVICES in annotations:
        protocol = manifest.WSS if tls else manifest.WS
    elif manifest.GRPC_SERVICES in annotations:
        protocol = manifest.GRPC
    else:
        protocol = manifest.HTTPS if tls else manifest.HTTP
    generated = manifest.protocol_annotations(protocol, [b.service for b in backends])
    secret = (tls[0].get("secretName") or "") if tls else ""
    name = str(ingress.get("metadata", {}).get("name", ""))
    # Asking the gateway's ClusterIssuer for a Secret named as the console names it: a route's certificate.
    certificate = bool(
        tls
        and gateway.cluster_issuer
        and annotations.get(manifest.CLUSTER_ISSUER) == gateway.cluster_issuer
        and secret == manifest.certificate_secret_name(name)
    )
    if certificate:
        generated = {**generated, manifest.CLUSTER_ISSUER: gateway.cluster_issuer}
    # Keep only what differs from the gateway's defaults and the protocol's own:
    # the rest comes back by itself when the route is built.
    base = {**gateway.annotation_dict(), **generated}
    return RouteValues(
        gateway=gateway,
        host=rules[0].get("host", ""),
        protocol=protocol,
        tls_secret=secret,
        backends=tuple(backends),
        annotations={k: v for k, v in annotations.items() if base.get(k) != v},
        tls_source=manifest.TLS_FROM_CERT_MANAGER if certificate else manifest.TLS_FROM_SECRET,
    )


def values_from_gateway_route(obj: Manifest, environment: Environment, *, current: Route | None = None) -> RouteValues:
    """Read an HTTPRoute or GRPCRoute back into a route's values; NotImportable says what a route cannot express.

    The gateway is the environment's Gateway API gateway its parentRef names (namespace/name); the
    protocol comes from the kind and the listener (sectionName): grpc for a GRPCRoute, https on the
    gateway's HTTPS listener, http on its HTTP listener. An HTTPRoute does not say whether it carries
    WebSocket: ``current`` (the route being taken over) keeps ws or wss where the listener agrees.
    """
    kind = str(obj.get("kind", ""))
    spec = obj.get("spec") or {}
    namespace = str((obj.get("metadata") or {}).get("namespace") or environment.namespace)
    _refuse_unknown(spec, {"parentRefs", "hostnames", "rules"}, "spec")
    gateway, section = _attached_gateway(spec.get("parentRefs") or [], namespace, environment)
    protocol = _gateway_protocol(kind, gateway, section, current)
    hostnames = spec.get("hostnames") or []
    if len(hostnames) != 1:
        raise NotImportable(_("A route has exactly one host; this one has %(n)s.") % {"n": len(hostnames)})
    backends: list[manifest.Backend] = []
    for i, rule in enumerate(spec.get("rules") or []):
        _refuse_unknown(rule, {"matches", "backendRefs"}, f"spec.rules[{i}]")
        service, port = _service_ref(rule.get("backendRefs") or [], namespace, f"spec.rules[{i}].backendRefs[0]")
        for path, path_type in _rule_paths(kind, rule.get("matches") or [], f"spec.rules[{i}].matches"):
            backends.append(manifest.Backend(path=path, path_type=path_type, service=service, port=port))
    if not backends:
        raise NotImportable(_("It has no rules."))
    annotations = drift.managed_view(obj)["annotations"]
    base = gateway.annotation_dict()  # no protocol annotation in Gateway API
    return RouteValues(
        gateway=gateway,
        host=str(hostnames[0]),
        protocol=protocol,
        tls_secret="",
        backends=tuple(_named_ports(backends, current)),
        annotations={k: v for k, v in annotations.items() if base.get(k) != v},
    )


def _refuse_unknown(part: Manifest, known: set[str], where: str) -> None:
    """Refuse a field the route form has no place for (``where``: the field path of ``part``)."""
    extra = sorted(f"{where}.{k}" for k, v in part.items() if k not in known and v not in (None, [], {}, ""))
    if extra:
        raise NotImportable(_("The route form cannot express %(fields)s.") % {"fields": ", ".join(extra)})


def _attached_gateway(refs: list[Manifest], namespace: str, environment: Environment) -> tuple[Gateway, str]:
    """The environment's gateway the route's only parentRef names, and the listener it attaches to."""
    if len(refs) != 1:
        raise NotImportable(
            _("A route attaches to exactly one Gateway; this one has %(n)s parentRefs.") % {"n": len(refs)}
        )
    ref = refs[0]
    if ref.get("group", manifest.GATEWAY_GROUP) != manifest.GATEWAY_GROUP or ref.get("kind", "Gateway") != "Gateway":
        raise NotImportable(_("Its parent is not a Gateway."))
    if ref.get("port") is not None:
        raise NotImportable(_("The route form cannot express a parentRef's port."))
    gateway_namespace, name = str(ref.get("namespace") or namespace), str(ref.get("name", ""))
    gateway = (
        Gateway.objects.for_environment(environment)
        .filter(kind=Gateway.Kind.GATEWAY_API, gateway_namespace=gateway_namespace, gateway_name=name)
        .first()
    )
    if gateway is None:
        raise NotImportable(
            _("Its Gateway %(gateway)s is not a gateway of this environment.")
            % {"gateway": f"{gateway_namespace}/{name}"}
        )
    return gateway, str(ref.get("sectionName") or "")


def _gateway_protocol(kind: str, gateway: Gateway, section: str, current: Route | None) -> str:
    if kind == manifest.GRPC_ROUTE:
        candidates = [manifest.GRPC]
    elif kind == manifest.HTTP_ROUTE:
        # On a gateway whose two listeners are the same, http and https write the same object.
        candidates = [p for p in manifest.PROTOCOLS if p != manifest.GRPC]
    else:
        raise NotImportable(_("Only HTTPRoutes and GRPCRoutes can be imported."))
    fitting = [p for p in candidates if (gateway.parent() or manifest.GatewayParent("", "")).listener(p) == section]
    if not fitting:
        raise NotImportable(
            _("It attaches to listener %(section)s, which is not the listener gateway %(gateway)s uses for it.")
            % {"section": section or "-", "gateway": gateway.name}
        )
    if current is not None and current.protocol in fitting:
        return current.protocol
    return fitting[0]


def _service_ref(refs: list[Manifest], namespace: str, where: str) -> tuple[str, str]:
    """The only backendRef of a rule: a Service of the route's namespace, by port number."""
    if len(refs) != 1:
        raise NotImportable(
            _("Each rule of a route sends to exactly one Service; one has %(n)s backendRefs.") % {"n": len(refs)}
        )
    ref = refs[0]
    _refuse_unknown(ref, {"group", "kind", "name", "namespace", "port", "weight"}, where)
    if ref.get("group", "") != "" or ref.get("kind", "Service") != "Service":
        raise NotImportable(_("Only Service backends can be imported."))
    if (ref.get("namespace") or namespace) != namespace:
        raise NotImportable(_("Its backend is a Service of another namespace."))
    if ref.get("weight", 1) != 1:
        raise NotImportable(_("The route form cannot express a backend's weight."))
    if ref.get("port") is None:
        raise NotImportable(_("Its backend has no port."))
    return str(ref.get("name", "")), str(ref["port"])


def _rule_paths(kind: str, matches: list[Manifest], where: str) -> list[tuple[str, str]]:
    """(path, path type) of each match of a rule: one path row each (rules match by specificity, not order)."""
    if not matches:
        return [("/", "Prefix")]
    found = []
    for i, match in enumerate(matches):
        if kind == manifest.GRPC_ROUTE:
            _refuse_unknown(match, {"method"}, f"{where}[{i}]")
            method = match.get("method") or {}
            if method.get("type", "Exact") != "Exact" or (method.get("method") and not method.get("service")):
                raise NotImportable(_("The route form expresses gRPC matches by service and method only."))
            parts = [str(p) for p in (method.get("service"), method.get("method")) if p]
            found.append(("/" + "/".join(parts), "Prefix"))
            continue
        _refuse_unknown(match, {"path"}, f"{where}[{i}]")
        path = match.get("path") or {"type": "PathPrefix", "value": "/"}
        path_type = manifest.FORM_PATH_TYPES.get(path.get("type", "PathPrefix"))
        if path_type is None:
            raise NotImportable(
                _("The route form offers Prefix and Exact paths, not %(type)s.") % {"type": path.get("type")}
            )
        found.append((str(path.get("value", "/")), path_type))
    return found


def _named_ports(backends: list[manifest.Backend], current: Route | None) -> list[manifest.Backend]:
    """A take-over keeps a row's port name where the name still means the number the cluster's object holds."""
    if current is None:
        return backends
    names = {(b.service, b.port) for b in current.backends() if not b.port.isdigit()}
    if not names:
        return backends
    try:
        numbers = service_port_numbers(current.environment)
    except KubeError:
        return backends
    by_number = {(svc, str(numbers[svc, name])): name for svc, name in names if (svc, name) in numbers}
    return [dataclasses.replace(b, port=by_number.get((b.service, b.port), b.port)) for b in backends]


def take_over(route: Route, user: User) -> None:
    """Make the route what the cluster holds (after an edit outside the console), and label it as ours."""
    _adopt(route, route.spec().kind, user, AuditEntry.Action.TAKE_OVER)


def import_route(environment: Environment, kind: str, name: str, user: User) -> Route:
    """Turn an Ingress, HTTPRoute or GRPCRoute the console did not create into a route."""
    if kind not in ("Ingress", *GATEWAY_ROUTE_KINDS):
        raise NotImportable(_("Only Ingresses, HTTPRoutes and GRPCRoutes can be imported."))
    route = Route(environment=environment, name=name)
    _adopt(route, kind, user, AuditEntry.Action.IMPORT)
    return route


def _adopt(route: Route, kind: str, user: User, action: str) -> None:
    client = route.environment.cluster.client()
    namespace = route.environment.namespace
    current = route if route.pk is not None else None
    with _cluster_errors("adopting a route's object"):
        try:
            live = client.get_route_object(kind, namespace, route.name)
        except NotFound as exc:
            raise IngressMissing(
                _("There is no %(kind)s %(name)s in this namespace.") % {"kind": kind, "name": route.name}
            ) from exc
        if kind == "Ingress":
            values = values_from_ingress(live, route.environment)
        else:
            values = values_from_gateway_route(live, route.environment, current=current)
        if values.kind != kind:
            raise NotImportable(_("Its gateway would make it another kind of object."))
        with transaction.atomic():
            _store(route, values, user)
            try:
                spec = route.spec(port_numbers(route.environment, values.gateway, values.backends))
            except manifest.UnresolvedPort as exc:
                raise NotImportable(
                    _("Service %(service)s has no port named %(port)s.") % {"service": exc.service, "port": exc.port}
                ) from exc
            body = manifest.build(spec)
            body["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"]
            applied = client.replace_route_object(kind, namespace, route.name, body)
            _record(route, applied, action, user, body)
