"""Import and take-over for HTTPRoutes and GRPCRoutes: read back into a route field by field, or refused
with the reason when the form cannot express the object. Objects are written to the session's real API
server (Gateway API's CRDs installed), so every one of them is one the API server accepts."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from kubegems_routes.controlplane.objects import ensure_namespace
from kubegems_routes.gateways.models import Gateway
from kubegems_routes.kube.client import KubeClient
from kubegems_routes.routes import manifest
from kubegems_routes.routes.models import AuditEntry, Route, route_spec
from kubegems_routes.routes.readback import values_from_gateway_route
from tests.helpers import gateway_api_gateway, route_data

pytestmark = pytest.mark.django_db

GROUP = "gateway.networking.k8s.io"


@pytest.fixture
def edge(gateway_api, environment, kube) -> Gateway:
    gateway = gateway_api_gateway(environment, kube)
    gateway.annotations.create(key="example.com/team", value="edge")
    return gateway


def _parent(edge: Gateway, section: str = "https") -> dict:
    return {
        "group": GROUP,
        "kind": "Gateway",
        "namespace": "platform",
        "name": edge.gateway_name,
        "sectionName": section,
    }


def _write(kube: KubeClient, namespace: str, kind: str, name: str, spec: dict, annotations: dict | None = None) -> dict:
    body = {
        "apiVersion": f"{GROUP}/v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace, "annotations": annotations or {}},
        "spec": spec,
    }
    return kube.create_gateway_route(kind, namespace, body)


def _backend(service: str, port: int) -> dict:
    return {"name": service, "port": port}


def _listing(client, environment):
    return client.get(reverse("routes:list", args=[environment.pk]))


def _import(client, environment, kind: str, name: str):
    return client.post(reverse("routes:import", args=[environment.pk]), {"kind": kind, "name": name}, follow=True)


def _rows(route: Route) -> list[tuple[str, str, str, str]]:
    return [(p.path, p.path_type, p.service, p.port) for p in route.paths.all()]


def test_an_unmanaged_httproute_is_listed_and_imported_field_by_field(operator_client, environment, edge, kube):
    namespace = environment.namespace
    _write(
        kube,
        namespace,
        "HTTPRoute",
        "legacy",
        {
            "parentRefs": [_parent(edge)],
            "hostnames": ["legacy.acme.example.com"],
            "rules": [
                {"backendRefs": [_backend("web", 80)]},  # no matches: the API server defaults PathPrefix /
                {
                    "matches": [
                        {"path": {"type": "Exact", "value": "/api"}},
                        {"path": {"type": "PathPrefix", "value": "/v2"}},
                    ],
                    "backendRefs": [_backend("api", 8080)],
                },
            ],
        },
        annotations={"example.com/team": "edge", "example.com/owner": "legacy"},
    )
    # Not listed: an HTTPRoute on a Gateway that is none of the environment's, and the console's own.
    _write(kube, namespace, "HTTPRoute", "elsewhere", {"parentRefs": [{"name": "other", "namespace": "platform"}]})
    response = operator_client.post(
        reverse("routes:create", args=[environment.pk]), route_data(edge, host="mine.acme.example.com")
    )
    assert response.status_code == 302
    listing = _listing(operator_client, environment)
    assert listing.context["unmanaged"] == [("HTTPRoute", "legacy")]
    page = listing.content.decode()
    assert 'name="kind" value="HTTPRoute"' in page and 'name="name" value="legacy"' in page

    response = _import(operator_client, environment, "HTTPRoute", "legacy")
    assert response.redirect_chain[-1][0] == reverse("routes:detail", args=[environment.pk, "legacy"])
    assert "HTTPRoute legacy imported as a route." in response.content.decode()
    route = Route.objects.get(environment=environment, name="legacy")
    assert (route.gateway, route.host, route.protocol, route.tls_secret) == (
        edge,
        "legacy.acme.example.com",
        "https",
        "",
    )
    assert _rows(route) == [
        ("/", "Prefix", "web", "80"),
        ("/api", "Exact", "api", "8080"),
        ("/v2", "Prefix", "api", "8080"),
    ]
    # The gateway's default is not the route's own: only the route's annotation is kept.
    assert route.annotations == {"example.com/owner": "legacy"}
    stored = kube.get_gateway_route("HTTPRoute", namespace, "legacy")
    assert stored["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "kubegems-routes"
    assert stored["metadata"]["annotations"] == {"example.com/team": "edge", "example.com/owner": "legacy"}
    assert route.resource_version == stored["metadata"]["resourceVersion"]
    assert AuditEntry.objects.get(route_name="legacy").action == AuditEntry.Action.IMPORT
    assert response.context["sync"] == "in-sync"
    assert _listing(operator_client, environment).context["unmanaged"] == []


def test_an_unmanaged_grpcroute_is_imported_with_its_method_matches(operator_client, environment, edge, kube):
    namespace = environment.namespace
    _write(
        kube,
        namespace,
        "GRPCRoute",
        "rpc",
        {
            "parentRefs": [_parent(edge)],
            "hostnames": ["rpc.acme.example.com"],
            "rules": [
                {
                    "matches": [{"method": {"service": "grpc.health.v1.Health"}}],
                    "backendRefs": [_backend("api", 50051)],
                },
                {
                    "matches": [{"method": {"type": "Exact", "service": "shop.Cart", "method": "Add"}}],
                    "backendRefs": [_backend("api", 50051)],
                },
                {"backendRefs": [_backend("web", 80)]},
            ],
        },
    )
    assert _listing(operator_client, environment).context["unmanaged"] == [("GRPCRoute", "rpc")]
    response = _import(operator_client, environment, "GRPCRoute", "rpc")
    assert response.context["sync"] == "in-sync", response.content.decode()[:3000]
    route = Route.objects.get(environment=environment, name="rpc")
    assert (route.gateway, route.host, route.protocol, route.annotations) == (edge, "rpc.acme.example.com", "grpc", {})
    assert _rows(route) == [
        ("/grpc.health.v1.Health", "Prefix", "api", "50051"),
        ("/shop.Cart/Add", "Prefix", "api", "50051"),
        ("/", "Prefix", "web", "80"),
    ]
    assert kube.get_gateway_route("GRPCRoute", namespace, "rpc")["metadata"]["labels"]["kubegems.io/route"] == "rpc"


def test_an_httproute_on_the_http_listener_is_imported_as_http(operator_client, environment, edge, kube):
    spec = {"parentRefs": [_parent(edge, "http")], "hostnames": ["plain.acme.example.com"]}
    _write(
        kube, environment.namespace, "HTTPRoute", "plain", {**spec, "rules": [{"backendRefs": [_backend("web", 80)]}]}
    )
    _import(operator_client, environment, "HTTPRoute", "plain")
    assert Route.objects.get(name="plain").protocol == "http"


_REFUSED = {
    "two hostnames": ({"hostnames": ["a.acme.example.com", "b.acme.example.com"]}, "exactly one host"),
    "no hostnames": ({"hostnames": []}, "exactly one host"),
    "a filter": (
        {
            "rules": [
                {
                    "filters": [
                        {
                            "type": "RequestHeaderModifier",
                            "requestHeaderModifier": {"add": [{"name": "x", "value": "1"}]},
                        }
                    ],
                    "backendRefs": [_backend("web", 80)],
                }
            ]
        },
        "filters",
    ),
    "a header match": (
        {
            "rules": [
                {"matches": [{"headers": [{"name": "x-env", "value": "canary"}]}], "backendRefs": [_backend("web", 80)]}
            ]
        },
        "headers",
    ),
    "a regular expression": (
        {
            "rules": [
                {
                    "matches": [{"path": {"type": "RegularExpression", "value": "/v[0-9]+"}}],
                    "backendRefs": [_backend("web", 80)],
                }
            ]
        },
        "not RegularExpression",
    ),
    "a path in two rules": (
        {"rules": [{"backendRefs": [_backend("web", 80)]}, {"backendRefs": [_backend("api", 8080)]}]},
        "Path / is matched by more than one rule",
    ),
    "a Service twice in a rule": (
        {"rules": [{"backendRefs": [_backend("web", 80), {**_backend("web", 80), "weight": 3}]}]},
        "Service web port 80 is named twice in one rule",
    ),
    "another Gateway": (
        {"parentRefs": [{"namespace": "platform", "name": "someone-elses"}]},
        "is not a gateway of this",
    ),
    "another listener": (
        {"parentRefs": [{"namespace": "platform", "name": "EDGE", "sectionName": "admin"}]},
        "listener admin",
    ),
}


@pytest.mark.parametrize("case", list(_REFUSED))
def test_what_the_form_cannot_express_is_refused_and_nothing_changes(case, operator_client, environment, edge, kube):
    change, reason = _REFUSED[case]
    if "parentRefs" in change:
        change = {
            "parentRefs": [
                {**ref, "name": ref["name"].replace("EDGE", edge.gateway_name)} for ref in change["parentRefs"]
            ]
        }
    spec = {
        "parentRefs": [_parent(edge)],
        "hostnames": ["odd.acme.example.com"],
        "rules": [{"backendRefs": [_backend("web", 80)]}],
        **change,
    }
    written = _write(kube, environment.namespace, "HTTPRoute", "odd", spec)
    response = _import(operator_client, environment, "HTTPRoute", "odd")
    page = response.content.decode()
    assert "HTTPRoute odd cannot be imported" in page and reason in page, page[-3000:]
    assert not Route.objects.filter(name="odd").exists()
    stored = kube.get_gateway_route("HTTPRoute", environment.namespace, "odd")
    assert stored["metadata"]["resourceVersion"] == written["metadata"]["resourceVersion"]


def test_an_unknown_kind_is_refused(operator_client, environment, edge):
    response = _import(operator_client, environment, "TCPRoute", "odd")
    assert "Only Ingresses, HTTPRoutes and GRPCRoutes can be imported" in response.content.decode()
    assert not Route.objects.exists()


def _save(client, environment, gateway, **overrides):
    response = client.post(reverse("routes:create", args=[environment.pk]), route_data(gateway, **overrides))
    assert response.status_code == 302, response.content.decode()[:2000]
    return Route.objects.get(environment=environment, name=overrides.get("name", "shop"))


def test_take_over_adopts_a_changed_httproute_and_keeps_websocket_and_port_names(
    operator_client, environment, edge, kube
):
    namespace = environment.namespace
    route = _save(
        operator_client, environment, edge, protocol="wss", **{"paths-0-service": "api", "paths-0-port": "ws"}
    )
    live = kube.get_gateway_route("HTTPRoute", namespace, "shop")
    live["metadata"]["annotations"]["example.com/timeout"] = "300s"
    live["spec"]["hostnames"] = ["changed.acme.example.com"]
    live["spec"]["rules"][0]["matches"] = [{"path": {"type": "Exact", "value": "/socket"}}]
    live["spec"]["rules"].append(
        {
            "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
            "backendRefs": [{**_backend("web", 80), "group": "", "kind": "Service", "weight": 1}],
        }
    )
    kube.replace_gateway_route("HTTPRoute", namespace, "shop", live)
    detail = reverse("routes:detail", args=[environment.pk, "shop"])
    assert operator_client.get(detail).context["sync"] == "changed"

    response = operator_client.post(reverse("routes:takeover", args=[environment.pk, "shop"]), follow=True)
    assert response.context["sync"] == "in-sync", response.content.decode()[:3000]
    route.refresh_from_db()
    # wss is kept (an HTTPRoute on the HTTPS listener is https or wss), and so is the port's name.
    assert (route.host, route.protocol, route.gateway) == ("changed.acme.example.com", "wss", edge)
    assert _rows(route) == [("/socket", "Exact", "api", "ws"), ("/", "Prefix", "web", "80")]
    assert route.annotations == {"example.com/timeout": "300s"}
    assert AuditEntry.objects.filter(route_name="shop", action=AuditEntry.Action.TAKE_OVER).exists()


def test_take_over_refuses_a_grpcroute_changed_beyond_the_form_and_keeps_the_route(
    operator_client, environment, edge, kube
):
    namespace = environment.namespace
    grpc = {"paths-0-path": "/grpc.health.v1.Health", "paths-0-service": "api", "paths-0-port": "grpc"}
    route = _save(operator_client, environment, edge, protocol="grpc", **grpc)
    live = kube.get_gateway_route("GRPCRoute", namespace, "shop")
    live["spec"]["rules"][0]["matches"][0]["headers"] = [{"name": "x-canary", "value": "1"}]
    changed = kube.replace_gateway_route("GRPCRoute", namespace, "shop", live)

    response = operator_client.post(reverse("routes:takeover", args=[environment.pk, "shop"]), follow=True)
    assert "cannot express spec.rules[0].matches[0].headers" in response.content.decode()
    assert Route.objects.get(pk=route.pk).resource_version == route.resource_version
    assert (
        kube.get_gateway_route("GRPCRoute", namespace, "shop")["metadata"]["resourceVersion"]
        == (changed["metadata"]["resourceVersion"])
    )

    # A change the form can express is taken over.
    del live["spec"]["rules"][0]["matches"][0]["headers"]
    live["spec"]["rules"][0]["matches"][0]["method"]["method"] = "Check"
    live["metadata"]["resourceVersion"] = changed["metadata"]["resourceVersion"]
    kube.replace_gateway_route("GRPCRoute", namespace, "shop", live)
    operator_client.post(reverse("routes:takeover", args=[environment.pk, "shop"]))
    assert _rows(Route.objects.get(pk=route.pk)) == [("/grpc.health.v1.Health/Check", "Prefix", "api", "grpc")]


def test_an_imported_route_in_another_namespace_is_not_listed(operator_client, environment, edge, kube):
    elsewhere = f"x-{uuid.uuid4().hex[:10]}"
    ensure_namespace(kube, elsewhere)
    spec = {
        "parentRefs": [_parent(edge)],
        "hostnames": ["x.acme.example.com"],
        "rules": [{"backendRefs": [_backend("web", 80)]}],
    }
    _write(kube, elsewhere, "HTTPRoute", "theirs", spec)
    assert _listing(operator_client, environment).context["unmanaged"] == []


# -- the read-back on its own: what the console builds reads back as the route it was built from ---------


def test_parent_scopes_default_the_namespace_and_skip_other_kinds_of_parent():
    obj = {
        "metadata": {"namespace": "team"},
        "spec": {
            "parentRefs": [
                {"name": "own"},
                {"namespace": "platform", "name": "edge", "group": GROUP, "kind": "Gateway"},
                {"name": "svc", "group": "", "kind": "Service"},
            ]
        },
    }
    assert manifest.parent_scopes(obj) == {"team/own", "platform/edge"}


@pytest.mark.parametrize(
    ("protocol", "read_back"),
    [("http", "http"), ("https", "https"), ("ws", "http"), ("wss", "https"), ("grpc", "grpc")],
)
def test_what_the_console_builds_reads_back_as_the_same_route(protocol, read_back, environment, edge):
    grpc = protocol == "grpc"
    backends = (
        manifest.Backend(
            path="/pkg.Svc/Get" if grpc else "/api", path_type="Prefix" if grpc else "Exact", service="api", port="8080"
        ),
        manifest.Backend(path="/", service="web", port="80"),
    )
    spec = route_spec(
        environment=environment,
        gateway=edge,
        name="shop",
        host="shop.acme.example.com",
        protocol=protocol,
        tls_secret="",
        backends=backends,
        annotations={"example.com/owner": "shop"},
    )
    values = values_from_gateway_route(manifest.build(spec), environment)
    assert (values.gateway, values.host, values.protocol, values.tls_secret) == (
        edge,
        "shop.acme.example.com",
        read_back,
        "",
    )
    assert values.backends == backends
    assert values.annotations == {"example.com/owner": "shop"}
    # A take-over keeps the route's WebSocket protocol where the listener agrees.
    current = Route.objects.create(environment=environment, gateway=edge, name="shop", protocol=protocol)
    assert values_from_gateway_route(manifest.build(spec), environment, current=current).protocol == protocol
