"""Where a gateway answers, read from the cluster or typed by an admin, and what a user does with it."""

from __future__ import annotations

import re
import time
import uuid
from html import unescape

import pytest
from django.urls import reverse

from kubegems_routes.controlplane.objects import ensure_namespace
from kubegems_routes.gateways.address import Source, gateway_address
from tests.helpers import create_route, tenant_gateway
from tests.kube_calls import record_calls

pytestmark = pytest.mark.django_db


def _controller_service(kube, service_type: str) -> str:
    namespace = f"ctl-{uuid.uuid4().hex[:8]}"
    ensure_namespace(kube, namespace)
    ports = [{"name": "http", "port": 80, "targetPort": 80}, {"name": "https", "port": 443, "targetPort": 443}]
    kube.create(
        f"/api/v1/namespaces/{namespace}/services",
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "nginx-ingress"},
            "spec": {"type": service_type, "selector": {"app": "nginx-ingress"}, "ports": ports},
        },
    )
    return f"{namespace}/nginx-ingress"


def _publish(kube, path: str, address: dict) -> None:
    """What a cloud load balancer controller (or the ingress controller) writes into status."""
    live = kube.request("GET", path)
    live["status"] = {"loadBalancer": {"ingress": [address]}}
    kube.request("PUT", f"{path}/status", body=live)


def _text(response) -> str:
    return unescape(re.sub(r"<[^>]+>", "", response.content.decode()))


def _detail(client, environment, name="shop"):
    return _text(client.get(reverse("routes:detail", args=[environment.pk, name])))


def test_the_address_of_a_load_balancer_service(operator_client, environment, kube):
    gateway = tenant_gateway(environment)
    gateway.service = _controller_service(kube, "LoadBalancer")
    gateway.save()
    namespace, name = gateway.service.split("/")
    _publish(kube, f"/api/v1/namespaces/{namespace}/services/{name}", {"ip": "203.0.113.7"})
    create_route(operator_client, environment)

    page = _detail(operator_client, environment)
    assert "shop.acme.example.com A 203.0.113.7" in page
    assert "curl -sS -i --resolve shop.acme.example.com:80:203.0.113.7 http://shop.acme.example.com/" in page
    assert "the controller's LoadBalancer Service" in page
    listing = _text(operator_client.get(reverse("routes:list", args=[environment.pk])))
    assert "shop.acme.example.com → 203.0.113.7" in listing


def test_the_address_of_a_node_port_service_with_the_node_address_an_admin_set(operator_client, environment, kube):
    gateway = tenant_gateway(environment)
    gateway.service = _controller_service(kube, "NodePort")
    namespace, name = gateway.service.split("/")
    # Node ports the API server allocated.
    http, https = (
        p["nodePort"] for p in kube.request("GET", f"/api/v1/namespaces/{namespace}/services/{name}")["spec"]["ports"]
    )
    gateway.address = "192.0.2.10"
    gateway.save()
    create_route(operator_client, environment, protocol="https", tls_secret="demo-tls")

    address = gateway_address(gateway)
    assert address is not None and address.source == Source.NODE_PORT
    assert (address.http_port, address.https_port) == (http, https)
    page = _detail(operator_client, environment)
    assert "shop.acme.example.com A 192.0.2.10" in page
    assert (
        f"curl -sS -i -k --resolve shop.acme.example.com:{https}:192.0.2.10 https://shop.acme.example.com:{https}/"
        in page
    )


def test_a_typed_address_and_a_dns_name(operator_client, environment):
    gateway = tenant_gateway(environment)
    gateway.address = "lb.example.net"
    gateway.save()
    create_route(operator_client, environment)
    page = _detail(operator_client, environment)
    assert "shop.acme.example.com CNAME lb.example.net" in page
    assert "--connect-to shop.acme.example.com:80:lb.example.net:80 http://shop.acme.example.com/" in page
    assert "set by an admin" in page


def test_the_ingress_status_the_controller_published(operator_client, environment, kube):
    create_route(operator_client, environment)
    page = _detail(operator_client, environment)
    assert "The gateway's address is not known" in page
    _publish(
        kube,
        f"/apis/networking.k8s.io/v1/namespaces/{environment.namespace}/ingresses/shop",
        {"hostname": "elb-1.example.net"},
    )
    page = _detail(operator_client, environment)
    assert "Published by the controller in the Ingress's status: elb-1.example.net" in page
    assert "shop.acme.example.com CNAME elb-1.example.net" in page
    listing = _text(operator_client.get(reverse("routes:list", args=[environment.pk])))
    assert "shop.acme.example.com → elb-1.example.net" in listing


def test_a_service_the_cluster_does_not_have_gives_no_address_not_an_error(operator_client, environment):
    gateway = tenant_gateway(environment)
    gateway.service = "nowhere/nginx-ingress"
    gateway.save()
    create_route(operator_client, environment)
    response = operator_client.get(reverse("routes:detail", args=[environment.pk, "shop"]))
    assert response.status_code == 200 and "The gateway's address is not known" in response.content.decode()


def test_the_admin_gateway_list_shows_address_class_domains_and_routes(operator_client, environment, admin_client):
    gateway = tenant_gateway(environment)
    gateway.address = "192.0.2.10"
    gateway.extra_domains = "www.example.org"
    gateway.save()
    create_route(operator_client, environment)
    page = unescape(admin_client.get(reverse("admin:gateways_gateway_changelist")).content.decode())
    row = page.split(f"/admin/gateways/gateway/{gateway.pk}/change/")[1].split("</tr>")[0]
    assert gateway.ingress_class in row
    assert "*.acme.example.com, www.example.org" in row
    assert "192.0.2.10" in row
    assert '<td class="field-route_count">1</td>' in row
    change = unescape(admin_client.get(reverse("admin:gateways_gateway_change", args=[gateway.pk])).content.decode())
    assert "192.0.2.10 (set by an admin)" in change


def _admin_row(admin_client, gateway) -> str:
    page = unescape(admin_client.get(reverse("admin:gateways_gateway_changelist")).content.decode())
    return page.split(f"/admin/gateways/gateway/{gateway.pk}/change/")[1].split("</tr>")[0]


def test_the_admin_gateway_list_shows_the_live_address_from_the_cache(environment, kube, admin_client, kube_cache):
    gateway = tenant_gateway(environment)
    gateway.service = _controller_service(kube, "LoadBalancer")
    gateway.save()
    namespace, name = gateway.service.split("/")
    service_path = f"/api/v1/namespaces/{namespace}/services"
    # Before the cluster's cache has synced: what is configured, and no cluster call from the list.
    with record_calls() as calls:
        row = _admin_row(admin_client, gateway)
    assert f"Service {gateway.service}" in row
    assert not [c for c in calls if c[1].startswith(service_path)]
    cache = gateway.cluster.cache()
    assert cache is not None and cache.wait_synced(20)

    _publish(kube, f"{service_path}/{name}", {"ip": "203.0.113.7"})
    _wait(lambda: "203.0.113.7 (the controller's LoadBalancer Service)" in _admin_row(admin_client, gateway))
    _publish(kube, f"{service_path}/{name}", {"hostname": "lb.example.net"})  # the cloud moved it
    _wait(lambda: "lb.example.net (the controller's LoadBalancer Service)" in _admin_row(admin_client, gateway))
    with record_calls() as calls:
        _admin_row(admin_client, gateway)
    assert not [c for c in calls if c[1].startswith(service_path)]  # read from the cache, not the cluster

    kube.request("DELETE", f"{service_path}/{name}")
    gateway.address = "192.0.2.10"
    gateway.save()
    _wait(lambda: "192.0.2.10 · Service" in _admin_row(admin_client, gateway))  # gone: what is configured


def _wait(condition, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the admin list did not catch up with the cluster"
        time.sleep(0.05)
