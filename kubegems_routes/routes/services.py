"""Save routes to the database and the cluster together, or not at all.

The database writes happen inside a transaction and the cluster call comes
last inside it: if the API server refuses, the transaction rolls back; if the
commit fails after the cluster accepted, the cluster change is undone.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from kubegems_routes.gateways.models import Gateway
from kubegems_routes.kube.client import KubeClient
from kubegems_routes.kube.errors import AlreadyExists, Conflict, Invalid, KubeError, NotFound
from kubegems_routes.lib.validators import is_random_host_of, random_host
from kubegems_routes.routes import drift, manifest
from kubegems_routes.routes.forms import RouteEditor
from kubegems_routes.routes.locks import lock_ingress_class
from kubegems_routes.routes.models import AuditEntry, Route, RoutePath
from kubegems_routes.routes.ownership import HostConflict, find_conflicts, tenants_by_namespace, with_console_claims
from kubegems_routes.tenancy.models import Environment

RANDOM_HOST_TRIES = 20


def unique_random_host(gateway: Gateway) -> str:
    """A random host from the gateway's default domain that no route uses yet."""
    for _attempt in range(RANDOM_HOST_TRIES):
        host = random_host(gateway.default_domain)
        if not Route.objects.filter(host=host).exists():
            return host
    raise RuntimeError(f"no free random host in {gateway.default_domain} after {RANDOM_HOST_TRIES} tries")


def _host_for(gateway: Gateway, fallback_host: str) -> str:
    """The suggested host the preview showed, if it is still free; else a new random one."""
    if (
        fallback_host
        and not Route.objects.filter(host=fallback_host).exists()
        and is_random_host_of(fallback_host, gateway.default_domain)
    ):
        return fallback_host
    return unique_random_host(gateway)


def _save_rows(route: Route, editor: RouteEditor, user: AbstractBaseUser, fallback_host: str) -> manifest.RouteSpec:
    data = editor.form.cleaned_data
    route.gateway = data["gateway"]
    route.host = data["host"] or _host_for(route.gateway, fallback_host)
    route.protocol = data["protocol"]
    route.tls_secret = data["tls_secret"] if manifest.needs_tls(route.protocol) else ""
    route.annotations = editor.cleaned_annotations()
    route.updated_by = user  # type: ignore[assignment]
    if not route.pk:
        route.name = data["name"]
        route.created_by = user  # type: ignore[assignment]
    route.save()
    route.paths.all().delete()
    RoutePath.objects.bulk_create(
        RoutePath(route=route, position=i, path=b.path, path_type=b.path_type, service=b.service, port=b.port)
        for i, b in enumerate(editor.cleaned_backends())
    )
    return route.spec()


def save_route(editor: RouteEditor, user: AbstractBaseUser, *, fallback_host: str = "") -> Route | None:
    """Create or update the route and its Ingress; on failure, errors land on the editor's fields."""
    route = editor.instance
    creating = route.pk is None
    client = route.environment.cluster.client()
    namespace = route.environment.namespace
    applied_in_cluster = False
    try:
        with transaction.atomic():
            spec = _save_rows(route, editor, user, fallback_host)
            # Under the class's lock, with the console's own routes from the
            # database: a host another replica saved a moment ago is seen.
            lock_ingress_class(route.environment.cluster_id, spec.ingress_class)
            conflicts = find_conflicts(
                with_console_claims(
                    client.list_ingresses(cached=True), route.environment, spec.ingress_class, spec.host
                ),
                route.environment,
                spec.ingress_class,
                route.name,
                spec.host,
                [b.path for b in spec.backends],
                tenants_by_namespace(route.environment),
            )
            if conflicts:
                raise _HostTaken(conflicts)
            body = manifest.build_ingress(spec)
            if creating:
                applied = client.create_ingress(namespace, body)
            else:
                # Optimistic concurrency: the version the user started editing
                # from; if anyone changed the Ingress since, the API server says 409.
                body["metadata"]["resourceVersion"] = (
                    editor.form.cleaned_data.get("resource_version") or route.resource_version
                )
                applied = client.replace_ingress(namespace, route.name, body)
            applied_in_cluster = True
            _record(route, applied, AuditEntry.Action.CREATE if creating else AuditEntry.Action.UPDATE, user, body)
    except _HostTaken as taken:
        _forget_pk(route, creating)
        _report_conflicts(editor, taken.conflicts)
        return None
    except AlreadyExists:
        _forget_pk(route, creating)
        editor.form.add_error(
            "name",
            _("An Ingress named %(name)s already exists in namespace %(ns)s.") % {"name": route.name, "ns": namespace},
        )
        return None
    except Conflict:
        _report_stale_edit(editor, client, namespace, route.name, body)
        return None
    except Invalid as exc:
        _forget_pk(route, creating)
        editor.add_cluster_errors(exc.causes, _("The cluster refused the route: %(msg)s") % {"msg": exc.message})
        return None
    except KubeError as exc:
        _forget_pk(route, creating)
        editor.form.add_error(None, _("The cluster could not save the route: %(msg)s") % {"msg": exc.message})
        return None
    except IntegrityError:
        _forget_pk(route, creating)
        _undo(client, namespace, route.name, creating and applied_in_cluster)
        editor.form.add_error("name", _("A route with this name already exists in this environment."))
        return None
    except BaseException:
        _undo(client, namespace, route.name, creating and applied_in_cluster)
        raise
    return route


def _record(
    route: Route, applied: manifest.Manifest, action: str, user: AbstractBaseUser | None, body: manifest.Manifest
) -> None:
    route.resource_version = applied.get("metadata", {}).get("resourceVersion", "")
    Route.objects.filter(pk=route.pk).update(resource_version=route.resource_version)
    AuditEntry.objects.create(
        environment=route.environment, route_name=route.name, action=action, user=user, manifest=body
    )


def _report_stale_edit(
    editor: RouteEditor, client: KubeClient, namespace: str, name: str, body: manifest.Manifest
) -> None:
    """Nothing was overwritten; show the user how the Ingress differs from what they were about to apply."""
    try:
        live: manifest.Manifest | None = client.get_ingress(namespace, name)
    except KubeError:
        live = None
    editor.form.add_error(
        None,
        _(
            "The Ingress was changed by someone else (another user or kubectl) since you opened this form, "
            "so nothing was saved. Review the differences, then reload the route and edit it again."
        ),
    )
    editor.conflict_diff = (
        drift.diff(body, live, "your edit", "the cluster now") if live else _("The Ingress was deleted meanwhile.")
    )


def _undo(client: KubeClient, namespace: str, name: str, created: bool) -> None:
    # The cluster accepted an Ingress whose row could not be committed: take it back.
    if created:
        client.delete_ingress(namespace, name)


class _HostTaken(Exception):
    def __init__(self, conflicts: list[HostConflict]) -> None:
        super().__init__("host taken")
        self.conflicts = conflicts


def _report_conflicts(editor: RouteEditor, conflicts: list[HostConflict]) -> None:
    for conflict in conflicts:
        if not conflict.path:
            # Another tenant's Ingress: name the host, not where it lives.
            editor.form.add_error(
                "host",
                _("Host %(host)s is already served on this gateway for another tenant.") % {"host": conflict.host},
            )
            return
        for row in editor.paths.forms:
            if row.cleaned_data.get("path") == conflict.path:
                row.add_error(
                    "path",
                    _("%(host)s%(path)s is already served by Ingress %(ns)s/%(name)s.")
                    % {
                        "host": conflict.host,
                        "path": conflict.path,
                        "ns": conflict.namespace,
                        "name": conflict.ingress,
                    },
                )


def _forget_pk(route: Route, creating: bool) -> None:
    # The transaction rolled back: a new route was never stored.
    if creating:
        route.pk = None
        route.id = None  # type: ignore[assignment]


def delete_route(route: Route, user: AbstractBaseUser | None = None) -> None:
    """Delete the Ingress (already gone is fine), then the row; a cluster error keeps both."""
    client = route.environment.cluster.client()
    with transaction.atomic():
        AuditEntry.objects.create(
            environment=route.environment, route_name=route.name, action=AuditEntry.Action.DELETE, user=user
        )
        client.delete_ingress(route.environment.namespace, route.name)
        route.delete()


def reapply_route(route: Route, user: AbstractBaseUser) -> None:
    """Make the cluster hold the route again: recreate a deleted Ingress or overwrite an edited one."""
    client = route.environment.cluster.client()
    namespace = route.environment.namespace
    body = manifest.build_ingress(route.spec())
    with transaction.atomic():
        try:
            live = client.get_ingress(namespace, route.name)
        except NotFound:
            applied = client.create_ingress(namespace, body)
        else:
            body["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"]
            applied = client.replace_ingress(namespace, route.name, body)
        _record(route, applied, AuditEntry.Action.REAPPLY, user, body)


class NotImportable(Exception):
    """The Ingress uses something a route cannot express; the message says what."""


def route_fields_from_ingress(
    ingress: manifest.Manifest, environment: Environment
) -> tuple[Gateway, dict[str, str], tuple[manifest.Backend, ...], dict[str, str]]:
    """Read an Ingress back into a route's fields: gateway, scalar fields, backends, own annotations."""
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
    own = {k: v for k, v in annotations.items() if base.get(k) != v}
    fields = {
        "host": rules[0].get("host", ""),
        "protocol": protocol,
        "tls_secret": (tls[0].get("secretName") or "") if tls else "",
    }
    return gateway, fields, tuple(backends), own


def _store_fields(
    route: Route,
    gateway: Gateway,
    fields: dict[str, str],
    backends: tuple[manifest.Backend, ...],
    annotations: dict[str, str],
    user: AbstractBaseUser,
) -> None:
    route.gateway = gateway
    route.host = fields["host"]
    route.protocol = fields["protocol"]
    route.tls_secret = fields["tls_secret"]
    route.annotations = annotations
    route.updated_by = user  # type: ignore[assignment]
    if route.pk is None:
        route.created_by = user  # type: ignore[assignment]
    route.save()
    route.paths.all().delete()
    RoutePath.objects.bulk_create(
        RoutePath(route=route, position=i, path=b.path, path_type=b.path_type, service=b.service, port=b.port)
        for i, b in enumerate(backends)
    )


def take_over(route: Route, user: AbstractBaseUser) -> None:
    """Make the route what the cluster holds (after an edit outside the console), and label it as ours."""
    _adopt(route, user, AuditEntry.Action.TAKE_OVER)


def import_ingress(environment: Environment, name: str, user: AbstractBaseUser) -> Route:
    """Turn an Ingress the console did not create into a route."""
    route = Route(environment=environment, name=name)
    _adopt(route, user, AuditEntry.Action.IMPORT)
    return route


def _adopt(route: Route, user: AbstractBaseUser, action: str) -> None:
    client = route.environment.cluster.client()
    namespace = route.environment.namespace
    live = client.get_ingress(namespace, route.name)
    gateway, fields, backends, annotations = route_fields_from_ingress(live, route.environment)
    with transaction.atomic():
        _store_fields(route, gateway, fields, backends, annotations, user)
        body = manifest.build_ingress(route.spec())
        body["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"]
        applied = client.replace_ingress(namespace, route.name, body)
        _record(route, applied, action, user, body)
