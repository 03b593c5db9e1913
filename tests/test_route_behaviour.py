"""The form's Behaviour fields: each a view over the nginx.org/* annotation it writes, checked as the controller
checks it, on the field; on a Gateway API gateway written as what an HTTPRoute understands (the real API server's
CRD validation judging it), or refused with the reason where Gateway API has no equivalent."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.urls import reverse

from kubegems_routes.kube.client import KubeClient
from kubegems_routes.kube.errors import NotFound
from kubegems_routes.routes import behaviour
from kubegems_routes.routes.gateway_behaviour import Outcome, translate
from kubegems_routes.routes.manifest import Backend
from kubegems_routes.routes.models import Route
from tests.helpers import action_url, create_route, create_url, gateway_api_gateway, route_data, tenant_gateway

pytestmark = pytest.mark.django_db

FIELDS = {
    "connect_timeout": "5s",
    "read_timeout": "120s",
    "send_timeout": "30s",
    "max_body_size": "10m",
    "rate_limit": "10r/s",
    "rate_burst": "5",
    "rate_reject_code": "503",
    "response_headers": "X-Frame-Options:DENY,X-Team:shop",
}
ANNOTATIONS = {
    "nginx.org/proxy-connect-timeout": "5s",
    "nginx.org/proxy-read-timeout": "120s",
    "nginx.org/proxy-send-timeout": "30s",
    "nginx.org/client-max-body-size": "10m",
    "nginx.org/limit-req-rate": "10r/s",
    "nginx.org/limit-req-burst": "5",
    "nginx.org/limit-req-reject-code": "503",
    "nginx.org/add-header": "X-Frame-Options:DENY,X-Team:shop",
}
TWO_PATHS = {
    "paths-TOTAL_FORMS": "2",
    "paths-0-path": "/shop",
    "paths-0-rewrite": "/",
    "paths-1-path": "/api",
    "paths-1-path_type": "Prefix",
    "paths-1-service": "api",
    "paths-1-port": "8080",
    "paths-1-rewrite": "/v1",
}


def _errors(response) -> dict[str, list[str]]:
    """The error of each field of the route form and of its rows, as the page shows them."""
    editor = response.context["editor"]
    found = {name: [str(e) for e in errors] for name, errors in editor.form.errors.items()}
    for prefix, formset in (("paths", editor.paths), ("annotations", editor.annotations)):
        for i, row in enumerate(formset.forms):
            for name, errors in row.errors.items():
                found[f"{prefix}-{i}-{name}"] = [str(e) for e in errors]
    return found


def test_each_behaviour_field_writes_its_annotation_and_the_edit_shows_it_in_its_field(
    operator_client, environment, kube: KubeClient
):
    route = create_route(operator_client, environment, **FIELDS, **TWO_PATHS, https_redirect="")
    rewrites = "serviceName=web rewrite=/;serviceName=api rewrite=/v1"
    assert route.annotations == {**ANNOTATIONS, behaviour.REWRITES: rewrites}
    live = kube.get_ingress(environment.namespace, "shop")["metadata"]["annotations"]
    assert {k: live[k] for k in route.annotations} == route.annotations

    page = operator_client.get(reverse("routes:edit", args=[environment.pk, "shop"]))
    form = page.context["form"]
    assert {name: form[name].value() for name in FIELDS} == FIELDS
    editor = page.context["editor"]
    assert [row["rewrite"].value() for row in editor.paths.forms] == ["/", "/v1"]
    # The behaviours are in their fields, not rows of their own.
    assert [row["key"].value() for row in editor.annotations.forms] == []


def test_an_annotation_typed_by_hand_is_the_field_no_duplicate_row(operator_client, environment):
    rows = {
        "annotations-TOTAL_FORMS": "2",
        "annotations-0-key": "nginx.org/proxy-read-timeout",
        "annotations-0-value": "90s",
        "annotations-1-key": "nginx.org/lb-method",
        "annotations-1-value": "least_conn",
    }
    # While typed, the row says it is the field.
    typed = operator_client.post(action_url(environment, "add-annotation"), route_data(1, **rows)).content.decode()
    assert "This is the field Read timeout under Behaviour" in unescape(typed)
    route = create_route(operator_client, environment, **rows)
    assert route.annotations == {"nginx.org/proxy-read-timeout": "90s", "nginx.org/lb-method": "least_conn"}
    page = operator_client.get(reverse("routes:edit", args=[environment.pk, "shop"]))
    assert page.context["form"]["read_timeout"].value() == "90s"
    assert [row["key"].value() for row in page.context["editor"].annotations.forms] == ["nginx.org/lb-method"]


def test_a_row_that_disagrees_with_its_field_is_refused_on_the_row(operator_client, environment, kube):
    data = route_data(
        tenant_gateway(environment),
        read_timeout="120s",
        **{"annotations-0-key": "nginx.org/proxy-read-timeout", "annotations-0-value": "90s"},
    )
    response = operator_client.post(create_url(environment), data)
    assert response.status_code == 200
    assert _errors(response) == {
        "annotations-0-key": [
            "The field Read timeout under Behaviour sets this too: remove this row or make them agree."
        ]
    }
    assert response.context["form"]["read_timeout"].value() == "120s"  # the input is kept
    assert not Route.objects.filter(environment=environment).exists()
    with pytest.raises(NotFound):
        kube.get_ingress(environment.namespace, "shop")


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"read_timeout": "banana"}, {"read_timeout": "Must be a time"}),
        ({"connect_timeout": "5 seconds"}, {"connect_timeout": "Must be a time"}),
        ({"max_body_size": "10mb"}, {"max_body_size": "Must be a size"}),
        ({"rate_limit": "10r/h"}, {"rate_limit": "Must be a rate"}),
        ({"rate_burst": "5"}, {"rate_burst": "Set a rate limit as well."}),
        ({"rate_limit": "1r/s", "rate_reject_code": "200"}, {"rate_reject_code": "from 400 to 599"}),
        ({"rate_limit": "1r/s", "rate_burst": "lots"}, {"rate_burst": "whole number"}),
        # The controller takes a header without a value, and NGINX adds nothing: the field asks for one.
        ({"response_headers": "X-Team"}, {"response_headers": "Each header needs a name and a value"}),
        ({"response_headers": "X-Team:shop, X-Frame-Options"}, {"response_headers": "needs a name and a value"}),
        ({"response_headers": "X Team:shop"}, {"response_headers": "is not a header name"}),
        ({"response_headers": "X-Team:$host"}, {"response_headers": "must not contain $"}),
        ({"https_redirect": "true"}, {"https_redirect": "Only a route with TLS"}),
        ({"paths-0-rewrite": "/a b"}, {"paths-0-rewrite": "must start with / and contain no whitespace"}),
    ],
)
def test_a_value_the_controller_would_refuse_is_refused_on_its_field(fields, errors, operator_client, environment):
    data = route_data(tenant_gateway(environment), **fields)
    response = operator_client.post(create_url(environment), data)
    if not errors:
        assert response.status_code == 302
        return
    assert response.status_code == 200
    found = _errors(response)
    assert set(found) == set(errors), found
    for name, words in errors.items():
        assert words in found[name][0]
    # Every input kept as typed.
    for name, value in fields.items():
        if not name.startswith("paths-"):
            assert response.context["form"][name].value() == value


def test_the_rows_of_one_service_rewrite_alike(operator_client, environment):
    paths = {**TWO_PATHS, "paths-1-service": "web", "paths-1-port": "80", "paths-1-rewrite": "/v1"}
    response = operator_client.post(create_url(environment), route_data(tenant_gateway(environment), **paths))
    assert _errors(response) == {
        "paths-1-rewrite": [
            "NGINX rewrites per Service: every path of Service web must rewrite alike (/ on the first)."
        ]
    }


def test_the_gateways_default_ranks_below_the_field_and_shows_as_its_placeholder(operator_client, environment, kube):
    gateway = tenant_gateway(environment)
    gateway.annotations.create(key="nginx.org/proxy-read-timeout", value="300s")
    gateway.annotations.create(key="nginx.org/client-max-body-size", value="2m")
    # The part follows the gateway chosen (it is posted again when the gateway changes).
    url = action_url(environment, "behaviour")
    page = operator_client.post(url, route_data(gateway), HTTP_HX_REQUEST="true").content.decode()
    assert page.lstrip().startswith('<fieldset id="behaviour-field"')
    assert re.search(rf'name="read_timeout"[^>]*placeholder="gateway {gateway.name}: 300s"', page)
    assert re.search(r'<option value="" selected>default: redirect to HTTPS</option>', page)
    whole = operator_client.get(create_url(environment)).content.decode()  # the part rendered within the page
    assert re.search(r'<option value="" selected>default: redirect to HTTPS</option>', whole)
    assert re.search(r'name="connect_timeout"[^>]*placeholder="default: 60s"', page)
    create_route(operator_client, environment, read_timeout="30s")
    live = kube.get_ingress(environment.namespace, "shop")["metadata"]["annotations"]
    assert live["nginx.org/proxy-read-timeout"] == "30s" and live["nginx.org/client-max-body-size"] == "2m"


def test_the_preview_shows_what_the_fields_write(operator_client, environment):
    data = route_data(tenant_gateway(environment), read_timeout="120s", **{"paths-0-rewrite": "/v2"})
    preview = operator_client.post(action_url(environment, "preview"), data, HTTP_HX_REQUEST="true")
    preview = unescape(preview.content.decode())
    assert "nginx.org/proxy-read-timeout: 120s" in preview
    assert "nginx.org/rewrites: serviceName=web rewrite=/v2" in preview


# -- Gateway API -------------------------------------------------------------------------------------------


def test_on_gateway_api_the_fields_become_httproute_fields_the_api_server_accepts(
    gateway_api, operator_client, environment, kube
):
    edge = gateway_api_gateway(environment, kube)
    data = {
        "host": "shop.edge.example.com",
        "protocol": "https",
        "https_redirect": "false",
        "read_timeout": "2m",
        "response_headers": "X-Team:shop",
        **TWO_PATHS,
        "paths-0-port": "http",
        "paths-1-port": "ws",
        "paths-1-path_type": "Exact",
    }
    preview = operator_client.post(action_url(environment, "preview"), route_data(edge, **data)).content.decode()
    assert "URLRewrite" in preview and "ResponseHeaderModifier" in preview
    create_route(operator_client, environment, gateway=edge, **data)
    live = kube.get_route_object("HTTPRoute", environment.namespace, "shop")
    web, api = live["spec"]["rules"]
    assert web["timeouts"] == api["timeouts"] == {"backendRequest": "2m"}
    assert web["filters"] == [
        {"type": "ResponseHeaderModifier", "responseHeaderModifier": {"add": [{"name": "X-Team", "value": "shop"}]}},
        {"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}}},
    ]
    assert api["filters"][1] == {
        "type": "URLRewrite",
        "urlRewrite": {"path": {"type": "ReplaceFullPath", "replaceFullPath": "/v1"}},
    }
    # The edit reads the same fields back, and the page says the route is what was applied.
    page = operator_client.get(reverse("routes:edit", args=[environment.pk, "shop"]))
    assert page.context["form"]["read_timeout"].value() == "2m"
    assert page.context["edit_sync"] == "in-sync"


@pytest.mark.parametrize(
    ("fields", "field", "why"),
    [
        ({"connect_timeout": "5s"}, "connect_timeout", "no connect or send one"),
        ({"read_timeout": "1m 30s"}, "read_timeout", "only a single time"),
        ({"max_body_size": "10m"}, "max_body_size", "no Gateway API equivalent"),
        ({"rate_limit": "10r/s"}, "rate_limit", "no Gateway API equivalent"),
        ({"protocol": "https", "https_redirect": "true"}, "https_redirect", "RequestRedirect filter"),
    ],
)
def test_on_gateway_api_a_behaviour_without_equivalent_is_refused_with_the_reason(
    fields, field, why, gateway_api, operator_client, environment, kube
):
    edge = gateway_api_gateway(environment, kube)
    data = route_data(edge, host="shop.edge.example.com", **{"paths-0-port": "http"}, **fields)
    response = operator_client.post(create_url(environment), data)
    assert response.status_code == 200
    found = _errors(response)
    assert list(found) == [field], found
    assert found[field][0].startswith(f"Gateway {edge.name} is a Gateway API gateway, which cannot do this: ")
    assert why in found[field][0]
    assert kube.list_gateway_routes("HTTPRoute", environment.namespace) == []


def test_a_grpc_route_on_gateway_api_has_no_rewrite_or_timeout():
    backends = [Backend(path="/", service="grpc", port="50051")]
    carried = translate(
        {
            "nginx.org/rewrites": "serviceName=grpc rewrite=/x",
            "nginx.org/proxy-read-timeout": "5s",
            "nginx.org/add-header": "X-A:1",
        },
        "GRPCRoute",
        backends,
    )
    assert [c.outcome for c in carried.carried] == [Outcome.DROPPED, Outcome.DROPPED, Outcome.BECOMES]
    assert carried.rules == [
        {
            "filters": [
                {"type": "ResponseHeaderModifier", "responseHeaderModifier": {"add": [{"name": "X-A", "value": "1"}]}}
            ]
        }
    ]


def test_a_redirect_turned_off_needs_nothing_on_gateway_api_and_on_is_dropped():
    for value, outcome in (("false", Outcome.NOT_NEEDED), ("true", Outcome.DROPPED)):
        assert translate({behaviour.SSL_REDIRECT: value}, "HTTPRoute", []).carried[0].outcome == outcome


def test_headers_without_a_value_or_with_a_bad_name_have_no_gateway_api_equivalent():
    for value in ("X-A", "X A:1", "X-A:1,:2"):
        assert translate({"nginx.org/add-header": value}, "HTTPRoute", []).carried[0].outcome == Outcome.DROPPED
    found = translate({"nginx.org/add-header": "X-A: 1 :always"}, "HTTPRoute", [Backend("/", "web", "80")])
    assert found.rules[0]["filters"][0]["responseHeaderModifier"] == {"add": [{"name": "X-A", "value": "1"}]}


def test_the_filters_come_in_one_order_whatever_the_annotations_order():
    backends = [Backend(path="/", service="web", port="80")]
    annotations = {
        "nginx.org/rewrites": "serviceName=web rewrite=/v1",
        "nginx.org/add-header": "X-A:1",
        "nginx.org/proxy-set-headers": "X-B:2",
    }
    one = translate(annotations, "HTTPRoute", backends).rules
    other = translate(dict(reversed(annotations.items())), "HTTPRoute", backends).rules
    assert one == other
    assert [f["type"] for f in one[0]["filters"]] == ["RequestHeaderModifier", "ResponseHeaderModifier", "URLRewrite"]


def test_a_grpc_route_on_gateway_api_gets_its_response_headers_the_api_server_accepts(
    gateway_api, operator_client, environment, kube
):
    edge = gateway_api_gateway(environment, kube)
    grpc = {"paths-0-service": "api", "paths-0-port": "grpc"}
    data = route_data(edge, host="rpc.edge.example.com", protocol="grpc", response_headers="X-Team:shop", **grpc)
    assert operator_client.post(create_url(environment), data).status_code == 302
    rule = kube.get_route_object("GRPCRoute", environment.namespace, "shop")["spec"]["rules"][0]
    assert rule["filters"] == [
        {"type": "ResponseHeaderModifier", "responseHeaderModifier": {"add": [{"name": "X-Team", "value": "shop"}]}}
    ]
    refused = route_data(edge, name="rpc", host="rpc2.edge.example.com", protocol="grpc", read_timeout="5s", **grpc)
    assert _errors(operator_client.post(create_url(environment), refused)) == {
        "read_timeout": [
            f"Gateway {edge.name} is a Gateway API gateway, which cannot do this: a GRPCRoute has no timeouts."
        ]
    }


@pytest.mark.parametrize(("timeout", "imported"), [("90s", True), ("60s", False)])
def test_an_httproute_made_elsewhere_imports_with_its_filters_only_when_its_annotations_make_them(
    timeout, imported, gateway_api, operator_client, environment, kube
):
    edge = gateway_api_gateway(environment, kube)
    parent = {"group": "gateway.networking.k8s.io", "kind": "Gateway", "namespace": "platform"}
    body = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {
            "name": "odd",
            "namespace": environment.namespace,
            "annotations": {"nginx.org/proxy-read-timeout": timeout},
        },
        "spec": {
            "parentRefs": [{**parent, "name": edge.gateway_name, "sectionName": "http"}],
            "hostnames": ["odd.acme.example.com"],
            "rules": [
                {"timeouts": {"backendRequest": "90s"}, "backendRefs": [{"name": "web", "port": 80}]},
            ],
        },
    }
    kube.create_gateway_route("HTTPRoute", environment.namespace, body)
    response = operator_client.post(
        reverse("routes:import", args=[environment.pk]), {"kind": "HTTPRoute", "name": "odd"}, follow=True
    )
    assert Route.objects.filter(name="odd").exists() == imported
    if imported:
        page = operator_client.get(reverse("routes:edit", args=[environment.pk, "odd"]))
        assert page.context["form"]["read_timeout"].value() == "90s"
    else:
        assert "spec.rules[0].timeouts" in unescape(response.content.decode())


def test_on_a_gateway_api_gateway_the_part_says_which_behaviours_it_cannot_have(
    gateway_api, operator_client, environment, kube
):
    nginx = tenant_gateway(environment)
    edge = gateway_api_gateway(environment, kube)
    url = action_url(environment, "behaviour")
    part = unescape(operator_client.post(url, route_data(edge), HTTP_HX_REQUEST="true").content.decode())
    noted = set(re.findall(r'id="id_(\w+)_gateway_api"', part))
    assert noted == {"https_redirect", "connect_timeout", "send_timeout", "max_body_size"} | {
        "rate_limit",
        "rate_burst",
        "rate_reject_code",
    }
    assert "Not on a Gateway API gateway: Gateway API has a request and a backend timeout" in part
    assert 'aria-describedby="id_connect_timeout_helptext id_connect_timeout_gateway_api"' in part
    grpc = route_data(edge, protocol="grpc", **{"paths-0-service": "api", "paths-0-port": "grpc"})
    part = operator_client.post(url, grpc, HTTP_HX_REQUEST="true").content.decode()
    assert "id_read_timeout_gateway_api" in part  # a GRPCRoute has no timeouts
    ingress = operator_client.post(url, route_data(nginx), HTTP_HX_REQUEST="true")
    assert "_gateway_api" not in ingress.content.decode()


def test_split_keeps_a_redirect_spelled_otherwise_as_a_row():
    fields, rest = behaviour.split({"nginx.org/ssl-redirect": "True", "nginx.org/proxy-read-timeout": "5s", "a/b": "c"})
    assert fields == {"read_timeout": "5s"}
    assert rest == {"nginx.org/ssl-redirect": "True", "a/b": "c"}
    assert behaviour.split({"nginx.org/ssl-redirect": "false"})[0] == {"https_redirect": "false"}


def test_split_keeps_a_header_without_a_value_as_a_row():
    """The field asks for name:value; what the controller takes otherwise stays a row (checked as an annotation)."""
    assert behaviour.split({"nginx.org/add-header": "X-Team"}) == ({}, {"nginx.org/add-header": "X-Team"})
    assert behaviour.split({"nginx.org/add-header": "X-Team:shop:always"})[0] == {
        "response_headers": "X-Team:shop:always"
    }
