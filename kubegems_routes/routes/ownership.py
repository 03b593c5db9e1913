"""Who owns a host on a gateway: read from the cluster, not only from the database.

On a shared ingress class, an Ingress in any namespace can claim any host; the
controller merges them. So before a route is written, every Ingress of the
same class in the cluster is checked:

- a host served for another tenant (or from a namespace the console does not
  know) is refused outright, whatever the path: sharing it would let one
  tenant capture another's traffic or add paths under its host;
- a host of the same tenant in another environment is refused only where a
  path is served twice.

Wildcards follow the Ingress rules: ``*.example.com`` matches exactly one
label, so it overlaps ``a.example.com`` but not ``a.b.example.com``.

Where the Ingresses come from: the cluster's watch-fed cache when it is
synced (an index lookup, whatever the size of the cluster), else one list
from the API server. The cache trails the API server by milliseconds, so a
save checks twice: before its write, and after it, once the cache has seen
that write and therefore every Ingress written before it (an Ingress created
with kubectl a moment earlier is then refused, and the new one taken back).
If the cache does not see the write in time, the second check reads the API
server (a consistent list). Two console saves racing for one host are kept
apart by the database's host claims (``claims.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings

from kubegems_routes.kube.cache import GatewayRouteRecord, IngressRecord, slim_gateway_route, slim_ingress
from kubegems_routes.kube.client import GATEWAY_ROUTE_KINDS
from kubegems_routes.routes.manifest import RouteSpec
from kubegems_routes.tenancy.models import Environment


@dataclass(frozen=True)
class HostConflict:
    host: str
    namespace: str
    ingress: str
    path: str = ""  # set when only this path clashes (same tenant)


def hosts_overlap(a: str, b: str) -> bool:
    if a == b:
        return True
    for wildcard, exact in ((a, b), (b, a)):
        if wildcard.startswith("*.") and not exact.startswith("*."):
            _head, _dot, tail = exact.partition(".")
            if tail == wildcard[2:]:
                return True
    return False


def _served(ingress: IngressRecord) -> Iterable[tuple[str, str]]:
    for host, paths in ingress.rules:
        for path in paths:
            yield host, path


def find_conflicts(
    ingresses: Iterable[IngressRecord],
    environment: Environment,
    ingress_class: str,
    route_name: str,
    host: str,
    paths: Iterable[str],
    tenant_of_namespace: dict[str, int],
) -> list[HostConflict]:
    """Conflicts between the route (host and paths) and the cluster's other Ingresses."""
    wanted = set(paths)
    own_tenant = environment.project.tenant_id
    conflicts: list[HostConflict] = []
    for ingress in ingresses:
        namespace, name = ingress.namespace, ingress.name
        if namespace == environment.namespace and name == route_name:
            continue  # the route's own Ingress
        if ingress.ingress_class != ingress_class:
            continue
        foreign = tenant_of_namespace.get(namespace) != own_tenant
        for their_host, their_path in _served(ingress):
            if not their_host or not hosts_overlap(host, their_host):
                continue
            if foreign:
                conflicts.append(HostConflict(their_host, namespace, name))
                break
            if their_host == host and their_path in wanted:
                conflicts.append(HostConflict(their_host, namespace, name, their_path))
    return conflicts


def tenants_by_namespace(environment: Environment, namespaces: Iterable[str]) -> dict[str, int]:
    """Namespace -> tenant id, for the given namespaces of the route's cluster that are environments."""
    wanted = set(namespaces) - {environment.namespace}
    rows = (
        Environment.objects.filter(cluster_id=environment.cluster_id, namespace__in=wanted).values_list(
            "namespace", "project__tenant_id"
        )
        if wanted
        else []
    )
    return {environment.namespace: environment.project.tenant_id, **dict(rows)}


def route_conflicts(
    environment: Environment, spec: RouteSpec, route_name: str, *, written: str = ""
) -> list[HostConflict]:
    if spec.parent is not None:
        return gateway_route_conflicts(environment, spec, route_name, written=written)
    return host_conflicts(
        environment, spec.ingress_class, route_name, spec.host, [b.path for b in spec.backends], written=written
    )


def host_conflicts(
    environment: Environment,
    ingress_class: str,
    route_name: str,
    host: str,
    paths: Iterable[str],
    *,
    written: str = "",
) -> list[HostConflict]:
    """Conflicts of the route with the cluster's Ingresses.

    ``written`` is the resourceVersion of the route's own write, for the check
    after it. With caching off there is no second check (the first one read
    the API server already).
    """
    cluster = environment.cluster
    cache = cluster.cache()
    if written and cache is None:
        return []
    records: list[IngressRecord] | None = None
    if cache is not None and (not written or cache.ingresses.wait_for(written, settings.KUBE_CACHE_WRITE_WAIT)):
        records = cache.ingresses_overlapping(ingress_class, host)
    if records is None:
        # Not synced (starting, or its watch is down): ask the API server. After
        # a write, a consistent list; before it, the API server's watch cache is
        # enough (the second check follows the write).
        items = cluster.client().list_ingresses(cached=not written)
        records = [slim_ingress(item) for item in items]
    # Only Ingresses of the class with an overlapping host can conflict: look up the tenants of their namespaces.
    records = [r for r in records if r.ingress_class == ingress_class and _serves_overlapping(r, host)]
    tenants = tenants_by_namespace(environment, {r.namespace for r in records})
    return find_conflicts(records, environment, ingress_class, route_name, host, paths, tenants)


def _serves_overlapping(record: IngressRecord, host: str) -> bool:
    return any(their_host and hosts_overlap(host, their_host) for their_host, _paths in record.rules)


def gateway_route_conflicts(
    environment: Environment, spec: RouteSpec, route_name: str, *, written: str = ""
) -> list[HostConflict]:
    """Conflicts with the HTTPRoutes and GRPCRoutes attached to the same Gateway, in any namespace.

    From the cluster's cache when its route kinds are synced (an index lookup by
    Gateway and host); after this save's own write, once the cache of the
    written kind has seen it. Otherwise (not synced, or the write not seen in
    time) one consistent list per kind from the API server: not its watch
    cache, which answers 429 "storage is (re)initializing" while that cache of
    a custom resource starts (e.g. after an API server restart).

    The other kind's cache is read as it is after the write: it trails the API
    server by milliseconds and carries no event to wait for. A route of the
    other kind written outside the console in those milliseconds is not seen;
    Gateway API gives a host's traffic to the older route anyway.
    """
    scope = spec.host_scope
    cache = environment.cluster.cache()
    if written and cache is None:
        return []
    found: list[GatewayRouteRecord] | None = None
    informer = cache.gateway_routes[spec.kind] if cache is not None else None
    if (
        cache is not None
        and informer is not None
        and not informer.absent  # not served when the cache last looked: nothing to wait for
        and (not written or informer.wait_for(written, settings.KUBE_CACHE_WRITE_WAIT))
    ):
        found = cache.gateway_routes_overlapping(scope, spec.host)
    if found is None:
        client = environment.cluster.client()
        found = [
            slim_gateway_route(item, kind)
            for kind in GATEWAY_ROUTE_KINDS
            for item in client.list_gateway_routes(kind, None)
        ]
    records = [record for r in found if (record := _as_ingress_record(r, scope, spec.host)) is not None]
    records = [r for r in records if _serves_overlapping(r, spec.host)]
    tenants = tenants_by_namespace(environment, {r.namespace for r in records})
    return find_conflicts(records, environment, scope, route_name, spec.host, [b.path for b in spec.backends], tenants)


def _as_ingress_record(route: GatewayRouteRecord, scope: str, host: str) -> IngressRecord | None:
    """An HTTPRoute or GRPCRoute attached to the Gateway ``scope``, as the record the host check reads."""
    if not any(parent.scope == scope for parent in route.parents):
        return None
    # A route without hostnames serves every host of its listener, this one included.
    hostnames = route.hostnames or (host,)
    return IngressRecord(
        namespace=route.namespace,
        name=route.name,
        ingress_class=scope,
        managed_by=route.managed_by,
        rules=tuple((hostname, route.paths) for hostname in hostnames),
    )
