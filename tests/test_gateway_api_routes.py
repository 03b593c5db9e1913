"""Routes on a Gateway API gateway: the same form writes HTTPRoutes and GRPCRoutes, read back from the API server.

Gateway API's standard CRDs are installed in the session's API server
(``gateway_api`` fixture); its schema and CEL rules judge every object.
"""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from kubegems_routes.controlplane.objects import ensure_namespace
from kubegems_routes.gateways.models import Gateway
from kubegems_routes.kube.client import KubeClient
from kubegems_routes.kube.errors import NotFound
from kubegems_routes.routes import manifest
from kubegems_routes.routes.models import Route
from tests.helpers import action_url, create_url, gateway_api_gateway, route_data

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
# The hosts these tests use (issue 13: a route's host must be under one of its gateway's domains).
DOMAINS = "*.acme.example.com\n*.shared.example.com\n*.taken.example.com\nfree.example.com\nanything.example.com"


@pytest.fixture
def edge(gateway_api, environment, kube) -> Gateway:
    """A Gateway API gateway of the tenant, next to its ingress-class gateway in the same environment;
    its Gateway (in namespace platform) admits routes from every namespace on listeners http and https."""
    return gateway_api_gateway(environment, kube, extra_domains=DOMAINS)


def _public(environment) -> Gateway:
    return Gateway.objects.get(cluster=environment.cluster, tenant=environment.project.tenant, name="public")


def _save(client, environment, gateway, **overrides):
    response = client.post(create_url(environment), route_data(gateway, **overrides))
    assert response.status_code == 302, response.content.decode()[:2000]
    return Route.objects.get(environment=environment, name=overrides.get("name", "shop"))


@pytest.mark.parametrize(
    ("protocol", "kind", "listener"),
    [
        ("http", "HTTPRoute", "http"),
        ("ws", "HTTPRoute", "http"),
        ("https", "HTTPRoute", "https"),
        ("wss", "HTTPRoute", "https"),
        ("grpc", "GRPCRoute", "https"),
    ],
)
def test_the_form_writes_a_gateway_api_route_per_protocol(
    protocol, kind, listener, operator_client, environment, edge, kube: KubeClient
):
    edge.annotations.create(key="example.com/team", value="edge")
    grpc = protocol == "grpc"
    _save(
        operator_client,
        environment,
        edge,
        name=f"shop-{protocol}",
        protocol=protocol,
        host="shop.edge.example.com",
        **{
            "paths-TOTAL_FORMS": "2",
            "paths-1-path": "/grpc.health.v1.Health" if grpc else "/api",
            "paths-1-path_type": "Prefix" if grpc else "Exact",
            "paths-1-service": "api",
            "paths-1-port": "grpc" if grpc else "ws",  # names: resolved to 50051 / 8080
            "annotations-0-key": "example.com/owner",
            "annotations-0-value": "shop",
        },
    )
    stored = kube.get_gateway_route(kind, environment.namespace, f"shop-{protocol}")
    assert stored["metadata"]["labels"]["kubegems.io/gateway"] == "edge"
    assert stored["metadata"]["labels"]["kubegems.io/route"] == f"shop-{protocol}"
    # Gateway defaults and the route's own; no nginx.org/*-services annotation in Gateway API.
    assert stored["metadata"]["annotations"] == {"example.com/team": "edge", "example.com/owner": "shop"}
    assert stored["spec"]["parentRefs"] == [
        {
            "group": "gateway.networking.k8s.io",
            "kind": "Gateway",
            "namespace": "platform",
            "name": f"edge-{environment.namespace}",
            "sectionName": listener,
        }
    ]
    assert stored["spec"]["hostnames"] == ["shop.edge.example.com"]
    web, api = stored["spec"]["rules"]
    assert web["backendRefs"] == [{"group": "", "kind": "Service", "name": "web", "port": 80, "weight": 1}]
    assert api["backendRefs"][0]["port"] == (50051 if grpc else 8080)
    if grpc:
        assert api["matches"] == [{"method": {"type": "Exact", "service": "grpc.health.v1.Health"}}]
    else:
        assert web["matches"] == [{"path": {"type": "PathPrefix", "value": "/"}}]
        assert api["matches"] == [{"path": {"type": "Exact", "value": "/api"}}]
    with pytest.raises(NotFound):
        kube.get_ingress(environment.namespace, f"shop-{protocol}")
    route = Route.objects.get(name=f"shop-{protocol}")
    assert route.tls_secret == ""
    assert route.environment.audit_entries.get(route_name=route.name).manifest["kind"] == kind


def test_the_secret_field_is_hidden_on_a_gateway_api_gateway_and_says_why(operator_client, environment, edge):
    data = route_data(edge, protocol="https")
    body = operator_client.post(action_url(environment, "secret"), data, **HX).content.decode()
    assert 'id="secret-on-listener"' in body and "HTTPS listener" in body
    assert 'id="id_tls_secret"' not in body
    body = operator_client.post(
        action_url(environment, "secret"), route_data(_public(environment), protocol="https"), **HX
    ).content.decode()
    assert 'id="id_tls_secret"' in body and "secret-on-listener" not in body


def test_the_preview_shows_the_httproute_and_why_websocket_needs_no_annotation(operator_client, environment, edge):
    data = route_data(edge, protocol="wss", **{"paths-0-service": "api", "paths-0-port": "ws"})
    body = operator_client.post(action_url(environment, "preview"), data, **HX).content.decode()
    assert "HTTPRoute to be applied" in body
    assert "kind: HTTPRoute" in body and "sectionName: https" in body and "port: 8080" in body
    assert "needs no annotation for WebSocket" in body
    assert "websocket-services" not in body


def test_implementation_specific_paths_are_refused_on_a_gateway_api_gateway(operator_client, environment, edge):
    response = operator_client.post(
        create_url(environment), route_data(edge, **{"paths-0-path_type": "ImplementationSpecific"})
    )
    assert response.status_code == 200
    assert "Prefix and Exact paths only" in str(response.context["editor"].paths.forms[0].errors["path_type"])
    assert not Route.objects.exists()


def test_the_api_servers_cel_refusal_lands_on_the_path_row(operator_client, environment, edge, kube):
    data = route_data(edge, **{"paths-0-path": "/a//b"})
    response = operator_client.post(create_url(environment), data)
    assert response.status_code == 200
    assert response.context["editor"].paths.forms[0].errors.get("path"), response.context["editor"].errors()
    assert not Route.objects.exists()
    with pytest.raises(NotFound):
        kube.get_gateway_route("HTTPRoute", environment.namespace, "shop")


def test_edit_drift_reapply_and_delete_on_a_gateway_api_route(operator_client, environment, edge, kube: KubeClient):
    namespace = environment.namespace
    route = _save(operator_client, environment, edge)
    list_url = reverse("routes:list", args=[environment.pk])
    detail_url = reverse("routes:detail", args=[environment.pk, "shop"])
    assert operator_client.get(list_url).context["page"].object_list[0].sync == "in-sync"
    assert operator_client.get(detail_url).context["sync"] == "in-sync"

    # An edit through the form replaces the HTTPRoute, carrying its version.
    edit_url = reverse("routes:edit", args=[environment.pk, "shop"])
    version = operator_client.get(edit_url).context["form"]["resource_version"].value()
    data = route_data(edge, resource_version=version, **{"paths-0-path": "/shop"})
    assert operator_client.post(edit_url, data).status_code == 302
    stored = kube.get_gateway_route("HTTPRoute", namespace, "shop")
    assert stored["spec"]["rules"][0]["matches"] == [{"path": {"type": "PathPrefix", "value": "/shop"}}]

    # Changed outside the console: the pages say so, and re-apply puts the route's version back.
    stored["spec"]["hostnames"] = ["other.edge.example.com"]
    kube.replace_gateway_route("HTTPRoute", namespace, "shop", stored)
    assert operator_client.get(detail_url).context["sync"] == "changed"
    assert operator_client.get(list_url).context["page"].object_list[0].sync == "changed"
    assert operator_client.post(reverse("routes:reapply", args=[environment.pk, "shop"])).status_code == 302
    assert kube.get_gateway_route("HTTPRoute", namespace, "shop")["spec"]["hostnames"] == ["shop.acme.example.com"]
    assert operator_client.get(detail_url).context["sync"] == "in-sync"

    # Deleted outside: missing; re-apply creates it again.
    kube.delete_gateway_route("HTTPRoute", namespace, "shop")
    assert operator_client.get(detail_url).context["sync"] == "missing"
    assert operator_client.post(reverse("routes:reapply", args=[environment.pk, "shop"])).status_code == 302
    kube.get_gateway_route("HTTPRoute", namespace, "shop")

    # A stale edit is refused with a diff, as for Ingresses.
    data = route_data(edge, resource_version=version, **{"paths-0-path": "/late"})
    response = operator_client.post(edit_url, data)
    assert response.status_code == 200 and response.context["conflict_diff"]

    assert operator_client.post(reverse("routes:delete", args=[environment.pk, "shop"])).status_code == 302
    with pytest.raises(NotFound):
        kube.get_gateway_route("HTTPRoute", namespace, "shop")
    assert not Route.objects.filter(pk=route.pk).exists()


def test_moving_a_route_between_gateway_kinds_without_confirming_is_refused_and_changes_nothing(
    operator_client, environment, edge, kube: KubeClient
):
    _save(operator_client, environment, _public(environment))
    edit_url = reverse("routes:edit", args=[environment.pk, "shop"])
    version = operator_client.get(edit_url).context["form"]["resource_version"].value()
    response = operator_client.post(edit_url, route_data(edge, resource_version=version))
    assert response.status_code == 200
    # The switch itself, confirmed: tests/test_route_kind_switch.py.
    assert "deletes Ingress shop and creates HTTPRoute shop" in str(response.context["form"].errors["switch_to"])
    assert Route.objects.get(name="shop").gateway == _public(environment)
    kube.get_ingress(environment.namespace, "shop")
    with pytest.raises(NotFound):
        kube.get_gateway_route("HTTPRoute", environment.namespace, "shop")


def test_admin_saves_a_gateway_api_gateway_without_an_ingress_class_object(admin_client, environment, kube):
    data = {
        "cluster": environment.cluster.pk,
        "tenant": environment.project.tenant.pk,
        "name": "mesh",
        "kind": "gateway-api",
        "ingress_class": "",
        "gateway_namespace": "platform",
        "gateway_name": "mesh",
        "http_listener": "web",
        "https_listener": "websecure",
        "default_domain": "*.mesh.io",
        "http2": "on",
        "annotations-TOTAL_FORMS": "0",
        "annotations-INITIAL_FORMS": "0",
        "annotations-MIN_NUM_FORMS": "0",
        "annotations-MAX_NUM_FORMS": "1000",
    }
    response = admin_client.post(reverse("admin:gateways_gateway_add"), {**data, "gateway_name": ""})
    assert response.status_code == 200
    assert "gateway_name" in response.context["adminform"].form.errors
    response = admin_client.post(reverse("admin:gateways_gateway_add"), data)
    assert response.status_code == 302, response.content.decode()[-2000:]
    gateway = Gateway.objects.get(name="mesh")
    assert gateway.parent() == manifest.GatewayParent("platform", "mesh", "web", "websecure")
    with pytest.raises(NotFound):
        kube.request("GET", f"/apis/networking.k8s.io/v1/ingressclasses/{gateway.ingress_class}")


# -- hosts on a shared Gateway ---------------------------------------------------------


@pytest.fixture
def rival(edge, django_user_model, cluster, kube) -> tuple:
    """Another tenant whose own gateway row points at the same Gateway, with a client of its admin."""
    from django.test import Client

    from kubegems_routes.demo.seed import seed_cluster_objects
    from kubegems_routes.tenancy.models import Environment, Project, Tenant, TenantMember

    namespace = f"r-{uuid.uuid4().hex[:10]}"
    ensure_namespace(kube, namespace)
    tenant = Tenant.objects.create(name="rival")
    env = Environment.objects.create(
        project=Project.objects.create(tenant=tenant, name="shop"), cluster=cluster, name="dev", namespace=namespace
    )
    gateway = Gateway.objects.create(
        cluster=cluster,
        tenant=tenant,
        name="edge",
        kind=Gateway.Kind.GATEWAY_API,
        gateway_namespace=edge.gateway_namespace,
        gateway_name=edge.gateway_name,
        http_listener="http",
        https_listener="https",
        default_domain="*.rival.example.com",
        extra_domains=DOMAINS,
    )
    seed_cluster_objects(cluster, namespace)
    user = django_user_model.objects.create_user("rita", password="pw")
    TenantMember.objects.create(tenant=tenant, user=user, role=TenantMember.Role.ADMIN)
    client = Client()
    client.force_login(user)
    return client, env, gateway


def test_a_host_on_a_shared_gateway_belongs_to_the_tenant_that_took_it(operator_client, environment, edge, rival, kube):
    _save(operator_client, environment, edge, host="shop.shared.example.com")
    client, env, gateway = rival
    response = client.post(create_url(env), route_data(gateway, host="shop.shared.example.com"))
    assert response.status_code == 200
    assert "another tenant" in str(response.context["form"].errors["host"])
    assert not Route.objects.filter(environment=env).exists()
    with pytest.raises(NotFound):
        kube.get_gateway_route("HTTPRoute", env.namespace, "shop")
    # A wildcard over it is refused too; another host is free.
    response = client.post(create_url(env), route_data(gateway, host="*.shared.example.com"))
    assert "host" in response.context["form"].errors
    _save(client, env, gateway, host="rival.shared.example.com")


def _attach(kube, namespace, edge, name="theirs", **spec):
    body = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"parentRefs": [{"namespace": edge.gateway_namespace, "name": edge.gateway_name}], **spec},
    }
    kube.create_gateway_route("HTTPRoute", namespace, body)


def test_an_httproute_written_outside_the_console_owns_its_hosts(operator_client, environment, edge, kube):
    elsewhere = f"x-{uuid.uuid4().hex[:10]}"
    ensure_namespace(kube, elsewhere)
    _attach(kube, elsewhere, edge, hostnames=["*.taken.example.com"])
    response = operator_client.post(create_url(environment), route_data(edge, host="shop.taken.example.com"))
    assert "another tenant" in str(response.context["form"].errors["host"])
    # The same host on another Gateway is not this Gateway's business.
    _attach(kube, elsewhere, edge, name="other-gateway", hostnames=["free.example.com"])
    other = kube.get_gateway_route("HTTPRoute", elsewhere, "other-gateway")
    other["spec"]["parentRefs"] = [{"namespace": "platform", "name": "somewhere-else"}]
    kube.replace_gateway_route("HTTPRoute", elsewhere, "other-gateway", other)
    _save(operator_client, environment, edge, host="free.example.com")


def test_an_httproute_without_hostnames_serves_every_host_of_the_gateway(operator_client, environment, edge, kube):
    elsewhere = f"x-{uuid.uuid4().hex[:10]}"
    ensure_namespace(kube, elsewhere)
    _attach(kube, elsewhere, edge)
    response = operator_client.post(create_url(environment), route_data(edge, host="anything.example.com"))
    assert "host" in response.context["form"].errors
    assert not Route.objects.exists()
