"""The Test button's rules that need no data plane: access, the rate limit, nowhere to send, and the probe's
pure parts (certificate names and expiry, the gRPC health answer). Traffic through NGINX: tests/test_traffic.py."""

from __future__ import annotations

import datetime as dt
import socket

import pytest
from django.test import Client
from django.urls import reverse

from kubegems_routes.routes.models import AuditEntry
from kubegems_routes.routes.probe import Certificate, Step, health_status, probe
from kubegems_routes.tenancy.models import EnvironmentMember
from tests.helpers import create_route

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)


def _test_url(environment, name="shop"):
    return reverse("routes:test", args=[environment.pk, name])


def _certificate(*names: str, days: int = 90) -> Certificate:
    return Certificate("CN=shop", "CN=Test CA", names, NOW + dt.timedelta(days=days))


@pytest.mark.parametrize(
    ("names", "host", "covers"),
    [
        (("shop.acme.example.com",), "shop.acme.example.com", True),
        (("*.acme.example.com",), "shop.acme.example.com", True),
        (("*.acme.example.com",), "a.shop.acme.example.com", False),  # a wildcard stands for one label
        (("*.acme.example.com",), "acme.example.com", False),
        (("other.example.com",), "shop.acme.example.com", False),
        (("SHOP.acme.example.com",), "shop.ACME.example.com", True),
    ],
)
def test_a_certificate_covers_a_host_by_its_dns_names(names, host, covers):
    assert _certificate(*names).covers(host) is covers


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"\x00\x00\x00\x00\x02\x08\x01", "SERVING"),
        (b"\x00\x00\x00\x00\x02\x08\x02", "NOT_SERVING"),
        (b"\x00\x00\x00\x00\x02\x08\x03", "SERVICE_UNKNOWN"),
        (b"\x00\x00\x00\x00\x00", "UNKNOWN"),  # proto3: the default value is not sent
        (b"", "UNKNOWN"),
    ],
)
def test_the_grpc_health_answer_is_read_from_its_message(body, status):
    assert health_status(body) == status


def test_a_closed_port_fails_at_connect_and_says_where():
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    found = probe("shop.acme.example.com", "http", "/", "127.0.0.1", port)
    assert found.failed == Step.CONNECT
    assert found.target == f"127.0.0.1:{port}"
    assert found.url == "http://shop.acme.example.com/"


def test_a_gateway_without_an_address_says_so_and_sends_nothing(operator_client, environment):
    create_route(operator_client, environment)
    response = operator_client.post(_test_url(environment), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="probe-result"')  # the fragment only
    assert "address is not known" in body
    entry = AuditEntry.objects.get(action=AuditEntry.Action.TEST)
    assert (entry.route_name, entry.user.username) == ("shop", "olivia")
    assert "address is not known" in entry.note


def test_without_javascript_the_test_answers_with_a_whole_page(operator_client, environment):
    create_route(operator_client, environment)
    response = operator_client.post(_test_url(environment))
    body = response.content.decode()
    assert response.status_code == 200 and "<html" in body and 'id="probe-result"' in body


def test_past_the_limit_a_user_gets_429_and_nothing_is_sent(operator_client, environment, settings):
    settings.ROUTE_TESTS_PER_MINUTE = 2
    create_route(operator_client, environment)
    statuses = [operator_client.post(_test_url(environment), HTTP_HX_REQUEST="true").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert AuditEntry.objects.filter(action=AuditEntry.Action.TEST).count() == 2


def test_a_reader_may_test_and_the_test_is_audit_logged(operator_client, environment, django_user_model):
    create_route(operator_client, environment)
    reader = django_user_model.objects.create_user("rita", password="pw")
    EnvironmentMember.objects.create(environment=environment, user=reader, role=EnvironmentMember.Role.READER)
    client = Client()
    client.force_login(reader)
    assert client.post(_test_url(environment), HTTP_HX_REQUEST="true").status_code == 200
    assert AuditEntry.objects.filter(action=AuditEntry.Action.TEST, user=reader, route_name="shop").exists()


def test_another_tenants_route_cannot_be_tested(operator_client, environment, django_user_model):
    create_route(operator_client, environment)
    stranger = django_user_model.objects.create_user("sam", password="pw")
    client = Client()
    client.force_login(stranger)
    assert client.post(_test_url(environment)).status_code == 404
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.TEST).exists()


def test_the_test_is_a_post(operator_client, environment):
    create_route(operator_client, environment)
    assert operator_client.get(_test_url(environment)).status_code == 405


@pytest.mark.parametrize(
    ("days", "warning"),
    [
        (90, None),
        (14, "The certificate expires in 14 days."),
        (0.5, "The certificate expires within 1 day."),
        (-1, "The certificate has expired."),
    ],
)
def test_a_certificate_near_its_end_is_warned_of(days, warning):
    from kubegems_routes.routes.probe import _result

    found = _result(
        "10.0.0.1:443",
        "https://shop.acme.example.com/",
        {"certificate": Certificate("CN=shop", "CN=CA", ("shop.acme.example.com",), NOW + dt.timedelta(days=days))},
        NOW,
    )
    assert found.warnings == ([warning] if warning else [])


def test_tests_are_shown_apart_from_the_routes_history(operator_client, environment):
    """The Test button's audit entries would crowd the route's changes out of its page: they are collapsed
    under a count of their own."""
    create_route(operator_client, environment)
    for _ in range(2):
        assert operator_client.post(_test_url(environment), HTTP_HX_REQUEST="true").status_code == 200
    page = operator_client.get(reverse("routes:detail", args=[environment.pk, "shop"])).content.decode()
    history = page.split('<h2 class="h5">History</h2>')[1].split('id="route-tests"')[0]
    assert "created" in history and "tested through its gateway" not in history
    tests = page.split('<details class="small mb-2" id="route-tests">')[1].split("</details>")[0]
    assert "Tested 2 times through its gateway" in tests and tests.count("<li>") == 2
    assert "The gateway&#x27;s address is not known" in tests  # each test's outcome, as the audit log notes it
