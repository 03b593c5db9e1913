"""HTTPRoute and GRPCRoute built from a route: pure builders, then judged by the API server.

The API-server tests install Gateway API's standard CRDs (v1.6.3), so its
schema, defaults and CEL rules decide, not this project's idea of them.
"""

from __future__ import annotations

import pytest

from kubegems_routes.kube.errors import Invalid
from kubegems_routes.routes import manifest

PARENT = manifest.GatewayParent(namespace="platform", name="edge", http_listener="http", https_listener="https")


def _spec(protocol: str, **overrides) -> manifest.RouteSpec:
    values = {
        "name": "shop",
        "namespace": "ns",
        "host": "shop.example.com",
        "protocol": protocol,
        "ingress_class": "",
        "backends": (
            manifest.Backend(path="/", service="web", port="80"),
            manifest.Backend(path="/api", service="api", port="http", path_type="Exact"),
        ),
        "tls_secret": "",
        "labels": {manifest.LABEL_MANAGED_BY: manifest.MANAGED_BY, manifest.LABEL_ROUTE: "shop"},
        "parent": PARENT,
        "port_numbers": {("api", "http"): 8080, ("api", "grpc"): 9090},
    }
    values.update(overrides)
    return manifest.RouteSpec(**values)


@pytest.mark.parametrize(
    ("protocol", "listener"), [("http", "http"), ("ws", "http"), ("https", "https"), ("wss", "https")]
)
def test_http_protocols_become_an_httproute_on_the_listener_of_their_protocol(protocol, listener):
    route = manifest.build(_spec(protocol))
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert route["kind"] == "HTTPRoute"
    assert route["spec"]["parentRefs"] == [
        {
            "group": "gateway.networking.k8s.io",
            "kind": "Gateway",
            "namespace": "platform",
            "name": "edge",
            "sectionName": listener,
        }
    ]
    assert route["spec"]["hostnames"] == ["shop.example.com"]


def test_one_rule_per_path_with_gateway_path_types_and_port_numbers():
    rules = manifest.build(_spec("http"))["spec"]["rules"]
    assert rules == [
        {
            "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
            "backendRefs": [{"group": "", "kind": "Service", "name": "web", "port": 80, "weight": 1}],
        },
        {
            "matches": [{"path": {"type": "Exact", "value": "/api"}}],
            "backendRefs": [{"group": "", "kind": "Service", "name": "api", "port": 8080, "weight": 1}],
        },
    ]


def test_a_port_name_the_service_lacks_is_refused_before_any_call():
    spec = _spec("http", backends=(manifest.Backend(path="/", service="web", port="admin"),))
    with pytest.raises(manifest.UnresolvedPort) as caught:
        manifest.build(spec)
    assert (caught.value.service, caught.value.port) == ("web", "admin")


def test_implementation_specific_is_not_offered_on_gateway_api():
    spec = _spec(
        "http", backends=(manifest.Backend(path="/", service="web", port="80", path_type="ImplementationSpecific"),)
    )
    with pytest.raises(ValueError, match="ImplementationSpecific"):
        manifest.build(spec)


def test_grpc_becomes_a_grpcroute_matching_services_and_methods_by_path():
    spec = _spec(
        "grpc",
        backends=(
            manifest.Backend(path="/", service="api", port="grpc"),
            manifest.Backend(path="/grpc.health.v1.Health", service="api", port="grpc"),
            manifest.Backend(path="/shop.Cart/Add", service="web", port="9000", path_type="Exact"),
        ),
    )
    route = manifest.build(spec)
    assert route["kind"] == "GRPCRoute"
    assert route["spec"]["parentRefs"][0]["sectionName"] == "https"
    ref = {"group": "", "kind": "Service", "name": "api", "port": 9090, "weight": 1}
    assert route["spec"]["rules"] == [
        {"backendRefs": [ref]},
        {"matches": [{"method": {"type": "Exact", "service": "grpc.health.v1.Health"}}], "backendRefs": [ref]},
        {
            "matches": [{"method": {"type": "Exact", "service": "shop.Cart", "method": "Add"}}],
            "backendRefs": [{**ref, "name": "web", "port": 9000}],
        },
    ]


@pytest.mark.parametrize("protocol", ["ws", "wss", "grpc"])
def test_gateway_api_generates_no_protocol_annotation_but_keeps_defaults_and_the_users(protocol):
    spec = _spec(
        protocol,
        gateway_annotations={"example.com/team": "edge", "example.com/timeout": "30s"},
        annotations={"example.com/timeout": "90s"},
        backends=(manifest.Backend(path="/", service="api", port="grpc"),),
    )
    assert manifest.build(spec)["metadata"]["annotations"] == {
        "example.com/team": "edge",
        "example.com/timeout": "90s",
    }


def test_a_listener_left_empty_attaches_to_the_whole_gateway():
    spec = _spec("http", parent=manifest.GatewayParent(namespace="platform", name="edge"))
    assert "sectionName" not in manifest.build(spec)["spec"]["parentRefs"][0]


def test_an_ingress_class_gateway_still_gets_an_ingress():
    assert manifest.build(_spec("ws", parent=None, ingress_class="public"))["kind"] == "Ingress"


@pytest.mark.parametrize(
    ("field_path", "expected"),
    [
        ("spec.hostnames[0]", ("host", None)),
        ("spec.parentRefs", ("gateway", None)),
        ("spec.rules[1].matches[0].path", ("path", 1)),
        ("spec.rules[1].matches[0].path.value", ("path", 1)),
        ("spec.rules[2].matches[0].path.type", ("path_type", 2)),
        ("spec.rules[0].matches[0].method", ("path", 0)),
        ("spec.rules[3].backendRefs[0].port", ("port", 3)),
        ("spec.rules[3].backendRefs[0].name", ("service", 3)),
        ("spec.rules[3].backendRefs[0]", ("service", 3)),
        ("spec.rules[4]", ("path", 4)),
    ],
)
def test_gateway_route_causes_point_at_form_fields(field_path, expected):
    assert manifest.route_field(field_path) == expected


# -- judged by the API server ----------------------------------------------------


def _create(kube, namespace: str, route: dict) -> dict:
    return kube.create_gateway_route(route["kind"], namespace, route)


@pytest.mark.parametrize("protocol", ["http", "https", "ws", "wss", "grpc"])
def test_the_api_server_stores_each_protocols_route_field_by_field(gateway_api, kube, namespace, protocol):
    spec = _spec(
        protocol,
        namespace=namespace,
        annotations={"example.com/owner": "shop"},
        backends=(
            manifest.Backend(path="/", service="web", port="80"),
            manifest.Backend(
                path="/shop.Cart" if protocol == "grpc" else "/api",
                service="api",
                port="grpc" if protocol == "grpc" else "http",
            ),
        ),
    )
    built = manifest.build(spec)
    _create(kube, namespace, built)
    stored = kube.get_gateway_route(built["kind"], namespace, "shop")
    assert stored["kind"] == built["kind"]
    assert stored["metadata"]["labels"] == built["metadata"]["labels"]
    assert stored["metadata"]["annotations"] == {"example.com/owner": "shop"}
    assert stored["spec"]["parentRefs"] == built["spec"]["parentRefs"]
    assert stored["spec"]["hostnames"] == ["shop.example.com"]
    assert len(stored["spec"]["rules"]) == 2
    for stored_rule, built_rule in zip(stored["spec"]["rules"], built["spec"]["rules"], strict=True):
        assert stored_rule["backendRefs"] == built_rule["backendRefs"]
        if protocol != "grpc":
            assert stored_rule["matches"] == built_rule["matches"]
    if protocol == "grpc":
        assert stored["spec"]["rules"][1]["matches"] == [{"method": {"type": "Exact", "service": "shop.Cart"}}]
    assert {k: v for k, v in stored["spec"].items() if k not in built["spec"]} == {}


def _refused(kube, namespace: str, spec: manifest.RouteSpec) -> set[tuple[str, int | None] | None]:
    with pytest.raises(Invalid) as caught:
        _create(kube, namespace, manifest.build(spec))
    assert caught.value.causes, caught.value.message
    return {manifest.route_field(cause.field) for cause in caught.value.causes}


def test_cel_refuses_a_path_with_a_double_slash_on_its_row(gateway_api, kube, namespace):
    spec = _spec(
        "http",
        namespace=namespace,
        backends=(
            manifest.Backend(path="/", service="web", port="80"),
            manifest.Backend(path="/a//b", service="web", port="80"),
        ),
    )
    assert _refused(kube, namespace, spec) == {("path", 1)}


def test_cel_refuses_a_relative_exact_path_on_its_row(gateway_api, kube, namespace):
    spec = _spec(
        "http",
        namespace=namespace,
        backends=(manifest.Backend(path="api", service="web", port="80", path_type="Exact"),),
    )
    assert _refused(kube, namespace, spec) == {("path", 0)}


def test_the_schema_refuses_a_grpc_service_name_on_its_row(gateway_api, kube, namespace):
    spec = _spec(
        "grpc", namespace=namespace, backends=(manifest.Backend(path="/not a service", service="api", port="9090"),)
    )
    assert _refused(kube, namespace, spec) == {("path", 0)}


def test_the_schema_refuses_a_wildcard_in_the_middle_of_a_hostname(gateway_api, kube, namespace):
    assert _refused(kube, namespace, _spec("http", namespace=namespace, host="shop.*.example.com")) == {("host", None)}
