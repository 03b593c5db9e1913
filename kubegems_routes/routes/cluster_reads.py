"""What the routes pages read from a cluster: from its watch-fed cache when synced, else from the API server.

The cache (kubegems_routes/kube/cache.py) answers None while it is starting or
its watch is down; every function here then makes the direct call the page
made before the cache existed, so a page never shows an answer from a cache
that is not following the cluster. Errors are the client's KubeErrors.
"""

from __future__ import annotations

from typing import Any

from kubegems_routes.kube.client import GATEWAY_ROUTE_KINDS, EndpointSlice, Service
from kubegems_routes.kube.errors import NotFound
from kubegems_routes.routes import manifest
from kubegems_routes.routes.gateway_status import CONTROLLER_COMPONENT, GatewayStatus, statuses_by_name
from kubegems_routes.tenancy.models import Environment


def services(environment: Environment) -> list[Service]:
    cache = environment.cluster.cache()
    found = cache.services_in(environment.namespace) if cache is not None else None
    if found is not None:
        return found
    return environment.cluster.client().list_services(environment.namespace)


def endpoint_slices(environment: Environment) -> dict[str, list[EndpointSlice]]:
    """The namespace's EndpointSlices by Service name: from the cache's watch of the namespace when it is
    synced (the first ask starts it), else one list for the page."""
    cache = environment.cluster.cache()
    found = cache.endpoint_slices_in(environment.namespace) if cache is not None else None
    if found is not None:
        return found
    grouped: dict[str, list[EndpointSlice]] = {}
    for endpoint_slice in environment.cluster.client().list_endpoint_slices(environment.namespace):
        grouped.setdefault(endpoint_slice.service, []).append(endpoint_slice)
    return grouped


def page_ingresses(environment: Environment, names: list[str]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The Ingresses of one page of routes by name, and the names of the namespace's unmanaged Ingresses.

    The page's Ingresses come from one label-selected list (drift needs whole
    manifests, which the cache does not keep), so the cost follows the page. A
    route whose Ingress lost its labels (edited outside) is found among the
    unmanaged ones.
    """
    client = environment.cluster.client()
    namespace = environment.namespace
    selector = f"{manifest.LABEL_ROUTE} in ({','.join(names)})"
    items = client.list_ingresses(namespace, label_selector=selector) if names else []
    live = {item["metadata"]["name"]: item for item in items}
    cache = environment.cluster.cache()
    records = cache.ingresses_in(namespace) if cache is not None else None
    if records is None:
        others = client.list_ingresses(namespace, label_selector=f"{manifest.LABEL_MANAGED_BY}!={manifest.MANAGED_BY}")
        for item in others:
            live.setdefault(item["metadata"]["name"], item)
        return live, [item["metadata"]["name"] for item in others]
    unlabelled = [r.name for r in records if r.managed_by != manifest.MANAGED_BY]
    wanted = set(names)
    for name in unlabelled:
        if name in wanted and name not in live:  # rare: a route's Ingress stripped of its labels
            try:
                live[name] = client.get_ingress(namespace, name)
            except NotFound:
                pass
    return live, unlabelled


def page_gateway_routes(environment: Environment, names: list[str]) -> dict[tuple[str, str], dict[str, Any]]:
    """The HTTPRoutes and GRPCRoutes of one page of routes, by (kind, name): one label-selected list per kind."""
    if not names:
        return {}
    client = environment.cluster.client()
    selector = f"{manifest.LABEL_ROUTE} in ({','.join(names)})"
    return {
        (kind, item["metadata"]["name"]): item
        for kind in GATEWAY_ROUTE_KINDS
        for item in client.list_gateway_routes(kind, environment.namespace, label_selector=selector)
    }


def controller_statuses(environment: Environment) -> dict[str, GatewayStatus]:
    """The Ingress controller's latest word on each Ingress of the namespace, from its Events (one call)."""
    client = environment.cluster.client()
    return statuses_by_name(client.list_events_from(environment.namespace, "Ingress", CONTROLLER_COMPONENT))


def unmanaged_gateway_routes(environment: Environment, scopes: set[str]) -> list[tuple[str, str]]:
    """(kind, name) of the namespace's HTTPRoutes and GRPCRoutes the console did not create that attach
    to one of ``scopes`` (the environment's Gateway API gateways, as namespace/name): what can be imported.
    From the cache when it follows both kinds, else one label-selected list per kind."""
    if not scopes:
        return []
    cache = environment.cluster.cache()
    records = cache.gateway_routes_in(environment.namespace) if cache is not None else None
    if records is not None:
        return [
            (r.kind, r.name)
            for r in records
            if r.managed_by != manifest.MANAGED_BY and {p.scope for p in r.parents} & scopes
        ]
    client = environment.cluster.client()
    selector = f"{manifest.LABEL_MANAGED_BY}!={manifest.MANAGED_BY}"
    return [
        (kind, item["metadata"]["name"])
        for kind in GATEWAY_ROUTE_KINDS
        for item in client.list_gateway_routes(kind, environment.namespace, label_selector=selector)
        if manifest.parent_scopes(item) & scopes
    ]
