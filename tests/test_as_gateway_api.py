"""An Ingress route shown as a Gateway API route: the HTTPRoute or GRPCRoute, each annotation's fate, and an
object the real API server (with Gateway API's CRDs) accepts."""

from __future__ import annotations

import re
from html import unescape

import pytest
import yaml
from django.urls import reverse

from tests.helpers import create_route, gateway_api_gateway

pytestmark = pytest.mark.django_db

ANNOTATIONS = {
    "nginx.org/proxy-read-timeout": "90",
    "nginx.org/proxy-set-headers": "X-Team: shop",
    "nginx.org/client-max-body-size": "4m",
}


def _annotated(**overrides: str) -> dict[str, str]:
    data = {"annotations-TOTAL_FORMS": str(len(ANNOTATIONS))}
    for i, (key, value) in enumerate(ANNOTATIONS.items()):
        data[f"annotations-{i}-key"] = key
        data[f"annotations-{i}-value"] = value
    return {**data, **overrides}


def _shown(client, environment, name="shop"):
    response = client.get(reverse("routes:as-gateway-api", args=[environment.pk, name]))
    assert response.status_code == 200
    return response


def _rows(page: str) -> dict[str, tuple[str, str]]:
    rows = re.findall(r'<tr data-outcome="([a-z-]+)"><td><code[^>]*>(.*?)</code></td>(.*?)</tr>', page, re.S)
    return {
        unescape(code).split(":")[0]: (outcome, " ".join(unescape(re.sub(r"<[^>]+>", " ", rest)).split()))
        for outcome, code, rest in rows
    }


def _dry_run(kube, namespace: str, manifest: dict) -> dict:
    resource = {"HTTPRoute": "httproutes", "GRPCRoute": "grpcroutes"}[manifest["kind"]]
    return kube.request(
        "POST",
        f"/apis/gateway.networking.k8s.io/v1/namespaces/{namespace}/{resource}",
        query={"dryRun": "All"},
        body=manifest,
    )


def test_a_websocket_route_with_three_annotations_shows_what_each_becomes(
    gateway_api, operator_client, environment, kube
):
    create_route(operator_client, environment, protocol="ws", **_annotated())
    edge = gateway_api_gateway(environment, kube)
    detail = operator_client.get(reverse("routes:detail", args=[environment.pk, "shop"])).content.decode()
    assert reverse("routes:as-gateway-api", args=[environment.pk, "shop"]) in detail

    response = _shown(operator_client, environment)
    shown = response.context["shown"]
    assert shown.kind == "HTTPRoute" and shown.gateway == edge
    rows = _rows(response.content.decode())
    assert rows == {
        "nginx.org/websocket-services": ("not-needed", "not needed an HTTPRoute passes WebSocket upgrades"),
        "nginx.org/proxy-read-timeout": ("becomes", "becomes rules[].timeouts.backendRequest: 90s"),
        "nginx.org/proxy-set-headers": ("becomes", "becomes a RequestHeaderModifier filter (set) on each rule"),
        "nginx.org/client-max-body-size": ("dropped", "dropped no Gateway API equivalent the console knows of"),
    }
    assert [c.key for c in shown.dropped] == ["nginx.org/client-max-body-size"]
    rule = shown.manifest["spec"]["rules"][0]
    assert rule["timeouts"] == {"backendRequest": "90s"}
    assert rule["filters"] == [
        {"type": "RequestHeaderModifier", "requestHeaderModifier": {"set": [{"name": "X-Team", "value": "shop"}]}}
    ]
    assert shown.manifest["spec"]["parentRefs"][0]["name"] == edge.gateway_name
    # What becomes a field stays the route's, so its form shows it; what is dropped is not carried.
    assert {k: v for k, v in shown.manifest["metadata"]["annotations"].items() if k.startswith("nginx.org/")} == {
        "nginx.org/proxy-read-timeout": "90",
        "nginx.org/proxy-set-headers": "X-Team: shop",
    }
    # The YAML on the page is that object, and the API server (the CRD's schema and CEL rules) accepts it.
    page = response.content.decode()
    assert yaml.safe_load(unescape(re.search(r'id="gateway-api-yaml"><code>(.*?)</code>', page, re.S).group(1))) == (
        shown.manifest
    )
    stored = _dry_run(kube, environment.namespace, shown.manifest)
    assert stored["spec"]["rules"][0]["timeouts"] == {"backendRequest": "90s"}
    # The move's words say so too, not that no annotation is kept.
    move = " ".join(unescape(re.search(r'<section id="move".*?</section>', page, re.S).group(0)).split())
    assert 'keeps the annotations marked "becomes"' in move and "keeps no annotations" not in move
    # Nothing was written.
    assert kube.list_gateway_routes("HTTPRoute", environment.namespace) == []


def test_a_grpc_route_becomes_a_grpcroute_and_its_certificate_the_listeners(
    gateway_api, operator_client, environment, kube
):
    create_route(
        operator_client,
        environment,
        protocol="grpc",
        tls_secret="demo-tls",
        **{"paths-0-service": "api", "paths-0-port": "grpc"},
    )
    gateway_api_gateway(environment, kube)
    response = _shown(operator_client, environment)
    shown = response.context["shown"]
    assert shown.kind == "GRPCRoute"
    assert shown.manifest["spec"]["rules"][0]["backendRefs"][0]["port"] == 50051  # the name resolved
    assert _rows(response.content.decode())["nginx.org/grpc-services"][0] == "not-needed"
    assert any("TLS secret demo-tls is not used" in note for note in shown.notes)
    _dry_run(kube, environment.namespace, shown.manifest)


def test_an_implementation_specific_path_becomes_a_prefix_and_says_so(gateway_api, operator_client, environment, kube):
    create_route(operator_client, environment, **{"paths-0-path_type": "ImplementationSpecific"})
    gateway_api_gateway(environment, kube)
    shown = _shown(operator_client, environment).context["shown"]
    assert shown.manifest["spec"]["rules"][0]["matches"] == [{"path": {"type": "PathPrefix", "value": "/"}}]
    assert shown.notes == [
        "Path /: ImplementationSpecific matching has no Gateway API equivalent; it becomes a prefix match."
    ]


def test_without_a_gateway_api_gateway_it_says_so_and_the_page_offers_nothing(operator_client, environment):
    create_route(operator_client, environment)
    detail = operator_client.get(reverse("routes:detail", args=[environment.pk, "shop"])).content.decode()
    assert reverse("routes:as-gateway-api", args=[environment.pk, "shop"]) not in detail
    page = _shown(operator_client, environment).content.decode()
    assert 'id="no-gateway-api"' in page


def test_a_gateway_api_route_has_nothing_to_show(gateway_api, operator_client, environment, kube):
    edge = gateway_api_gateway(environment, kube)
    create_route(operator_client, environment, gateway=edge, host="shop.edge.example.com", **{"paths-0-port": "http"})
    response = operator_client.get(reverse("routes:as-gateway-api", args=[environment.pk, "shop"]))
    assert response.status_code == 404


def test_rewrites_become_url_rewrite_filters_the_api_server_accepts(gateway_api, operator_client, environment, kube):
    paths = {
        "paths-TOTAL_FORMS": "2",
        "paths-1-path": "/api/v1",
        "paths-1-path_type": "Exact",
        "paths-1-service": "api",
        "paths-1-port": "ws",
        "paths-0-path": "/shop",
    }
    rewrites = "serviceName=web rewrite=/;serviceName=api rewrite=/v1"
    create_route(
        operator_client,
        environment,
        **paths,
        **{"annotations-0-key": "nginx.org/rewrites", "annotations-0-value": rewrites},
    )
    gateway_api_gateway(environment, kube)
    shown = _shown(operator_client, environment).context["shown"]
    web, api = shown.manifest["spec"]["rules"]
    assert web["filters"] == [
        {"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}}}
    ]
    assert api["filters"] == [
        {"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplaceFullPath", "replaceFullPath": "/v1"}}}
    ]
    assert [c.outcome for c in shown.annotations] == ["becomes"]
    _dry_run(kube, environment.namespace, shown.manifest)
