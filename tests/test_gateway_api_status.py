"""What the Gateway's controllers say about a Gateway API route: status.parents on the detail and list pages.

No Gateway API controller runs here: the tests write status.parents through
the status subresource, as a controller does, and the API server validates it
against the CRD's schema; the pages are read as a user sees them.
"""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.urls import reverse

from kubegems_routes.kube.client import KubeClient
from tests.helpers import until
from tests.kube_calls import record_calls
from tests.test_gateway_api_routes import _save, edge  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db

CONTROLLER = "example.com/gateway-controller"


def _condition(type_: str, status: str, reason: str, message: str) -> dict:
    return {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": "2026-12-01T10:00:00Z",
        "observedGeneration": 1,
    }


def _write_status(kube: KubeClient, namespace: str, name: str, gateway, *conditions: dict) -> None:
    """What a controller does: one status.parents entry for the route's parentRef, through the status subresource."""
    path = f"/apis/gateway.networking.k8s.io/v1/namespaces/{namespace}/httproutes/{name}"
    route = kube.request("GET", path)
    route["status"] = {
        "parents": [
            {
                "parentRef": {
                    "group": "gateway.networking.k8s.io",
                    "kind": "Gateway",
                    "namespace": gateway.gateway_namespace,
                    "name": gateway.gateway_name,
                    "sectionName": "http",
                },
                "controllerName": CONTROLLER,
                "conditions": list(conditions),
            }
        ]
    }
    kube.request("PUT", f"{path}/status", body=route)
    stored = kube.request("GET", path)["status"]["parents"][0]["conditions"]
    assert [c["reason"] for c in stored] == [c["reason"] for c in conditions]


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _pages(client, environment) -> tuple[str, str, str]:
    """The detail page's gateway status line, its status.parents section, and the route's row on the list."""
    detail = client.get(reverse("routes:detail", args=[environment.pk, "shop"])).content.decode()
    listing = client.get(reverse("routes:list", args=[environment.pk])).content.decode()
    badge = re.search(r'id="gateway-status">(.*?)</div>\s*<dl', detail, re.S)
    parents = re.search(r'<section id="route-parents".*?</section>', detail, re.S)
    row = re.search(r'<td class="route-gateway-state"[^>]*>(.*?)</td>', listing, re.S)
    assert badge and parents and row
    return _text(badge.group(1)), _text(parents.group(0)), _text(row.group(1))


ACCEPTED = _condition("Accepted", "True", "Accepted", "Route is accepted")
RESOLVED = _condition("ResolvedRefs", "True", "ResolvedRefs", "All references resolved")


def test_accepted_with_resolved_refs_is_serving(operator_client, environment, edge, kube):  # noqa: F811
    _save(operator_client, environment, edge)
    _write_status(kube, environment.namespace, "shop", edge, RESOLVED, ACCEPTED)
    badge, parents, row = _pages(operator_client, environment)
    assert badge == "Gateway status: serving"
    assert row == "serving"
    assert f"Gateway platform/{edge.gateway_name} · listener http" in parents
    assert f"Controller: {CONTROLLER}" in parents
    # Accepted first, then ResolvedRefs, whatever order the controller wrote them in.
    assert re.search(
        r"Accepted: True — Accepted: Route is accepted · since 2026-12-01 \d\d:00 \w+ "
        r".*ResolvedRefs: True — ResolvedRefs: All references resolved",
        parents,
    ), parents


def test_a_listener_that_does_not_allow_the_route_rejects_it(operator_client, environment, edge, kube):  # noqa: F811
    _save(operator_client, environment, edge)
    refused = _condition("Accepted", "False", "NotAllowedByListeners", "No listener admits routes from this namespace")
    _write_status(kube, environment.namespace, "shop", edge, refused, RESOLVED)
    badge, parents, row = _pages(operator_client, environment)
    said = "Accepted: False — NotAllowedByListeners: No listener admits routes from this namespace"
    assert badge == f"Gateway status: rejected by the gateway {said}"
    assert row == f"rejected by the gateway {said}"
    assert said in parents and "ResolvedRefs: True" in parents


def test_a_missing_backend_is_accepted_with_warnings(operator_client, environment, edge, kube):  # noqa: F811
    _save(operator_client, environment, edge)
    unresolved = _condition("ResolvedRefs", "False", "BackendNotFound", "Service gone not found")
    _write_status(kube, environment.namespace, "shop", edge, ACCEPTED, unresolved)
    badge, parents, row = _pages(operator_client, environment)
    said = "ResolvedRefs: False — BackendNotFound: Service gone not found"
    assert badge == f"Gateway status: applied with warnings {said}"
    assert row == f"applied with warnings {said}"
    assert "Accepted: True" in parents and said in parents


def test_a_route_no_controller_has_looked_at_says_so(operator_client, environment, edge, kube):  # noqa: F811
    _save(operator_client, environment, edge)
    assert "status" not in kube.get_gateway_route("HTTPRoute", environment.namespace, "shop")
    badge, parents, row = _pages(operator_client, environment)
    assert badge == "Gateway status: not yet accepted by any controller"
    assert row == "not yet accepted by any controller"
    assert "No controller has accepted this route yet" in parents


def test_the_status_costs_no_extra_cluster_call(operator_client, environment, edge, kube):  # noqa: F811
    _save(operator_client, environment, edge)
    _write_status(kube, environment.namespace, "shop", edge, ACCEPTED, RESOLVED)
    namespace = environment.namespace
    with record_calls() as calls:
        operator_client.get(reverse("routes:list", args=[environment.pk]))
    # The page's routes are listed once per kind; their status comes with them. No Events list:
    # the page holds no Ingress route, and the Ingress controller's Events say nothing about HTTPRoutes.
    # (Without the watch cache, as here, the unmanaged objects that can be imported are listed too.)
    assert calls == [
        ("GET", f"/apis/networking.k8s.io/v1/namespaces/{namespace}/ingresses"),  # unmanaged Ingresses
        ("GET", f"/apis/gateway.networking.k8s.io/v1/namespaces/{namespace}/httproutes"),
        ("GET", f"/apis/gateway.networking.k8s.io/v1/namespaces/{namespace}/grpcroutes"),
        # The backends' health (and the port names): Services and EndpointSlices, once for the page.
        ("GET", f"/api/v1/namespaces/{namespace}/services"),
        ("GET", f"/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices"),
        ("GET", f"/apis/gateway.networking.k8s.io/v1/namespaces/{namespace}/httproutes"),  # unmanaged ones
        ("GET", f"/apis/gateway.networking.k8s.io/v1/namespaces/{namespace}/grpcroutes"),
    ]
    with record_calls() as calls:
        operator_client.get(reverse("routes:detail", args=[environment.pk, "shop"]))
    assert calls == [
        ("GET", f"/apis/gateway.networking.k8s.io/v1/namespaces/{namespace}/httproutes/shop"),
        ("GET", f"/api/v1/namespaces/{namespace}/events"),
        ("GET", f"/api/v1/namespaces/{namespace}/services"),  # the backends' health
        ("GET", f"/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices"),
    ]


def test_with_the_cache_the_list_reads_only_its_page_and_finds_unmanaged_routes_in_the_cache(
    operator_client,
    environment,
    edge,  # noqa: F811
    kube,
    kube_cache,
):
    _save(operator_client, environment, edge)
    namespace = environment.namespace
    parent = {"namespace": edge.gateway_namespace, "name": edge.gateway_name, "sectionName": "http"}
    kube.create_gateway_route(
        "HTTPRoute",
        namespace,
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": {"name": "legacy", "namespace": namespace},
            "spec": {"parentRefs": [parent], "hostnames": ["legacy.edge.example.com"]},
        },
    )
    cache = environment.cluster.cache()
    assert cache is not None and cache.wait_synced(20) and cache.wait_gateway_api_synced(20)
    until(lambda: [r.name for r in cache.gateway_routes_in(namespace) or []].count("legacy") == 1)
    assert cache.endpoint_slice_informer(namespace).wait_synced(20)
    with record_calls() as calls:
        listing = operator_client.get(reverse("routes:list", args=[environment.pk]))
    assert listing.context["unmanaged"] == [("HTTPRoute", "legacy")]
    assert calls == [  # the page's routes, one list per kind; nothing else
        ("GET", f"/apis/gateway.networking.k8s.io/v1/namespaces/{namespace}/httproutes"),
        ("GET", f"/apis/gateway.networking.k8s.io/v1/namespaces/{namespace}/grpcroutes"),
    ]
