"""Weighted backends (a canary): rows sharing a path become one HTTPRoute or GRPCRoute rule whose backendRefs
split the path's requests by weight; read back into the same rows; refused on an ingress class.

The builders and read-back first, pure; then the API server (Gateway API's CRDs installed) judges what is
built, and the console is used as a user does: create, edit, revert, import, refusals. No Gateway API
controller runs here, so no request is split: the tests prove the objects, not the traffic.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from kubegems_routes.gateways.models import Gateway
from kubegems_routes.kube.client import KubeClient
from kubegems_routes.kube.errors import Invalid, NotFound
from kubegems_routes.routes import manifest
from kubegems_routes.routes.models import AuditEntry, Route, route_spec
from kubegems_routes.routes.readback import values_from_gateway_route
from tests.helpers import action_url, create_url, gateway_api_gateway, put_endpoint_slice, route_data

HX = {"HTTP_HX_REQUEST": "true"}
PARENT = manifest.GatewayParent(namespace="platform", name="edge", http_listener="http", https_listener="https")
B = manifest.Backend


def _spec(protocol: str, backends: tuple[manifest.Backend, ...]) -> manifest.RouteSpec:
    return manifest.RouteSpec(
        name="shop",
        namespace="ns",
        host="shop.example.com",
        protocol=protocol,
        ingress_class="",
        backends=backends,
        parent=PARENT,
    )


def _ref(service: str, port: int, weight: int) -> dict:
    return {"group": "", "kind": "Service", "name": service, "port": port, "weight": weight}


# -- pure: the builder, shares, causes ------------------------------------------------------------------


def test_rows_sharing_a_path_become_one_rule_with_a_weighted_backend_ref_each():
    backends = (
        B(path="/", service="web", port="80", weight=90),
        B(path="/api", service="api", port="8080", path_type="Exact"),
        B(path="/", service="web-canary", port="80", weight=10),
    )
    rules = manifest.build(_spec("http", backends))["spec"]["rules"]
    assert rules == [
        {
            "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
            "backendRefs": [_ref("web", 80, 90), _ref("web-canary", 80, 10)],
        },
        {"matches": [{"path": {"type": "Exact", "value": "/api"}}], "backendRefs": [_ref("api", 8080, 1)]},
    ]
    assert manifest.rule_rows("http", backends) == [[0, 2], [1]]


def test_the_same_path_with_another_path_type_is_another_rule_except_in_grpc():
    backends = (B(path="/pkg.Svc", service="a", port="1"), B(path="/pkg.Svc", service="b", port="2", path_type="Exact"))
    assert manifest.rule_rows("http", backends) == [[0], [1]]
    # A gRPC match has no path type: both rows split the service's calls.
    rules = manifest.build(_spec("grpc", backends))["spec"]["rules"]
    assert rules == [
        {
            "matches": [{"method": {"type": "Exact", "service": "pkg.Svc"}}],
            "backendRefs": [_ref("a", 1, 1), _ref("b", 2, 1)],
        }
    ]


def test_shares_are_each_backends_percentage_of_its_path():
    backends = (
        B(path="/", service="web", port="80", weight=90),
        B(path="/", service="canary", port="80", weight=10),
        B(path="/thirds", service="a", port="80", weight=1),
        B(path="/thirds", service="b", port="80", weight=2),
        B(path="/off", service="a", port="80", weight=0),
        B(path="/off", service="b", port="80", weight=0),
        B(path="/alone", service="a", port="80", weight=7),
    )
    shares = manifest.shares("http", backends)
    assert shares[:2] == [90.0, 10.0]
    assert shares[2] == pytest.approx(100 / 3) and shares[3] == pytest.approx(200 / 3)
    assert shares[4:] == [0.0, 0.0, None]


@pytest.mark.parametrize(
    ("field_path", "expected"),
    [
        ("spec.rules[0].backendRefs[1].weight", ("weight", 2)),
        ("spec.rules[0].backendRefs[1].port", ("port", 2)),
        ("spec.rules[0].backendRefs[0].name", ("service", 0)),
        ("spec.rules[1].backendRefs[0].port", ("port", 1)),
        ("spec.rules[1].matches[0].path.value", ("path", 1)),
    ],
)
def test_a_cause_in_a_shared_rule_lands_on_the_row_of_its_backend(field_path, expected):
    assert manifest.route_field(field_path, [[0, 2], [1]]) == expected


def test_a_split_path_is_one_access_url():
    assert manifest.access_urls("a.example.com", ["/", "/api", "/"], tls=True) == [
        "https://a.example.com/",
        "https://a.example.com/api",
    ]


# -- read back: what is built reads back as the rows it was built from ---------------------------------


@pytest.fixture
def edge(gateway_api, environment, kube) -> Gateway:
    return gateway_api_gateway(environment, kube)


def _public(environment) -> Gateway:
    return Gateway.objects.get(cluster=environment.cluster, tenant=environment.project.tenant, name="public")


def _backends(grpc: bool) -> tuple[manifest.Backend, ...]:
    path = "/shop.Cart" if grpc else "/"
    return (
        B(path=path, service="web", port="80", weight=90),
        B(path=path, service="web-canary", port="80", weight=10),
        B(path="/shop.Admin/Get" if grpc else "/api", service="api", port="8080"),
        B(path="/shop.Admin/Get" if grpc else "/api", service="web-canary", port="80", weight=0),
    )


def _route_spec(environment, gateway, backends, protocol: str = "http", name: str = "canary") -> manifest.RouteSpec:
    return route_spec(
        environment=environment,
        gateway=gateway,
        name=name,
        host=f"{name}.acme.example.com",
        protocol=protocol,
        tls_secret="",
        backends=backends,
        annotations={},
    )


@pytest.mark.django_db
@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_weighted_rules_the_api_server_stores_read_back_as_the_same_rows(protocol, environment, edge, kube):
    spec = _route_spec(environment, edge, _backends(protocol == "grpc"), protocol)
    built = manifest.build(spec)
    stored = kube.create_gateway_route(spec.kind, environment.namespace, built)
    # Stored as built (nothing defaulted in or dropped), so drift compares equal...
    assert stored["spec"] == built["spec"]
    # ...and read back into the rows it came from, weights and all.
    assert values_from_gateway_route(stored, environment).backends == spec.backends


@pytest.mark.django_db
@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_the_crd_bounds_a_weight_and_its_cause_lands_on_the_row(protocol, environment, edge, kube):
    path = "/shop.Cart" if protocol == "grpc" else "/"
    backends = (
        B(path=path, service="web", port="80"),
        B(path="/shop.Admin" if protocol == "grpc" else "/api", service="api", port="8080"),
        B(path=path, service="web-canary", port="80", weight=manifest.MAX_WEIGHT + 1),
    )
    spec = _route_spec(environment, edge, backends, protocol)
    with pytest.raises(Invalid) as caught:
        kube.dry_run_route_object(spec.kind, environment.namespace, manifest.build(spec), replace=False)
    rules = manifest.rule_rows(protocol, backends)
    assert {manifest.route_field(c.field, rules) for c in caught.value.causes} == {("weight", 2)}
    # The bounds are the form's: 0 and 1000000 are accepted.
    for weight in (0, manifest.MAX_WEIGHT):
        spec = _route_spec(
            environment, edge, (*backends[:2], B(path=path, service="c", port="80", weight=weight)), protocol
        )
        kube.dry_run_route_object(spec.kind, environment.namespace, manifest.build(spec), replace=False)


# -- the console: create, detail, edit, revert, import, refusals -----------------------------------------


@pytest.fixture
def canary_service(environment, kube: KubeClient) -> str:
    """A second version of web beside it, as a canary is."""
    kube.create(
        f"/api/v1/namespaces/{environment.namespace}/services",
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web-canary"},
            "spec": {"selector": {"app": "web-canary"}, "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]},
        },
    )
    return "web-canary"


def _canary(gateway, web: str = "90", canary: str = "10", **overrides: str) -> dict[str, str]:
    """The form as posted with two backends for path /: web and web-canary, with their weights."""
    return route_data(
        gateway,
        **{
            "paths-TOTAL_FORMS": "2",
            "paths-0-weight": web,
            "paths-1-path": "/",
            "paths-1-path_type": "Prefix",
            "paths-1-service": "web-canary",
            "paths-1-port": "80",
            "paths-1-weight": canary,
            **overrides,
        },
    )


def _rows(route: Route) -> list[tuple[str, str, str, int]]:
    return [(p.path, p.service, p.port, p.weight) for p in route.paths.all()]


def _edit(client, environment, data: dict[str, str]):
    return client.post(reverse("routes:edit", args=[environment.pk, "shop"]), data)


@pytest.mark.django_db
def test_a_canary_is_one_weighted_rule_and_the_route_page_shows_each_share(
    operator_client, environment, edge, canary_service, kube
):
    response = operator_client.post(create_url(environment), _canary(edge))
    assert response.status_code == 302, response.content.decode()[:3000]
    route = Route.objects.get(environment=environment, name="shop")
    assert _rows(route) == [("/", "web", "80", 90), ("/", "web-canary", "80", 10)]
    stored = kube.get_gateway_route("HTTPRoute", environment.namespace, "shop")
    assert stored["spec"]["rules"] == [
        {
            "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
            "backendRefs": [_ref("web", 80, 90), _ref("web-canary", 80, 10)],
        }
    ]

    # Each backend's health is read: web has ready endpoints, the canary none yet.
    put_endpoint_slice(kube, environment.namespace, "web", ready=2)
    page = operator_client.get(reverse("routes:detail", args=[environment.pk, "shop"]))
    assert page.context["sync"] == "in-sync"
    rows = page.context["backend_rows"]
    assert [(r.path.service, r.share, r.health.state) for r in rows] == [
        ("web", 90.0, "ready"),
        ("web-canary", 10.0, "none-ready"),
    ]
    body = page.content.decode()
    assert 'id="route-splits"' in body and "web 90 %" in body and "web-canary 10 %" in body
    assert "weight 90" in body and "weight 10" in body
    # One access URL for the path, however many backends share it.
    assert route.access_urls() == ["http://shop.acme.example.com/"]
    # The list warns of the canary's missing endpoints.
    listing = operator_client.get(reverse("routes:list", args=[environment.pk])).content.decode()
    assert "web-canary:80: 0 ready endpoints" in listing


@pytest.mark.django_db
def test_a_grpc_canary_is_one_weighted_grpcroute_rule(operator_client, environment, edge, kube):
    data = _canary(
        edge,
        protocol="grpc",
        **{
            "paths-0-path": "/shop.Cart",
            "paths-0-service": "api",
            "paths-0-port": "grpc",
            "paths-1-path": "/shop.Cart",
            "paths-1-service": "web",
            "paths-1-port": "80",
        },
    )
    response = operator_client.post(create_url(environment), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    stored = kube.get_gateway_route("GRPCRoute", environment.namespace, "shop")
    assert stored["spec"]["rules"] == [
        {
            "matches": [{"method": {"type": "Exact", "service": "shop.Cart"}}],
            "backendRefs": [_ref("api", 50051, 90), _ref("web", 80, 10)],
        }
    ]


@pytest.mark.django_db
def test_an_edit_moves_the_weights_and_a_revert_brings_them_back(
    operator_client, environment, edge, canary_service, kube
):
    operator_client.post(create_url(environment), _canary(edge))
    route = Route.objects.get(environment=environment, name="shop")
    data = _canary(edge, web="50", canary="50", resource_version=route.resource_version)
    response = _edit(operator_client, environment, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    refs = kube.get_gateway_route("HTTPRoute", environment.namespace, "shop")["spec"]["rules"][0]["backendRefs"]
    assert [r["weight"] for r in refs] == [50, 50]
    assert route.versions.get(number=2).values["backends"][1]["weight"] == 50

    response = operator_client.post(reverse("routes:revert", args=[environment.pk, "shop", 1]))
    assert response.status_code == 302, response.content.decode()[:3000]
    refs = kube.get_gateway_route("HTTPRoute", environment.namespace, "shop")["spec"]["rules"][0]["backendRefs"]
    assert [r["weight"] for r in refs] == [90, 10]
    assert _rows(route) == [("/", "web", "80", 90), ("/", "web-canary", "80", 10)]


@pytest.mark.django_db
def test_an_httproute_with_weighted_backends_is_imported_and_taken_over(
    operator_client, environment, edge, canary_service, kube
):
    parent = {"group": manifest.GATEWAY_GROUP, "kind": "Gateway", "namespace": "platform", "name": edge.gateway_name}
    body = {
        "apiVersion": manifest.GATEWAY_API_VERSION,
        "kind": "HTTPRoute",
        "metadata": {"name": "legacy", "namespace": environment.namespace},
        "spec": {
            "parentRefs": [{**parent, "sectionName": "http"}],
            "hostnames": ["legacy.acme.example.com"],
            "rules": [
                {
                    "backendRefs": [
                        {"name": "web", "port": 80, "weight": 95},
                        {"name": "web-canary", "port": 80, "weight": 5},
                    ]
                },
                {
                    "matches": [{"path": {"type": "Exact", "value": "/api"}}],
                    "backendRefs": [{"name": "api", "port": 8080}],
                },
            ],
        },
    }
    kube.create_gateway_route("HTTPRoute", environment.namespace, body)
    response = operator_client.post(
        reverse("routes:import", args=[environment.pk]), {"kind": "HTTPRoute", "name": "legacy"}, follow=True
    )
    assert response.context["sync"] == "in-sync", response.content.decode()[:3000]
    route = Route.objects.get(environment=environment, name="legacy")
    assert _rows(route) == [("/", "web", "80", 95), ("/", "web-canary", "80", 5), ("/api", "api", "8080", 1)]

    # Changed in the cluster (the canary gets more), then taken over: the rows follow.
    live = kube.get_gateway_route("HTTPRoute", environment.namespace, "legacy")
    live["spec"]["rules"][0]["backendRefs"][0]["weight"] = 70
    live["spec"]["rules"][0]["backendRefs"][1]["weight"] = 30
    kube.replace_gateway_route("HTTPRoute", environment.namespace, "legacy", live)
    detail = reverse("routes:detail", args=[environment.pk, "legacy"])
    assert operator_client.get(detail).context["sync"] == "changed"
    operator_client.post(reverse("routes:takeover", args=[environment.pk, "legacy"]))
    assert _rows(route)[:2] == [("/", "web", "80", 70), ("/", "web-canary", "80", 30)]
    assert operator_client.get(detail).context["sync"] == "in-sync"
    assert AuditEntry.objects.filter(route_name="legacy", action=AuditEntry.Action.TAKE_OVER).exists()


def _row_errors(response, row: int, field: str) -> str:
    return " ".join(response.context["editor"].paths.forms[row].errors.get(field, []))


@pytest.mark.django_db
def test_an_ingress_class_refuses_a_shared_path_and_a_weight_on_their_fields(
    operator_client, environment, canary_service, kube
):
    public = _public(environment)
    response = operator_client.post(create_url(environment), _canary(public, web="1", canary="1"))
    assert response.status_code == 200
    assert "needs a Gateway API gateway" in _row_errors(response, 1, "path")
    assert _row_errors(response, 0, "path") == ""
    response = operator_client.post(create_url(environment), route_data(public, **{"paths-0-weight": "5"}))
    assert "is an ingress class, and an Ingress has no backend weights" in _row_errors(response, 0, "weight")
    # What was typed is kept, and shown with its field.
    body = response.content.decode()
    assert 'name="paths-0-weight" value="5"' in body
    assert not Route.objects.exists()
    with pytest.raises(NotFound):
        kube.get_ingress(environment.namespace, "shop")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "row", "field", "message"),
    [
        ({"paths-0-weight": "0", "paths-1-weight": "0"}, 0, "weight", "needs a weight above 0"),
        (
            {"paths-1-service": "web", "paths-1-port": "80"},
            1,
            "service",
            "Service web port 80 already serves this path",
        ),
        ({"paths-1-weight": "1000001"}, 1, "weight", "from 0 to 1000000"),
        ({"paths-1-weight": "-1"}, 1, "weight", "from 0 to 1000000"),
        ({"paths-1-weight": "ten"}, 1, "weight", "from 0 to 1000000"),
    ],
)
def test_weights_are_checked_on_their_row_before_anything_is_written(
    overrides, row, field, message, operator_client, environment, edge, canary_service, kube
):
    response = operator_client.post(create_url(environment), _canary(edge, **overrides))
    assert response.status_code == 200
    assert message in _row_errors(response, row, field)
    assert not Route.objects.exists()
    with pytest.raises(NotFound):
        kube.get_gateway_route("HTTPRoute", environment.namespace, "shop")


@pytest.mark.django_db
def test_one_zero_weight_beside_another_is_a_path_turned_off_for_one_backend(
    operator_client, environment, edge, canary_service, kube
):
    response = operator_client.post(create_url(environment), _canary(edge, web="100", canary="0"))
    assert response.status_code == 302, response.content.decode()[:3000]
    refs = kube.get_gateway_route("HTTPRoute", environment.namespace, "shop")["spec"]["rules"][0]["backendRefs"]
    assert [r["weight"] for r in refs] == [100, 0]


# -- the live form ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_add_a_backend_puts_a_row_for_the_same_path_after_it(operator_client, environment, edge, canary_service):
    data = route_data(
        edge,
        **{
            "paths-TOTAL_FORMS": "2",
            "paths-0-path": "/shop",
            "paths-0-path_type": "Exact",
            "paths-1-path": "/api",
            "paths-1-path_type": "Prefix",
            "paths-1-service": "api",
            "paths-1-port": "8080",
            "row": "0",
        },
    )
    body = operator_client.post(action_url(environment, "add-backend"), data, **HX).content.decode()
    assert 'id="paths-field"' in body and 'name="paths-TOTAL_FORMS" value="3"' in body
    for row, (path, path_type) in enumerate([("/shop", "Exact"), ("/shop", "Exact"), ("/api", "Prefix")]):
        assert f'name="paths-{row}-path" value="{path}"' in body
        assert f'<option value="{path_type}" selected>' in body.split(f'name="paths-{row}-path_type"')[1][:400]
    # The new row's service is to be chosen, and has the focus.
    new_service = body.split('name="paths-1-service"')[1].split("</select>")[0]
    assert '<option value="" selected>' in new_service
    assert (
        "autofocus" in body.split('id="id_paths-1-service"')[0][-300:] + body.split('id="id_paths-1-service"')[1][:100]
    )
    # One "Add a backend" per path, after its last row.
    assert body.count("Add a backend for /shop") == 1 and body.count("Add a backend for /api") == 1
    assert 'name="paths-1-weight"' in body
    # The preview then shows the split.
    data = _canary(edge)
    preview = operator_client.post(action_url(environment, "preview"), data, **HX).content.decode()
    assert 'id="preview-splits"' in preview and "web:80 90 %" in preview and "web-canary:80 10 %" in preview


@pytest.mark.django_db
def test_the_paths_follow_the_gateway_weights_only_on_gateway_api(operator_client, environment, edge):
    on_edge = operator_client.post(action_url(environment, "paths"), route_data(edge), **HX).content.decode()
    assert 'name="paths-0-weight"' in on_edge and "Add a backend for /" in on_edge
    public = _public(environment)
    on_public = operator_client.post(action_url(environment, "paths"), route_data(public), **HX).content.decode()
    assert 'name="paths-0-weight"' not in on_public and "Add a backend" not in on_public
    # A weight typed on Gateway API stays in sight after a switch to an ingress class, where saving refuses it.
    data = route_data(public, **{"paths-0-weight": "90"})
    assert (
        'name="paths-0-weight" value="90"'
        in operator_client.post(action_url(environment, "paths"), data, **HX).content.decode()
    )


@pytest.mark.django_db
def test_the_edit_form_shows_and_previews_a_zero_weight_as_stored(operator_client, environment, edge, canary_service):
    operator_client.post(create_url(environment), _canary(edge, web="100", canary="0"))
    page = operator_client.get(reverse("routes:edit", args=[environment.pk, "shop"]))
    body = page.content.decode()
    assert 'name="paths-1-weight" value="0"' in body
    assert "web:80 100 %</span>" in body and "web-canary:80 0 %</span>" in body


@pytest.mark.django_db
def test_a_backend_weighted_0_is_no_failing_backend_but_its_row_says_its_endpoints(
    operator_client, environment, edge, canary_service, kube
):
    operator_client.post(create_url(environment), _canary(edge, web="100", canary="0"))
    put_endpoint_slice(kube, environment.namespace, "web", ready=1)
    page = operator_client.get(reverse("routes:detail", args=[environment.pk, "shop"]))
    # It gets no request: the findings and the list say nothing of it...
    assert [(h.service, h.state) for h in page.context["backend_health"]] == [("web", "ready")]
    assert [f.what for f in page.context["why"] if f.cause == "backend"] == []
    listing = operator_client.get(reverse("routes:list", args=[environment.pk]))
    assert [r.backend_warning for r in listing.context["page"].object_list] == [""]
    # ...and its row still shows that it has no ready endpoint, should its weight be raised.
    assert [(r.path.service, r.share, r.health.state) for r in page.context["backend_rows"]] == [
        ("web", 100.0, "ready"),
        ("web-canary", 0.0, "none-ready"),
    ]


# -- with the behaviour fields: a rule's filters are its rows' --------------------------------------------


@pytest.mark.django_db
def test_a_canary_rewrites_as_one_rule_and_reads_back_in_sync(operator_client, environment, edge, canary_service, kube):
    data = _canary(
        edge,
        **{"paths-0-path": "/shop/", "paths-1-path": "/shop/", "paths-0-rewrite": "/", "paths-1-rewrite": "/"},
    )
    response = operator_client.post(create_url(environment), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    stored = kube.get_gateway_route("HTTPRoute", environment.namespace, "shop")
    rewrite = {"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}}}
    assert stored["spec"]["rules"] == [
        {
            "matches": [{"path": {"type": "PathPrefix", "value": "/shop/"}}],
            "filters": [rewrite],
            "backendRefs": [_ref("web", 80, 90), _ref("web-canary", 80, 10)],
        }
    ]
    assert values_from_gateway_route(stored, environment).backends == Route.objects.get(name="shop").backends()
    assert operator_client.get(reverse("routes:detail", args=[environment.pk, "shop"])).context["sync"] == "in-sync"


@pytest.mark.django_db
def test_the_backends_of_a_path_must_rewrite_alike(operator_client, environment, edge, canary_service, kube):
    data = _canary(edge, **{"paths-0-path": "/shop/", "paths-1-path": "/shop/", "paths-0-rewrite": "/"})
    response = operator_client.post(create_url(environment), data)
    assert response.status_code == 200
    assert "share one rule: give them the same rewrite" in _row_errors(response, 1, "rewrite")
    assert not Route.objects.exists()
