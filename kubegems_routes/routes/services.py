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
from kubegems_routes.kube.errors import AlreadyExists, Invalid, KubeError
from kubegems_routes.lib.validators import is_random_host_of, random_host
from kubegems_routes.routes import manifest
from kubegems_routes.routes.forms import RouteEditor
from kubegems_routes.routes.models import Route, RoutePath
from kubegems_routes.routes.ownership import HostConflict, find_conflicts, tenants_by_namespace

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
            conflicts = find_conflicts(
                client.list_ingresses(),
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
                # Optimistic concurrency: a stale version is answered with 409.
                body["metadata"]["resourceVersion"] = route.resource_version
                applied = client.replace_ingress(namespace, route.name, body)
            applied_in_cluster = True
            route.resource_version = applied.get("metadata", {}).get("resourceVersion", "")
            Route.objects.filter(pk=route.pk).update(resource_version=route.resource_version)
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


def delete_route(route: Route) -> None:
    """Delete the Ingress (already gone is fine), then the row; a cluster error keeps both."""
    client = route.environment.cluster.client()
    with transaction.atomic():
        client.delete_ingress(route.environment.namespace, route.name)
        route.delete()
