"""DNS readiness on a route's page: its host resolved through the console's resolver, pointed at a real DNS
server on loopback (tests/dns_server.py), and compared with the gateway's address."""

from __future__ import annotations

import html
import re
import socket
import time

import pytest
from django.urls import reverse

from kubegems_routes.gateways.models import Gateway
from kubegems_routes.routes import dns
from kubegems_routes.tenancy.models import Environment, Project, Tenant, TenantMember
from tests.dns_server import LoopbackDns
from tests.helpers import create_route, gateway_api_gateway, route_data, tenant_gateway

pytestmark = pytest.mark.django_db

HOST = "shop.acme.example.com"


@pytest.fixture
def loopback_dns(settings):
    server = LoopbackDns().start()
    settings.DNS_CHECK = True
    settings.DNS_NAMESERVERS = [("127.0.0.1", server.port)]
    settings.DNS_TIMEOUT = 2
    dns.forget()
    yield server
    dns.forget()
    server.stop()


@pytest.fixture
def addressed(environment) -> Gateway:
    gateway = tenant_gateway(environment)
    gateway.address = "192.0.2.10"
    gateway.save()
    return gateway


def _dns(client, environment, name="shop"):
    response = client.get(reverse("routes:detail", args=[environment.pk, name]))
    assert response.status_code == 200
    return response.context["dns"], response.content.decode()


def _shown(page: str) -> str:
    found = re.search(r'<p class="mb-1" id="dns-state"[^>]*>(.*?)</p>', page, re.S)
    assert found, "no DNS state on the page"
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip())


def test_a_host_that_resolves_to_the_gateway_is_ready(loopback_dns, operator_client, environment, addressed):
    create_route(operator_client, environment)
    loopback_dns.add(HOST, "A", "192.0.2.10")
    check, page = _dns(operator_client, environment)
    assert check.state == "ready"
    assert _shown(page) == f"DNS now: ready {HOST} resolves to the gateway's address"


def test_a_host_that_resolves_elsewhere_says_where(loopback_dns, operator_client, environment, addressed):
    create_route(operator_client, environment)
    loopback_dns.add(HOST, "CNAME", "old-lb.example.net")
    loopback_dns.add("old-lb.example.net", "A", "198.51.100.7")
    check, page = _dns(operator_client, environment)
    assert check.state == "elsewhere"
    assert "points elsewhere (old-lb.example.net, 198.51.100.7)" in _shown(page)


def test_a_host_without_a_record_names_the_record_to_create(loopback_dns, operator_client, environment, addressed):
    create_route(operator_client, environment)
    check, page = _dns(operator_client, environment)
    assert check.state == "missing"
    shown = _shown(page)
    assert f"no record yet: create {HOST} A 192.0.2.10" in shown
    # The gateway's domain is a wildcard: one record serves every host under it.
    assert "*.acme.example.com A 192.0.2.10" in shown


def test_a_load_balancer_name_is_found_in_the_cname_chain(loopback_dns, operator_client, environment, addressed):
    addressed.address = "lb-1234.elb.example.net"
    addressed.save()
    create_route(operator_client, environment)
    loopback_dns.add(HOST, "CNAME", "lb-1234.elb.example.net")
    loopback_dns.add("lb-1234.elb.example.net", "A", "203.0.113.5")
    check, _page = _dns(operator_client, environment)
    assert check.state == "ready" and check.record == f"{HOST} CNAME lb-1234.elb.example.net"
    # Only the route's host is resolved, never the gateway's own name.
    assert loopback_dns.queries == [HOST]


def test_an_ipv6_gateway_is_matched_by_aaaa(loopback_dns, operator_client, environment, addressed):
    addressed.address = "2001:db8::10"
    addressed.save()
    create_route(operator_client, environment)
    loopback_dns.add(HOST, "AAAA", "2001:db8:0:0::10")
    check, _page = _dns(operator_client, environment)
    assert check.state == "ready" and check.record == f"{HOST} AAAA 2001:db8::10"


def test_answers_are_kept_briefly(loopback_dns, operator_client, environment, addressed, settings):
    create_route(operator_client, environment)
    loopback_dns.add(HOST, "A", "198.51.100.7")
    assert _dns(operator_client, environment)[0].state == "elsewhere"
    asked = len(loopback_dns.queries)
    loopback_dns.clear()
    loopback_dns.add(HOST, "A", "192.0.2.10")  # fixed: seen once the answer has expired
    assert _dns(operator_client, environment)[0].state == "elsewhere" and loopback_dns.queries == []
    assert asked == 1  # an A record: no AAAA asked
    settings.DNS_CACHE_SECONDS = 0
    dns.forget()
    assert _dns(operator_client, environment)[0].state == "ready"


def test_a_resolver_that_does_not_answer_costs_the_timeout_at_most(
    loopback_dns, operator_client, environment, addressed, settings
):
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))  # receives, never answers
    try:
        settings.DNS_NAMESERVERS = [("127.0.0.1", silent.getsockname()[1])]
        settings.DNS_TIMEOUT = 0.5
        create_route(operator_client, environment)
        started = time.monotonic()
        check, page = _dns(operator_client, environment)
        assert time.monotonic() - started < 3
        assert check.state == "failed"
        assert "not checked: the resolver did not answer" in _shown(page)
    finally:
        silent.close()


def test_a_wildcard_host_says_so_and_is_not_resolved(loopback_dns, operator_client, environment, addressed):
    create_route(operator_client, environment, host="*.acme.example.com")
    check, page = _dns(operator_client, environment)
    assert check.state == "wildcard"
    assert "a wildcard host: its DNS needs a wildcard record, *.acme.example.com A 192.0.2.10" in _shown(page)
    assert loopback_dns.queries == []


def test_a_gateway_api_route_is_checked_too(loopback_dns, gateway_api, operator_client, environment, kube):
    edge = gateway_api_gateway(environment, kube, address="192.0.2.20")
    data = route_data(edge, host="shop.edge.example.com", **{"paths-0-port": "http"})
    assert operator_client.post(reverse("routes:create", args=[environment.pk]), data).status_code == 302
    loopback_dns.add("shop.edge.example.com", "A", "192.0.2.20")
    assert _dns(operator_client, environment)[0].state == "ready"


def test_a_tenant_cannot_resolve_another_tenants_host(
    loopback_dns, operator_client, environment, addressed, django_user_model
):
    create_route(operator_client, environment)
    rival = Tenant.objects.create(name="rival")
    project = Project.objects.create(tenant=rival, name="shop")
    Environment.objects.create(
        project=project, cluster=environment.cluster, name="dev", namespace=f"{environment.namespace}-b"
    )
    user = django_user_model.objects.create_user("rita", password="pw")
    TenantMember.objects.create(tenant=rival, user=user, role=TenantMember.Role.ADMIN)
    operator_client.force_login(user)
    assert operator_client.get(reverse("routes:detail", args=[environment.pk, "shop"])).status_code == 404
    assert loopback_dns.queries == []
