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
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from kubegems_routes.routes.models import Route
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


def _served(ingress: dict[str, Any]) -> Iterable[tuple[str, str]]:
    for rule in ingress.get("spec", {}).get("rules", []) or []:
        host = rule.get("host", "")
        for path in (rule.get("http") or {}).get("paths", []) or []:
            yield host, path.get("path", "/")


def find_conflicts(
    ingresses: list[dict[str, Any]],
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
        meta = ingress.get("metadata", {})
        namespace, name = meta.get("namespace", ""), meta.get("name", "")
        if namespace == environment.namespace and name == route_name:
            continue  # the route's own Ingress
        if (ingress.get("spec") or {}).get("ingressClassName") != ingress_class:
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


def tenants_by_namespace(environment: Environment) -> dict[str, int]:
    """Namespace -> tenant id, for every environment in the route's cluster."""
    rows = Environment.objects.filter(cluster_id=environment.cluster_id).values_list("namespace", "project__tenant_id")
    return dict(rows)


def with_console_claims(
    cluster_ingresses: list[dict[str, Any]], environment: Environment, ingress_class: str, host: str
) -> list[dict[str, Any]]:
    """The cluster's Ingresses plus the console's own routes that may claim the host, shaped alike.

    The cluster list comes from the API server's watch cache, which can trail
    a write by milliseconds; the database cannot, under lock_ingress_class: a
    route another replica saved a moment ago is here even before its Ingress
    reaches the cache. Ingresses made outside the console come from the cluster.
    """
    candidates = Q(host=host)
    _head, _dot, tail = host.partition(".")
    if host.startswith("*."):
        candidates |= Q(host__endswith=f".{host[2:]}")
    elif tail:
        candidates |= Q(host=f"*.{tail}")
    routes = (
        Route.objects.filter(
            candidates, environment__cluster_id=environment.cluster_id, gateway__ingress_class=ingress_class
        )
        .select_related("environment")
        .prefetch_related("paths")
    )
    merged = {(i.get("metadata", {}).get("namespace"), i.get("metadata", {}).get("name")): i for i in cluster_ingresses}
    for route in routes:
        key = (route.environment.namespace, route.name)
        merged.setdefault(
            key,
            {
                "metadata": {"namespace": key[0], "name": key[1]},
                "spec": {
                    "ingressClassName": ingress_class,
                    "rules": [{"host": route.host, "http": {"paths": [{"path": p.path} for p in route.paths.all()]}}],
                },
            },
        )
    return list(merged.values())
