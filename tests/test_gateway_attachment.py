"""allowedRoutes: whether a Gateway's listener admits a route from an environment's namespace.

The rule is a pure function (unit tests first); then against the real API
server with real Gateway objects, through the form, from the cluster's cache
and without it.
"""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from kubegems_routes.gateways.models import Gateway
from kubegems_routes.kube.cache import LabelRequirement, slim_gateway
from kubegems_routes.kube.errors import NotFound
from kubegems_routes.routes import attachment
from kubegems_routes.routes.attachment import Refusal, refusal, selector_matches
from kubegems_routes.routes.models import Route
from tests.helpers import (
    action_url,
    create_url,
    gateway_listener,
    gateway_manifest,
    put_gateway,
    route_data,
    synced,
    until,
)
from tests.kube_calls import record_calls

HTTP_ROUTE, GRPC_ROUTE = "HTTPRoute", "GRPCRoute"


listener = gateway_listener
gateway = gateway_manifest


def _judge(*listeners: dict, section: str = "http", kind: str = HTTP_ROUTE, namespace: str = "shop", labels=None):
    record = slim_gateway(gateway("platform", "edge", *listeners))
    return refusal(record, section, kind, namespace, labels or {})


# -- the rule ------------------------------------------------------------------------


def test_same_is_the_default_and_admits_only_the_gateways_namespace():
    assert _judge(listener()) == Refusal(attachment.NAMESPACE, "http")
    assert _judge(listener(namespaces={"from": "Same"})) == Refusal(attachment.NAMESPACE, "http")
    assert _judge(listener(), namespace="platform") is None


def test_all_admits_every_namespace():
    assert _judge(listener(namespaces={"from": "All"})) is None


@pytest.mark.parametrize(
    ("selector", "labels", "admitted"),
    [
        ({"matchLabels": {"tier": "shared"}}, {"tier": "shared", "x": "y"}, True),
        ({"matchLabels": {"tier": "shared"}}, {"tier": "private"}, False),
        ({"matchLabels": {"tier": "shared"}}, {}, False),
        ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]}, {"tier": "b"}, True),
        ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]}, {"tier": "c"}, False),
        ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["a"]}]}, {}, False),
        ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["a"]}]}, {"tier": "b"}, True),
        ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["a"]}]}, {}, True),
        ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["a"]}]}, {"tier": "a"}, False),
        ({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, {"tier": ""}, True),
        ({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, {"other": "x"}, False),
        ({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, {"other": "x"}, True),
        ({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, {"tier": "x"}, False),
        # matchLabels and every expression must all hold.
        (
            {
                "matchLabels": {"team": "shop"},
                "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a"]}],
            },
            {"team": "shop", "tier": "b"},
            False,
        ),
        # An empty selector selects every namespace, as in Kubernetes.
        ({}, {}, True),
    ],
)
def test_selector_admits_namespaces_whose_labels_match(selector, labels, admitted):
    found = _judge(listener(namespaces={"from": "Selector", "selector": selector}), labels=labels)
    assert (found is None) == admitted, found


def test_an_unknown_operator_matches_nothing():
    assert not selector_matches({}, (LabelRequirement("tier", "Gt", ("1",)),), {"tier": "2"})


def test_kinds_listed_on_the_listener_decide_which_routes_attach():
    only_grpc = listener(namespaces={"from": "All"}, kinds=[{"kind": "GRPCRoute"}])
    assert _judge(only_grpc, kind=GRPC_ROUTE) is None
    assert _judge(only_grpc, kind=HTTP_ROUTE) == Refusal(attachment.KIND, "http")
    other_group = listener(namespaces={"from": "All"}, kinds=[{"group": "example.com", "kind": "HTTPRoute"}])
    assert _judge(other_group) == Refusal(attachment.KIND, "http")


def test_without_kinds_the_protocol_decides():
    assert _judge(listener(namespaces={"from": "All"}), kind=GRPC_ROUTE) is None
    tls = {"name": "tls", "protocol": "TLS", "port": 8443, "allowedRoutes": {"namespaces": {"from": "All"}}}
    assert _judge(tls, section="tls") == Refusal(attachment.KIND, "tls")


def test_a_section_the_gateway_lacks_is_said():
    assert _judge(listener(namespaces={"from": "All"}), section="web") == Refusal(attachment.NO_LISTENER, "web")


def test_without_a_section_one_admitting_listener_is_enough():
    closed = listener("internal")
    open_ = listener("public", namespaces={"from": "All"})
    assert _judge(closed, open_, section="") is None
    assert _judge(closed, section="") == Refusal(attachment.NONE_ADMITS)
    # One admits the namespace, another the kind: neither admits the route.
    grpc_only_same = listener("grpc", kinds=[{"kind": "GRPCRoute"}])
    all_http_only = listener("web", namespaces={"from": "All"}, kinds=[{"kind": "HTTPRoute"}])
    assert _judge(grpc_only_same, all_http_only, section="", kind=GRPC_ROUTE) == Refusal(attachment.NONE_ADMITS)


# -- against the API server -------------------------------------------------------------


def _gateway_row(environment, gateway_name: str, **fields: str) -> Gateway:
    return Gateway.objects.create(
        cluster=environment.cluster,
        tenant=environment.project.tenant,
        name="edge",
        kind=Gateway.Kind.GATEWAY_API,
        gateway_namespace="platform",
        gateway_name=gateway_name,
        default_domain="*.acme.example.com",
        **fields,
    )


@pytest.fixture
def labelled(kube, environment) -> str:
    """The environment's Namespace labelled tier=shared; returns a fresh Gateway name."""
    ns = kube.get_namespace(environment.namespace)
    ns["metadata"].setdefault("labels", {})["tier"] = "shared"
    kube.request("PUT", f"/api/v1/namespaces/{environment.namespace}", body=ns)
    return f"gw-{uuid.uuid4().hex[:10]}"


def _selector_gateway(name: str, value: str) -> dict:
    selector = {"from": "Selector", "selector": {"matchLabels": {"tier": value}}}
    return gateway(
        "platform",
        name,
        listener("http", namespaces=selector),
        listener("https", "HTTPS", namespaces=selector),
    )


@pytest.mark.django_db
@pytest.mark.parametrize("cached", [False, True], ids=["direct", "cached"])
def test_a_selector_that_does_not_match_the_namespace_is_refused_on_the_gateway_field(
    cached, request, gateway_api, operator_client, environment, labelled, kube
):
    if cached:
        request.getfixturevalue("kube_cache")
    put_gateway(kube, _selector_gateway(labelled, "private"))
    edge = _gateway_row(environment, labelled, http_listener="http", https_listener="https")
    if cached:
        cache = synced(environment.cluster)
        assert cache.wait_gateway_api_synced(20)
        until(lambda: cache.gateway("platform", labelled) is not None)
    with record_calls() as calls:
        response = operator_client.post(create_url(environment), route_data(edge))
    assert response.status_code == 200
    errors = str(response.context["form"].errors["gateway"])
    assert f"Listener http of Gateway platform/{labelled} does not admit routes from namespace" in errors
    assert environment.namespace in errors
    assert not Route.objects.exists()
    with pytest.raises(NotFound):
        kube.get_gateway_route("HTTPRoute", environment.namespace, "shop")
    reads = [path for _method, path in calls]
    gateway_read = f"/apis/gateway.networking.k8s.io/v1/namespaces/platform/gateways/{labelled}"
    namespace_read = f"/api/v1/namespaces/{environment.namespace}"
    # Read once each: without a cache, to judge; with one, to confirm the cache's refusal (it may trail
    # a Gateway or a label changed a moment ago). An admitted save reads neither from a synced cache
    # (test_kube_cache_gateway_api.py).
    assert reads.count(gateway_read) == 1 and reads.count(namespace_read) == 1, reads


@pytest.mark.django_db
def test_a_matching_selector_admits_the_route(gateway_api, operator_client, environment, labelled, kube):
    put_gateway(kube, _selector_gateway(labelled, "shared"))
    edge = _gateway_row(environment, labelled, http_listener="http", https_listener="https")
    response = operator_client.post(create_url(environment), route_data(edge, protocol="grpc"))
    assert response.status_code == 302, response.content.decode()[:2000]
    kube.get_gateway_route("GRPCRoute", environment.namespace, "shop")


@pytest.mark.django_db
def test_a_missing_gateway_or_listener_is_said_on_the_gateway_field(gateway_api, operator_client, environment, kube):
    name = f"gw-{uuid.uuid4().hex[:10]}"
    edge = _gateway_row(environment, name, http_listener="web")
    response = operator_client.post(create_url(environment), route_data(edge))
    assert f"Gateway platform/{name} does not exist in the cluster" in str(response.context["form"].errors["gateway"])
    put_gateway(kube, gateway("platform", name, listener("http", namespaces={"from": "All"})))
    response = operator_client.post(create_url(environment), route_data(edge))
    assert f"Gateway platform/{name} has no listener named web" in str(response.context["form"].errors["gateway"])
    assert not Route.objects.exists()
    # Attached to the whole Gateway (no listener named): any listener that admits the route will do.
    edge.http_listener = ""
    edge.save()
    assert operator_client.post(create_url(environment), route_data(edge)).status_code == 302


@pytest.mark.django_db
def test_the_form_says_it_live_when_the_gateway_is_chosen(
    kube_cache, gateway_api, operator_client, environment, labelled, kube
):
    selector = {"from": "Selector", "selector": {"matchLabels": {"tier": "shared"}}}
    put_gateway(
        kube,
        gateway("platform", labelled, listener("http", namespaces=selector), listener("https", "HTTPS")),
    )
    edge = _gateway_row(environment, labelled, http_listener="http", https_listener="https")
    cache = synced(environment.cluster)
    assert cache.wait_gateway_api_synced(20)
    until(lambda: cache.gateway("platform", labelled) is not None)
    until(lambda: (cache.namespace_labels(environment.namespace) or {}).get("tier") == "shared")
    with record_calls() as calls:
        http = operator_client.post(action_url(environment, "secret"), route_data(edge), HTTP_HX_REQUEST="true")
        https = operator_client.post(
            action_url(environment, "secret"), route_data(edge, protocol="https"), HTTP_HX_REQUEST="true"
        )
    assert calls == []
    assert 'id="attachment-warning"' not in http.content.decode()
    body = https.content.decode()
    assert 'id="attachment-warning"' in body
    assert f"Listener https of Gateway platform/{labelled} does not admit routes from namespace" in body


@pytest.mark.django_db
def test_an_edit_is_checked_too(gateway_api, operator_client, environment, labelled, kube):
    put_gateway(kube, _selector_gateway(labelled, "shared"))
    edge = _gateway_row(environment, labelled, http_listener="http", https_listener="https")
    assert operator_client.post(create_url(environment), route_data(edge)).status_code == 302
    ns = kube.get_namespace(environment.namespace)
    ns["metadata"]["labels"]["tier"] = "moved"
    kube.request("PUT", f"/api/v1/namespaces/{environment.namespace}", body=ns)
    edit = reverse("routes:edit", args=[environment.pk, "shop"])
    version = operator_client.get(edit).context["form"]["resource_version"].value()
    response = operator_client.post(edit, route_data(edge, resource_version=version, **{"paths-0-path": "/x"}))
    assert "does not admit routes from namespace" in str(response.context["form"].errors["gateway"])
    live = kube.get_gateway_route("HTTPRoute", environment.namespace, "shop")
    assert live["spec"]["rules"][0]["matches"][0]["path"]["value"] == "/"
