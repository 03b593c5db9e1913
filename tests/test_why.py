"""routes/why.py: the findings and their order, from facts alone (no cluster, no resolver)."""

from __future__ import annotations

from kubegems_routes.gateways.models import Gateway
from kubegems_routes.routes.backends import BackendHealth, Health
from kubegems_routes.routes.dns import DnsCheck, DnsState, Resolved
from kubegems_routes.routes.gateway_status import GatewayStatus, Verdict
from kubegems_routes.routes.models import Route
from kubegems_routes.routes.why import Facts, findings
from kubegems_routes.tenancy.models import Environment


def _route(**fields) -> Route:
    gateway = Gateway(name="public", ingress_class="public-acme", default_domain="*.acme.example.com")
    return Route(
        name="shop",
        environment=Environment(namespace="acme-shop-dev"),
        gateway=gateway,
        host="shop.acme.example.com",
        **fields,
    )


def _facts(**overrides) -> Facts:
    values = {
        "route": _route(protocol="https", tls_secret="shop-tls"),
        "kind": "Ingress",
        "sync": "in-sync",
        "status": GatewayStatus(Verdict.SERVING, "AddedOrUpdated", "ok"),
        "backends": [BackendHealth("web", "80", Health.READY, 2, 0)],
        "dns": DnsCheck("shop.acme.example.com", DnsState.READY, "shop.acme.example.com A 192.0.2.10"),
        "tls": "",
        "can_write": True,
    }
    return Facts(**{**values, **overrides})


def test_everything_in_place_finds_nothing():
    assert findings(_facts()) == []


def test_the_order_is_route_backend_dns_certificate_whatever_the_input_order():
    found = findings(
        _facts(
            status=GatewayStatus(Verdict.REJECTED, "Rejected", "bad annotation"),
            backends=[
                BackendHealth("api", "grpc", Health.NO_PORT, ports=("ws (8080/TCP)",)),
                BackendHealth("web", "80", Health.NONE_READY, 0, 3),
                BackendHealth("other", "80", Health.READY, 1, 0),
            ],
            dns=DnsCheck(
                "shop.acme.example.com",
                DnsState.ELSEWHERE,
                "shop.acme.example.com A 192.0.2.10",
                Resolved(addresses=("198.51.100.7",)),
            ),
            tls="host-not-covered",
        )
    )
    assert [f.cause for f in found] == ["route", "backend", "backend", "dns", "certificate"]
    assert [f.severity for f in found] == ["danger"] * 5
    assert (
        found[1].what
        == "Service api has no port grpc (it has ws (8080/TCP)): the gateway has no backend for its paths."
    )
    assert found[2].what.startswith("No ready endpoint behind web:80 (0 ready, 3 not ready)")
    assert found[4].what == "The certificate in shop-tls does not name shop.acme.example.com: clients refuse it."


def test_a_missing_object_hides_what_the_gateway_said_of_it():
    found = findings(_facts(sync="missing", status=GatewayStatus(Verdict.REJECTED, "Rejected", "old word")))
    assert [(f.cause, f.what) for f in found] == [
        ("route", "The route's Ingress is missing in the cluster: the gateway has nothing to serve.")
    ]


def test_readers_are_told_who_can_make_an_edit():
    reader = findings(_facts(sync="missing", can_write=False))[0].next_step
    assert reader == (
        "Re-apply the route: it writes the Ingress again. (someone who may edit this environment's routes can do that.)"
    )


def test_an_unreachable_cluster_says_nothing_of_the_route_and_undecided_checks_are_notes():
    found = findings(
        _facts(
            sync="unknown",
            status=None,
            backends=[BackendHealth("web", "80", Health.UNKNOWN)],
            dns=DnsCheck("shop.acme.example.com", DnsState.FAILED, resolved=Resolved(error="timed out")),
        )
    )
    assert [(f.cause, f.severity) for f in found] == [("dns", "secondary")]


def test_a_gateway_api_route_waiting_names_its_gateway():
    route = _route(protocol="http")
    route.gateway = Gateway(
        name="edge", kind=Gateway.Kind.GATEWAY_API, gateway_namespace="platform", gateway_name="edge"
    )
    [found] = findings(_facts(route=route, kind="HTTPRoute", status=GatewayStatus(Verdict.PENDING, "", "")))
    assert found.what == "No controller has taken the route yet."
    assert "whether a controller serves Gateway platform/edge" in found.next_step
