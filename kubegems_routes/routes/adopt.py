"""Objects the console did not write become routes: import an unmanaged one, or take over an edited one."""

from __future__ import annotations

import dataclasses

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _

from kubegems_routes.kube.client import GATEWAY_ROUTE_KINDS
from kubegems_routes.kube.errors import KubeError, NotFound
from kubegems_routes.routes import manifest
from kubegems_routes.routes.errors import IngressMissing, NotImportable
from kubegems_routes.routes.models import AuditEntry, Route
from kubegems_routes.routes.ports import port_numbers, service_port_numbers
from kubegems_routes.routes.readback import values_from_gateway_route, values_from_ingress
from kubegems_routes.routes.refusals import port_message
from kubegems_routes.routes.saving import record, store
from kubegems_routes.routes.unavailable import cluster_errors
from kubegems_routes.routes.values import RouteValues
from kubegems_routes.tenancy.models import Environment


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
    with cluster_errors("adopting a route's object"):
        try:
            live = client.get_route_object(kind, namespace, route.name)
        except NotFound as exc:
            raise IngressMissing(
                _("There is no %(kind)s %(name)s in this namespace.") % {"kind": kind, "name": route.name}
            ) from exc
        if kind == "Ingress":
            values = values_from_ingress(live, route.environment)
        else:
            values = _named_ports(values_from_gateway_route(live, route.environment, current=current), current)
        if values.kind != kind:
            raise NotImportable(_("Its gateway would make it another kind of object."))
        with transaction.atomic():
            store(route, values, user)
            try:
                spec = route.spec(port_numbers(route.environment, values.gateway, values.backends))
            except manifest.UnresolvedPort as exc:
                raise NotImportable(port_message(exc)) from exc
            body = manifest.build(spec)
            body["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"]
            applied = client.replace_route_object(kind, namespace, route.name, body)
            record(route, applied, action, user, body)


def _named_ports(values: RouteValues, current: Route | None) -> RouteValues:
    """A take-over keeps a row's port name where the name still means the number the cluster's object holds."""
    if current is None:
        return values
    names = {(b.service, b.port) for b in current.backends() if not b.port.isdigit()}
    if not names:
        return values
    try:
        numbers = service_port_numbers(current.environment)
    except KubeError:
        return values
    by_number = {(svc, str(numbers[svc, name])): name for svc, name in names if (svc, name) in numbers}
    backends = tuple(dataclasses.replace(b, port=by_number.get((b.service, b.port), b.port)) for b in values.backends)
    return dataclasses.replace(values, backends=backends)
