"""Moving a route between an ingress-class gateway and a Gateway API gateway (or between HTTPRoute and
GRPCRoute): one step the user confirms, the new object created before the old one is deleted, and after
any failure the cluster holds the old object only. Against the session's real API server, with Gateway
API's CRDs installed (``gateway_api``), so its schema and CEL rules judge every object."""

from __future__ import annotations

import time

import kubernetes.client as k8s
import pytest
from django.urls import reverse

from kubegems_routes.gateways.models import Gateway
from kubegems_routes.kube.client import KubeClient
from kubegems_routes.kube.errors import KubeError, NotFound
from kubegems_routes.routes.errors import KindSwitch
from kubegems_routes.routes.models import AuditEntry, HostClaim, Route
from kubegems_routes.routes.saving import save_route
from kubegems_routes.routes.values import RouteValues
from tests.helpers import action_url, create_route, deny_ingress_operation, gateway_api_gateway, ingress, route_data

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def edge(gateway_api, environment, kube) -> Gateway:
    return gateway_api_gateway(environment, kube)


def _public(environment) -> Gateway:
    return Gateway.objects.get(cluster=environment.cluster, tenant=environment.project.tenant, name="public")


def _edit_url(environment, name: str = "shop") -> str:
    return reverse("routes:edit", args=[environment.pk, name])


def _opened(client, environment, name: str = "shop") -> str:
    """The resourceVersion an edit starts from, as the edit page puts it in the form."""
    return client.get(_edit_url(environment, name)).context["form"]["resource_version"].value()


def _claims(environment) -> set[tuple[str, str]]:
    return set(HostClaim.objects.filter(cluster=environment.cluster).values_list("ingress_class", "host"))


def test_moving_an_ingress_route_to_a_gateway_api_gateway_needs_the_confirmation_and_keeps_the_input(
    operator_client, environment, edge, kube: KubeClient
):
    create_route(operator_client, environment, _public(environment))
    before = kube.get_ingress(environment.namespace, "shop")
    data = route_data(
        edge,
        resource_version=_opened(operator_client, environment),
        host="moved.acme.example.com",
        **{"paths-0-path": "/moved", "annotations-0-key": "example.com/owner", "annotations-0-value": "shop"},
    )
    response = operator_client.post(_edit_url(environment), data)

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "deletes Ingress shop and creates HTTPRoute shop" in str(errors["switch_to"])
    assert "gateway" not in errors
    page = response.content.decode()
    # The page says what will happen, offers the box, and keeps everything typed.
    assert 'id="id_switch_to"' in page and 'value="HTTPRoute"' in page
    assert "saving creates HTTPRoute shop, then deletes Ingress shop" in page
    assert 'value="moved.acme.example.com"' in page and 'value="/moved"' in page and 'value="shop"' in page
    # Nothing changed: the row, the Ingress (same version), no HTTPRoute.
    route = Route.objects.get(name="shop")
    assert (route.gateway, route.host) == (_public(environment), "shop.acme.example.com")
    assert (
        kube.get_ingress(environment.namespace, "shop")["metadata"]["resourceVersion"]
        == (before["metadata"]["resourceVersion"])
    )
    with pytest.raises(NotFound):
        kube.get_gateway_route("HTTPRoute", environment.namespace, "shop")
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.SWITCH).exists()


def test_a_confirmed_switch_replaces_the_ingress_by_an_httproute(operator_client, environment, edge, kube):
    namespace = environment.namespace
    create_route(operator_client, environment, _public(environment))
    claims_before = _claims(environment)
    assert claims_before == {(f"public-{namespace}", "shop.acme.example.com")}
    data = route_data(
        edge,
        resource_version=_opened(operator_client, environment),
        switch_to="HTTPRoute",
        protocol="https",
        **{"paths-0-path": "/shop", "paths-0-path_type": "Exact"},
    )
    response = operator_client.post(_edit_url(environment), data)
    assert response.status_code == 302, response.content.decode()[:3000]

    with pytest.raises(NotFound):
        kube.get_ingress(namespace, "shop")
    stored = kube.get_gateway_route("HTTPRoute", namespace, "shop")
    assert stored["metadata"]["labels"]["kubegems.io/gateway"] == "edge"
    assert stored["spec"]["parentRefs"] == [
        {
            "group": "gateway.networking.k8s.io",
            "kind": "Gateway",
            "namespace": "platform",
            "name": edge.gateway_name,
            "sectionName": "https",
        }
    ]
    assert stored["spec"]["hostnames"] == ["shop.acme.example.com"]
    assert stored["spec"]["rules"] == [
        {
            "matches": [{"path": {"type": "Exact", "value": "/shop"}}],
            "backendRefs": [{"group": "", "kind": "Service", "name": "web", "port": 80, "weight": 1}],
        }
    ]
    route = Route.objects.get(name="shop")
    assert (route.gateway, route.protocol, route.tls_secret) == (edge, "https", "")
    assert route.resource_version == stored["metadata"]["resourceVersion"]
    entry = AuditEntry.objects.get(environment=environment, route_name="shop", action=AuditEntry.Action.SWITCH)
    assert entry.manifest["kind"] == "HTTPRoute" and entry.user.username == "olivia"
    # The host is now claimed on the Gateway; the ingress class's claim went with the Ingress.
    assert _claims(environment) == {(f"platform/{edge.gateway_name}", "shop.acme.example.com")}
    detail = operator_client.get(reverse("routes:detail", args=[environment.pk, "shop"]))
    assert detail.context["sync"] == "in-sync" and detail.context["kind"] == "HTTPRoute"


def test_a_confirmed_switch_moves_an_httproute_back_to_an_ingress(operator_client, environment, edge, kube):
    namespace = environment.namespace
    create_route(operator_client, environment, edge, protocol="wss", **{"paths-0-service": "api", "paths-0-port": "ws"})
    data = route_data(
        _public(environment),
        resource_version=_opened(operator_client, environment),
        switch_to="Ingress",
        protocol="wss",
        tls_secret="demo-tls",
        **{"paths-0-service": "api", "paths-0-port": "ws"},
    )
    response = operator_client.post(_edit_url(environment), data)
    assert response.status_code == 302, response.content.decode()[:3000]

    with pytest.raises(NotFound):
        kube.get_gateway_route("HTTPRoute", namespace, "shop")
    stored = kube.get_ingress(namespace, "shop")
    assert stored["spec"]["ingressClassName"] == f"public-{namespace}"
    assert stored["spec"]["tls"] == [{"hosts": ["shop.acme.example.com"], "secretName": "demo-tls"}]
    assert stored["metadata"]["annotations"] == {"nginx.org/websocket-services": "api"}
    assert stored["spec"]["rules"][0]["http"]["paths"][0]["backend"] == {
        "service": {"name": "api", "port": {"name": "ws"}}
    }
    route = Route.objects.get(name="shop")
    assert (route.gateway, route.tls_secret) == (_public(environment), "demo-tls")
    assert operator_client.get(reverse("routes:detail", args=[environment.pk, "shop"])).context["sync"] == "in-sync"


def test_a_grpc_ingress_route_becomes_a_grpcroute(operator_client, environment, edge, kube):
    namespace = environment.namespace
    grpc = {"paths-0-path": "/grpc.health.v1.Health", "paths-0-service": "api", "paths-0-port": "grpc"}
    create_route(operator_client, environment, _public(environment), protocol="grpc", tls_secret="demo-tls", **grpc)
    data = route_data(
        edge,
        resource_version=_opened(operator_client, environment),
        protocol="grpc",
        **grpc,
    )
    response = operator_client.post(_edit_url(environment), data)
    assert "deletes Ingress shop and creates GRPCRoute shop" in str(response.context["form"].errors["switch_to"])
    response = operator_client.post(_edit_url(environment), {**data, "switch_to": "GRPCRoute"})
    assert response.status_code == 302, response.content.decode()[:3000]

    with pytest.raises(NotFound):
        kube.get_ingress(namespace, "shop")
    stored = kube.get_gateway_route("GRPCRoute", namespace, "shop")
    assert stored["spec"]["parentRefs"][0]["sectionName"] == "https"
    assert stored["spec"]["rules"] == [
        {
            "matches": [{"method": {"type": "Exact", "service": "grpc.health.v1.Health"}}],
            "backendRefs": [{"group": "", "kind": "Service", "name": "api", "port": 50051, "weight": 1}],
        }
    ]
    assert Route.objects.get(name="shop").tls_secret == ""


def test_http_to_grpc_on_the_same_gateway_is_a_switch_and_the_routes_own_httproute_is_no_conflict(
    operator_client, environment, edge, kube
):
    namespace = environment.namespace
    create_route(operator_client, environment, edge)
    claims = _claims(environment)
    data = route_data(
        edge,
        resource_version=_opened(operator_client, environment),
        protocol="grpc",
        switch_to="GRPCRoute",
        **{"paths-0-service": "api", "paths-0-port": "grpc"},
    )
    # The route's own HTTPRoute serves the same host on the same Gateway: not a conflict.
    response = operator_client.post(_edit_url(environment), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    with pytest.raises(NotFound):
        kube.get_gateway_route("HTTPRoute", namespace, "shop")
    assert kube.get_gateway_route("GRPCRoute", namespace, "shop")["spec"]["hostnames"] == ["shop.acme.example.com"]
    assert _claims(environment) == claims


def test_htmx_shows_the_switch_live_and_a_tick_confirms_only_the_switch_it_was_given_for(
    operator_client, environment, edge
):
    create_route(operator_client, environment, _public(environment))
    url = action_url(environment, "switch", "shop")
    body = operator_client.post(url, route_data(edge), **HX).content.decode()
    assert 'id="switch-field"' in body
    assert 'name="switch_to" value="HTTPRoute"' in body and "checked" not in body
    assert "creates HTTPRoute shop, then deletes Ingress shop" in body
    # Ticked for an HTTPRoute, then the protocol made it a GRPCRoute: not confirmed any more.
    body = operator_client.post(url, route_data(edge, protocol="grpc", switch_to="HTTPRoute"), **HX).content.decode()
    assert 'value="GRPCRoute"' in body and "checked" not in body
    body = operator_client.post(url, route_data(edge, switch_to="HTTPRoute"), **HX).content.decode()
    assert "checked" in body
    # Back on its own gateway: nothing to confirm.
    body = operator_client.post(url, route_data(_public(environment)), **HX).content.decode()
    assert 'id="switch-field"' in body and "switch_to" not in body
    # The edit page wires the swap to the gateway and protocol selects; the create page has no switch.
    page = operator_client.get(_edit_url(environment)).content.decode()
    assert 'hx-trigger="change from:#id_gateway, change from:#id_protocol"' in page
    assert "switch-field" not in operator_client.get(reverse("routes:create", args=[environment.pk])).content.decode()
    # Without JavaScript a row action keeps the tick.
    page = operator_client.post(action_url(environment, "add-path", "shop"), route_data(edge, switch_to="HTTPRoute"))
    assert 'value="HTTPRoute" id="id_switch_to" checked' in page.content.decode()


def test_the_service_refuses_a_switch_without_its_confirmation(operator_client, environment, edge, kube):
    route = create_route(operator_client, environment, _public(environment))
    values = RouteValues(
        gateway=edge, host=route.host, protocol="http", tls_secret="", backends=route.backends(), switch_to="GRPCRoute"
    )
    with pytest.raises(KindSwitch):
        save_route(Route.objects.get(pk=route.pk), values, route.created_by)
    assert Route.objects.get(pk=route.pk).gateway == _public(environment)
    kube.get_ingress(environment.namespace, "shop")
    with pytest.raises(NotFound):
        kube.get_gateway_route("HTTPRoute", environment.namespace, "shop")


def test_a_create_the_api_server_refuses_leaves_the_ingress_and_the_row_as_they_were(
    operator_client, environment, edge, kube
):
    namespace = environment.namespace
    create_route(operator_client, environment, _public(environment))
    before = kube.get_ingress(namespace, "shop")
    claims = _claims(environment)
    # "/a//b" is a fine Ingress path; Gateway API's CEL rules refuse it in an HTTPRoute (422).
    data = route_data(
        edge, resource_version=_opened(operator_client, environment), switch_to="HTTPRoute", **{"paths-0-path": "/a//b"}
    )
    response = operator_client.post(_edit_url(environment), data)
    assert response.status_code == 200
    editor = response.context["editor"]
    assert editor.paths.forms[0].errors.get("path"), editor.errors()

    assert kube.get_ingress(namespace, "shop")["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    with pytest.raises(NotFound):
        kube.get_gateway_route("HTTPRoute", namespace, "shop")
    route = Route.objects.get(name="shop")
    assert (route.gateway, [p.path for p in route.paths.all()]) == (_public(environment), ["/"])
    assert route.resource_version == before["metadata"]["resourceVersion"]
    assert _claims(environment) == claims
    assert list(AuditEntry.objects.values_list("action", flat=True)) == [AuditEntry.Action.CREATE]


def _refuse_ingress_deletes(kube: KubeClient, namespace: str) -> str:
    """A ValidatingAdmissionPolicy of the API server denies every delete of an Ingress in the namespace."""
    policy = deny_ingress_operation(
        kube,
        f"no-delete-{namespace}",
        "DELETE",
        f"oldObject.metadata.namespace != '{namespace}'",
        "Ingresses of this namespace are never deleted",
    )
    # The policy takes effect a moment later: wait until a probe Ingress cannot be deleted.
    kube.create_ingress(namespace, ingress(namespace, name="probe", ingress_class="probe"))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            kube.delete_ingress(namespace, "probe", missing_ok=False)
        except KubeError:
            return policy
        kube.create_ingress(namespace, ingress(namespace, name="probe", ingress_class="probe"))
        time.sleep(0.2)
    raise AssertionError("the admission policy did not take effect")


def _drop_policy(kube: KubeClient, policy: str) -> None:
    api = k8s.AdmissionregistrationV1Api(kube._api)
    api.delete_validating_admission_policy_binding(policy)
    api.delete_validating_admission_policy(policy)


def test_a_delete_the_api_server_refuses_takes_the_new_object_back(operator_client, environment, edge, kube):
    namespace = environment.namespace
    create_route(operator_client, environment, _public(environment))
    opened = _opened(operator_client, environment)
    claims = _claims(environment)
    policy = _refuse_ingress_deletes(kube, namespace)
    try:
        data = route_data(edge, resource_version=opened, switch_to="HTTPRoute")
        response = operator_client.post(_edit_url(environment), data)
    finally:
        _drop_policy(kube, policy)
    assert response.status_code == 200
    errors = response.context["form"].non_field_errors()
    assert any("did not delete Ingress shop, so HTTPRoute shop was deleted again" in e for e in errors), errors
    # Only the old object: the Ingress as it was, no HTTPRoute; the row and the claims as they were.
    assert kube.get_ingress(namespace, "shop")["metadata"]["resourceVersion"] == opened
    with pytest.raises(NotFound):
        kube.get_gateway_route("HTTPRoute", namespace, "shop")
    route = Route.objects.get(name="shop")
    assert (route.gateway, route.resource_version) == (_public(environment), opened)
    assert _claims(environment) == claims
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.SWITCH).exists()


def test_an_ingress_changed_since_the_form_opened_is_kept_and_the_switch_refused(
    operator_client, environment, edge, kube
):
    namespace = environment.namespace
    create_route(operator_client, environment, _public(environment))
    opened = _opened(operator_client, environment)
    live = kube.get_ingress(namespace, "shop")
    live["metadata"]["annotations"] = {"example.com/edited": "by-kubectl"}
    kube.replace_ingress(namespace, "shop", live)

    response = operator_client.post(
        _edit_url(environment), route_data(edge, resource_version=opened, switch_to="HTTPRoute")
    )
    assert response.status_code == 200
    assert "by-kubectl" in response.context["conflict_diff"]
    assert kube.get_ingress(namespace, "shop")["metadata"]["annotations"] == {"example.com/edited": "by-kubectl"}
    with pytest.raises(NotFound):
        kube.get_gateway_route("HTTPRoute", namespace, "shop")
    assert Route.objects.get(name="shop").gateway == _public(environment)
