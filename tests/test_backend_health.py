"""Backend health: ready and not-ready endpoints per Service and port, from EndpointSlices written as the
EndpointSlice controller writes them (none runs here), on the detail and list pages, for both route kinds."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from kubegems_routes.controlplane.objects import ensure_namespace
from kubegems_routes.demo.seed import seed_cluster_objects
from kubegems_routes.gateways.models import Gateway
from kubegems_routes.tenancy.models import Environment, Project, Tenant, TenantMember
from tests.helpers import (
    create_route,
    gateway_api_gateway,
    put_endpoint_slice,
    route_data,
    synced,
    until,
)
from tests.kube_calls import record_calls

pytestmark = pytest.mark.django_db


def _detail(client, environment, name="shop"):
    response = client.get(reverse("routes:detail", args=[environment.pk, name]))
    assert response.status_code == 200
    return response


def _health(response) -> list[tuple[str, str, str, int, int]]:
    return [(h.service, h.port, str(h.state), h.ready, h.not_ready) for h in response.context["backend_health"]]


def _warnings(client, environment) -> dict[str, str]:
    listing = client.get(reverse("routes:list", args=[environment.pk]))
    return {r.name: r.backend_warning for r in listing.context["page"].object_list}


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def test_a_service_scaled_to_zero_shows_0_ready_on_both_pages(operator_client, environment, kube):
    ns = environment.namespace
    create_route(operator_client, environment)  # web:80
    put_endpoint_slice(kube, ns, "web", ready=0)  # scaled to zero: the controller keeps an empty slice
    until(lambda: _health(_detail(operator_client, environment)) == [("web", "80", "none-ready", 0, 0)])
    page = _detail(operator_client, environment).content.decode()
    row = re.search(r'<td class="backend-health" data-state="none-ready">(.*?)</td>', page, re.S)
    assert row and _text(row.group(1)) == "no ready endpoint 0 ready, 0 not ready"
    assert _warnings(operator_client, environment) == {"shop": "web:80: 0 ready endpoints"}
    listing = operator_client.get(reverse("routes:list", args=[environment.pk])).content.decode()
    assert "web:80: 0 ready endpoints" in listing

    put_endpoint_slice(kube, ns, "web", ready=2, not_ready=1)  # scaled up; one Pod still starting
    until(lambda: _health(_detail(operator_client, environment)) == [("web", "80", "ready", 2, 1)])
    assert "2 ready, 1 not ready" in _detail(operator_client, environment).content.decode()
    assert _warnings(operator_client, environment) == {"shop": ""}


def test_endpoints_of_another_port_or_slice_are_counted_where_they_belong(operator_client, environment, kube):
    ns = environment.namespace
    create_route(operator_client, environment, **{"paths-0-port": "http"})  # by name
    put_endpoint_slice(kube, ns, "web", ready=3, ports=(("metrics", 9090),), name="web-metrics")
    put_endpoint_slice(kube, ns, "web", ready=1, ports=(("http", 8080),), name="web-http-1", subnet="10.2.0")
    put_endpoint_slice(kube, ns, "web", not_ready=2, ports=(("http", 8080),), name="web-http-2", subnet="10.3.0")
    put_endpoint_slice(kube, ns, "api", ready=5, ports=(("http", 8080),), name="api-1")  # another Service
    until(lambda: _health(_detail(operator_client, environment)) == [("web", "http", "ready", 1, 2)])


def test_a_missing_service_and_a_wrong_port_are_named(operator_client, environment, kube):
    ns = environment.namespace
    create_route(operator_client, environment)  # web:80
    create_route(
        operator_client,
        environment,
        name="api",
        host="api.acme.example.com",
        **{"paths-0-service": "api", "paths-0-port": "grpc"},
    )
    kube.request("DELETE", f"/api/v1/namespaces/{ns}/services/web")
    service = kube.request("GET", f"/api/v1/namespaces/{ns}/services/api")
    service["spec"]["ports"] = [{"name": "ws", "port": 8080, "targetPort": 8080, "protocol": "TCP"}]
    kube.request("PUT", f"/api/v1/namespaces/{ns}/services/api", body=service)
    until(lambda: _health(_detail(operator_client, environment)) == [("web", "80", "no-service", 0, 0)])
    assert "Service web does not exist" in _detail(operator_client, environment).content.decode()
    api = _detail(operator_client, environment, "api")
    assert _health(api) == [("api", "grpc", "no-port", 0, 0)]
    assert "Service api has no port grpc (it has ws (8080/TCP))" in api.content.decode()
    assert _warnings(operator_client, environment) == {
        "api": "Service api has no port grpc (it has ws (8080/TCP))",
        "shop": "Service web does not exist",
    }


def test_a_gateway_api_route_shows_its_backends_health(gateway_api, operator_client, environment, kube):
    edge = gateway_api_gateway(environment, kube)
    data = route_data(edge, host="shop.edge.example.com", **{"paths-0-port": "http"})
    assert operator_client.post(reverse("routes:create", args=[environment.pk]), data).status_code == 302
    put_endpoint_slice(kube, environment.namespace, "web", ready=0, not_ready=2)
    until(lambda: _health(_detail(operator_client, environment)) == [("web", "http", "none-ready", 0, 2)])
    assert _detail(operator_client, environment).context["kind"] == "HTTPRoute"
    assert _warnings(operator_client, environment) == {"shop": "web:http: 0 ready endpoints"}


def test_without_the_cache_a_page_lists_endpoint_slices_once_whatever_its_routes(operator_client, environment):
    for i in range(3):
        create_route(operator_client, environment, name=f"r{i}", host=f"r{i}.acme.example.com")
    slices = f"/apis/discovery.k8s.io/v1/namespaces/{environment.namespace}/endpointslices"
    services = f"/api/v1/namespaces/{environment.namespace}/services"
    with record_calls() as calls:
        operator_client.get(reverse("routes:list", args=[environment.pk]))
    assert calls.count(("GET", slices)) == 1 and calls.count(("GET", services)) == 1
    with record_calls() as calls:
        _detail(operator_client, environment, "r0")
    assert calls.count(("GET", slices)) == 1 and calls.count(("GET", services)) == 1


def test_with_the_cache_synced_no_page_calls_the_cluster_for_backends(kube_cache, operator_client, environment, kube):
    ns = environment.namespace
    for i in range(3):
        create_route(operator_client, environment, name=f"r{i}", host=f"r{i}.acme.example.com")
    cache = synced(environment.cluster)
    informer = cache.endpoint_slice_informer(ns)
    assert informer.wait_synced(20)
    put_endpoint_slice(kube, ns, "web", ready=2)
    until(lambda: [len(s.endpoints) for s in (cache.endpoint_slices_in(ns) or {}).get("web", [])] == [2])
    with record_calls() as calls:
        listing = operator_client.get(reverse("routes:list", args=[environment.pk]))
        detail = _detail(operator_client, environment, "r0")
    assert {r.backend_warning for r in listing.context["page"].object_list} == {""}
    assert _health(detail) == [("web", "80", "ready", 2, 0)]
    backend_calls = [c for c in calls if "/endpointslices" in c[1] or "/services" in c[1]]
    assert backend_calls == []
    # Followed, not re-read: scaled to zero, the pages say so from the watch.
    put_endpoint_slice(kube, ns, "web", ready=0)
    until(lambda: _health(_detail(operator_client, environment, "r0")) == [("web", "80", "none-ready", 0, 0)])


def test_a_tenant_never_sees_another_tenants_endpoints(
    operator_client, environment, kube, django_user_model, namespace
):
    create_route(operator_client, environment)
    put_endpoint_slice(kube, environment.namespace, "web", ready=4)
    # Another tenant, with a Service of the same name in its own namespace and no endpoint.
    other_ns = f"{environment.namespace}-b"
    ensure_namespace(kube, other_ns)
    seed_cluster_objects(environment.cluster, other_ns)
    rival = Tenant.objects.create(name="rival")
    project = Project.objects.create(tenant=rival, name="shop")
    theirs = Environment.objects.create(project=project, cluster=environment.cluster, name="dev", namespace=other_ns)
    Gateway.objects.create(
        cluster=environment.cluster,
        tenant=rival,
        name="public",
        ingress_class=f"public-{other_ns}",
        default_domain="*.rival.example.com",
    )
    user = django_user_model.objects.create_user("rita", password="pw")
    TenantMember.objects.create(tenant=rival, user=user, role=TenantMember.Role.ADMIN)
    operator_client.force_login(user)
    assert operator_client.get(reverse("routes:detail", args=[environment.pk, "shop"])).status_code == 404
    create_route(operator_client, theirs, host="shop.rival.example.com")
    until(lambda: _health(_detail(operator_client, theirs)) == [("web", "80", "none-ready", 0, 0)])
