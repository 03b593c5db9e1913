"""Pure functions: the Ingress a route becomes, random hosts, validators. No cluster."""

from __future__ import annotations

import random
import re

import pytest
from django.core.exceptions import ValidationError

from kubegems_routes.lib import hosts, validators
from kubegems_routes.routes import manifest
from kubegems_routes.routes.forms import is_snippet_annotation


def _spec(protocol: str, **overrides) -> manifest.RouteSpec:
    values = {
        "name": "shop",
        "namespace": "ns",
        "host": "shop.example.com",
        "protocol": protocol,
        "ingress_class": "public-acme",
        "backends": (
            manifest.Backend(path="/", service="web", port="80"),
            manifest.Backend(path="/api", service="api", port="grpc", path_type="Exact"),
            manifest.Backend(path="/v2", service="web", port="80"),
        ),
        "tls_secret": "shop-tls",
    }
    values.update(overrides)
    return manifest.RouteSpec(**values)


@pytest.mark.parametrize(
    ("protocol", "key"),
    [("ws", manifest.WEBSOCKET_SERVICES), ("wss", manifest.WEBSOCKET_SERVICES), ("grpc", manifest.GRPC_SERVICES)],
)
def test_protocol_annotation_names_every_backend_service_once(protocol, key):
    ingress = manifest.build_ingress(_spec(protocol))
    assert ingress["metadata"]["annotations"] == {key: "web,api"}


@pytest.mark.parametrize("protocol", ["http", "https"])
def test_plain_protocols_generate_no_annotation(protocol):
    assert "annotations" not in manifest.build_ingress(_spec(protocol))["metadata"]


@pytest.mark.parametrize(
    ("protocol", "has_tls"), [("http", False), ("ws", False), ("https", True), ("wss", True), ("grpc", True)]
)
def test_tls_entry_only_for_tls_protocols(protocol, has_tls):
    spec = manifest.build_ingress(_spec(protocol))["spec"]
    assert ("tls" in spec) is has_tls
    if has_tls:
        assert spec["tls"] == [{"hosts": ["shop.example.com"], "secretName": "shop-tls"}]


def test_annotations_precedence_gateway_then_protocol_then_user():
    spec = _spec(
        "ws",
        gateway_annotations={"nginx.org/proxy-read-timeout": "30s", manifest.WEBSOCKET_SERVICES: "x", "a/b": "g"},
        annotations={"nginx.org/proxy-read-timeout": "90s"},
    )
    assert manifest.effective_annotations(spec) == {
        "nginx.org/proxy-read-timeout": "90s",
        manifest.WEBSOCKET_SERVICES: "web,api",
        "a/b": "g",
    }


def test_ports_are_numbers_or_names_and_class_is_the_gateways():
    ingress = manifest.build_ingress(_spec("http"))
    paths = ingress["spec"]["rules"][0]["http"]["paths"]
    assert paths[0]["backend"]["service"]["port"] == {"number": 80}
    assert paths[1]["backend"]["service"]["port"] == {"name": "grpc"}
    assert paths[1]["pathType"] == "Exact"
    assert ingress["spec"]["ingressClassName"] == "public-acme"


def test_random_host_replaces_each_star_label_with_five_letters():
    host = hosts.random_host("*.apps.*.kubegems.io", random.Random(7))
    assert re.fullmatch(r"[a-z]{5}\.apps\.[a-z]{5}\.kubegems\.io", host)


@pytest.mark.parametrize("domain", ["kubegems.io", "a*.kubegems.io", "*", "*.Kube.io"])
def test_default_domain_needs_an_exact_star_label(domain):
    with pytest.raises(ValidationError):
        validators.validate_default_domain(domain)


@pytest.mark.parametrize("host", ["app.example.com", "*.example.com", "a-b.c"])
def test_valid_hosts(host):
    validators.validate_host(host)


@pytest.mark.parametrize(
    "host", ["10.0.0.1", "::1", "a.*.example.com", "App.example.com", "a_b.com", "*", "a.example.com\n"]
)
def test_invalid_hosts(host):
    with pytest.raises(ValidationError):
        validators.validate_host(host)


@pytest.mark.parametrize(
    "key",
    [
        "nginx.org/server-snippets",
        "nginx.org/location-snippets",
        "nginx.ingress.kubernetes.io/configuration-snippet",
        "nginx.ingress.kubernetes.io/server-snippet",
        "example.com/auth-snippet",
    ],
)
def test_snippet_annotations_are_recognised(key):
    assert is_snippet_annotation(key)


@pytest.mark.parametrize("key", ["nginx.org/proxy-read-timeout", "nginx.org/websocket-services", "snippetsx/a"])
def test_ordinary_annotations_are_not_snippets(key):
    assert not is_snippet_annotation(key)


@pytest.mark.parametrize("value", ["80", "65535", "http", "grpc-web"])
def test_valid_ports(value):
    validators.validate_port(value)


@pytest.mark.parametrize("value", ["0", "65536", "HTTP", "a" * 16, "-x", "80a-", "1--a", "²", "http\n", "80\n"])
def test_invalid_ports(value):
    with pytest.raises(ValidationError):
        validators.validate_port(value)
