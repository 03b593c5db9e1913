"""Creating routes through the form makes real Ingresses, read back from the API server."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from kubegems_routes.kube.client import KubeClient
from kubegems_routes.routes import manifest
from kubegems_routes.routes.models import Route
from tests.helpers import create_url, default_gateway, ingress, route_data, tenant_gateway

pytestmark = pytest.mark.django_db

PROTOCOL_CASES = {
    "http": ({}, {}),
    "https": ({"tls_secret": "demo-tls"}, {}),
    "ws": ({}, {manifest.WEBSOCKET_SERVICES: "web,api"}),
    "wss": ({"tls_secret": "demo-tls"}, {manifest.WEBSOCKET_SERVICES: "web,api"}),
    "grpc": ({"tls_secret": "demo-tls"}, {manifest.GRPC_SERVICES: "web,api"}),
}


@pytest.mark.parametrize("protocol", list(PROTOCOL_CASES))
def test_each_protocol_creates_the_expected_ingress(protocol, operator_client, environment, kube: KubeClient):
    gateway = tenant_gateway(environment)
    gateway.annotations.create(key="nginx.org/proxy-read-timeout", value="30s")
    gateway.annotations.create(key="nginx.org/client-max-body-size", value="1m")
    extra, generated = PROTOCOL_CASES[protocol]
    data = route_data(
        gateway,
        name=f"shop-{protocol}",
        protocol=protocol,
        **extra,
        **{
            "paths-TOTAL_FORMS": "2",
            "paths-1-path": "/api",
            "paths-1-path_type": "Exact",
            "paths-1-service": "api",
            "paths-1-port": "8080",
            "annotations-0-key": "nginx.org/proxy-read-timeout",
            "annotations-0-value": "120s",
        },
    )
    response = operator_client.post(create_url(environment), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == reverse("routes:detail", args=[environment.pk, f"shop-{protocol}"])

    stored = kube.get_ingress(environment.namespace, f"shop-{protocol}")
    assert stored["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": "kubegems-routes",
        "kubegems.io/route": f"shop-{protocol}",
        "kubegems.io/tenant": "acme",
        "kubegems.io/project": "shop",
        "kubegems.io/environment": "dev",
        "kubegems.io/gateway": "public",
    }
    assert stored["metadata"]["annotations"] == {
        "nginx.org/proxy-read-timeout": "120s",  # the route's own beats the gateway's
        "nginx.org/client-max-body-size": "1m",
        **generated,
    }
    spec = stored["spec"]
    assert spec["ingressClassName"] == gateway.ingress_class
    assert spec["rules"] == [
        {
            "host": "shop.acme.example.com",
            "http": {
                "paths": [
                    {
                        "path": "/",
                        "pathType": "Prefix",
                        "backend": {"service": {"name": "web", "port": {"number": 80}}},
                    },
                    {
                        "path": "/api",
                        "pathType": "Exact",
                        "backend": {"service": {"name": "api", "port": {"number": 8080}}},
                    },
                ]
            },
        }
    ]
    if manifest.needs_tls(protocol):
        assert spec["tls"] == [{"hosts": ["shop.acme.example.com"], "secretName": "demo-tls"}]
    else:
        assert "tls" not in spec
    route = Route.objects.get(environment=environment, name=f"shop-{protocol}")
    assert route.resource_version == stored["metadata"]["resourceVersion"]
    assert route.created_by.username == "olivia"


@pytest.mark.parametrize("protocol", ["https", "wss", "grpc"])
def test_tls_protocols_require_a_secret(protocol, operator_client, environment, kube):
    data = route_data(tenant_gateway(environment), protocol=protocol, tls_secret="")
    response = operator_client.post(create_url(environment), data)
    assert response.status_code == 200
    assert "tls_secret" in response.context["form"].errors
    assert response.context["form"]["name"].value() == "shop"  # input kept
    assert not Route.objects.exists()
    assert kube.list_ingresses(environment.namespace) == []


def test_plain_protocol_drops_a_secret_left_in_the_form(operator_client, environment, kube):
    data = route_data(tenant_gateway(environment), protocol="ws", tls_secret="demo-tls")
    assert operator_client.post(create_url(environment), data).status_code == 302
    assert "tls" not in kube.get_ingress(environment.namespace, "shop")["spec"]
    assert Route.objects.get().tls_secret == ""


def test_grpc_on_gateway_without_http2_is_a_protocol_error(operator_client, environment, kube):
    gateway = tenant_gateway(environment)
    gateway.http2 = False
    gateway.save()
    response = operator_client.post(
        create_url(environment), route_data(gateway, protocol="grpc", tls_secret="demo-tls")
    )
    assert "HTTP/2" in response.context["form"].errors["protocol"][0]
    assert kube.list_ingresses(environment.namespace) == []


def test_empty_host_gets_a_random_host_of_the_gateways_domain(operator_client, environment, kube):
    gateway = default_gateway(environment)
    response = operator_client.post(create_url(environment), route_data(gateway, host=""))
    assert response.status_code == 302
    host = Route.objects.get().host
    assert re.fullmatch(r"[a-z]{5}\.kubegems\.io", host)
    assert kube.get_ingress(environment.namespace, "shop")["spec"]["rules"][0]["host"] == host


def test_previewed_random_host_is_the_one_saved(operator_client, environment):
    gateway = default_gateway(environment)
    page = operator_client.get(create_url(environment))
    suggested = page.context["preview"].suggested_host
    assert re.fullmatch(r"[a-z]{5}\.kubegems\.io", suggested)
    assert f"host: {suggested}" in page.context["preview"].yaml
    operator_client.post(create_url(environment), route_data(gateway, host="", suggested_host=suggested))
    assert Route.objects.get().host == suggested


def test_random_hosts_do_not_collide_with_existing_routes(operator_client, environment):
    gateway = default_gateway(environment)
    taken = Route.objects.create(environment=environment, name="other", gateway=gateway, host="aaaaa.kubegems.io")
    for i in range(5):
        operator_client.post(
            create_url(environment), route_data(gateway, name=f"r{i}", host="", suggested_host=taken.host)
        )
    hosts = list(Route.objects.values_list("host", flat=True))
    assert len(hosts) == 6 and len(set(hosts)) == 6


def test_existing_ingress_of_the_same_name_is_a_name_error(operator_client, environment, kube):
    kube.create_ingress(environment.namespace, ingress(environment.namespace))
    response = operator_client.post(create_url(environment), route_data(tenant_gateway(environment)))
    assert "already exists" in response.context["form"].errors["name"][0]
    assert not Route.objects.exists()
    # The foreign Ingress is untouched.
    assert kube.get_ingress(environment.namespace, "shop")["spec"]["ingressClassName"] == "other"


def test_unknown_service_and_port_are_row_errors(operator_client, environment):
    data = route_data(tenant_gateway(environment), **{"paths-0-service": "nope"})
    response = operator_client.post(create_url(environment), data)
    assert "service" in response.context["editor"].paths.forms[0].errors
    data = route_data(tenant_gateway(environment), **{"paths-0-port": "81"})
    response = operator_client.post(create_url(environment), data)
    assert "port" in response.context["editor"].paths.forms[0].errors


def test_snippet_annotation_refused_unless_gateway_allows(operator_client, environment, kube):
    gateway = tenant_gateway(environment)
    data = route_data(gateway, **{"annotations-0-key": "nginx.org/server-snippets", "annotations-0-value": "deny all;"})
    response = operator_client.post(create_url(environment), data)
    assert "Snippet" in response.context["editor"].annotations.forms[0].errors["key"][0]
    assert kube.list_ingresses(environment.namespace) == []
    gateway.allow_snippets = True
    gateway.save()
    assert operator_client.post(create_url(environment), data).status_code == 302
