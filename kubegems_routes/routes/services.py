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
from kubegems_routes.kube.client import KubeClient, Manifest
from kubegems_routes.kube.errors import AlreadyExists, Conflict, Invalid, KubeError, NotFound
from kubegems_routes.lib.hosts import is_random_host_of, random_host
from kubegems_routes.routes import cluster_reads, drift, manifest
from kubegems_routes.routes.claims import claim_for_route
from kubegems_routes.routes.errors import (
    ClusterUnavailable,
    FieldProblem,
    HostNotAllowed,
    HostTaken,
    IngressMissing,
    KindSwitch,
    NameTaken,
    NotImportable,
    RefusedByCluster,
    RouteError,
    StaleEdit,
)
from kubegems_routes.routes.models import AuditEntry, Route, RoutePath
from kubegems_routes.routes.ownership import HostConflict, route_conflicts
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
    route.tls_secret = values.tls_secret if manifest.needs_tls(values.protocol) else ""
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
    """
    creating = route.pk is None
    client = route.environment.cluster.client()
    namespace = route.environment.namespace
    host = values.host or _host_for(values.gateway, suggested_host)
    refusal = host_refusal(values.gateway, route.environment.project.tenant_id, host)
    if refusal:
        raise HostNotAllowed(refusal)
    values = dataclasses.replace(values, host=host)
    body: Manifest = {}
    applied_in_cluster = False
    previous = None if creating else _previous_spec(route)
    try:
        with transaction.atomic():
            _store(route, values, user)
            spec = route.spec(port_numbers(route.environment, values.gateway, values.backends))
            _check_host(route, spec, replacing=not creating)
            body = manifest.build(spec)
            if creating:
                applied = client.create_route_object(spec.kind, namespace, body)
            else:
                if previous is not None and previous.kind != spec.kind:
                    raise KindSwitch(
                        _(
                            "A route cannot move between an ingress class and a Gateway API gateway yet: "
                            "create a new route on the other gateway, then delete this one."
                        )
                    )
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
                    if previous is not None:
                        _put_back(client, route.name, previous, written)
                    raise
            _record(route, applied, AuditEntry.Action.CREATE if creating else AuditEntry.Action.UPDATE, user, body)
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
    Route.objects.filter(pk=route.pk).update(
        resource_version=route.resource_version, applied_gateway_annotations=route.applied_gateway_annotations
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
    gateway = Gateway.objects.for_environment(environment).filter(ingress_class=ingress_class).first()
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
    # Keep only what differs from the gateway's defaults and the protocol's own:
    # the rest comes back by itself when the route is built.
    base = {**gateway.annotation_dict(), **generated}
    return RouteValues(
        gateway=gateway,
        host=rules[0].get("host", ""),
        protocol=protocol,
        tls_secret=(tls[0].get("secretName") or "") if tls else "",
        backends=tuple(backends),
        annotations={k: v for k, v in annotations.items() if base.get(k) != v},
    )


def take_over(route: Route, user: User) -> None:
    """Make the route what the cluster holds (after an edit outside the console), and label it as ours."""
    _adopt(route, user, AuditEntry.Action.TAKE_OVER)


def import_ingress(environment: Environment, name: str, user: User) -> Route:
    """Turn an Ingress the console did not create into a route."""
    route = Route(environment=environment, name=name)
    _adopt(route, user, AuditEntry.Action.IMPORT)
    return route


def _adopt(route: Route, user: User, action: str) -> None:
    if route.pk is not None and route.gateway.is_gateway_api:
        raise NotImportable(_("Taking over the cluster's version of a Gateway API route is not offered yet."))
    client = route.environment.cluster.client()
    namespace = route.environment.namespace
    with _cluster_errors("adopting an Ingress"):
        try:
            live = client.get_ingress(namespace, route.name)
        except NotFound as exc:
            raise IngressMissing(_("There is no Ingress %(name)s in this namespace.") % {"name": route.name}) from exc
        values = values_from_ingress(live, route.environment)
        with transaction.atomic():
            _store(route, values, user)
            body = manifest.build_ingress(route.spec())
            body["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"]
            applied = client.replace_ingress(namespace, route.name, body)
            _record(route, applied, action, user, body)
