"""The "why doesn't it answer?" panel of a route's page: its findings, in order, each with what to do next.

The controller's Events and status.parents are written as a controller writes them, EndpointSlices as the
EndpointSlice controller does, and DNS is a real server on loopback (tests/dns_server.py).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from html import unescape

import pytest
from django.urls import reverse

from kubegems_routes.routes import dns
from kubegems_routes.tenancy.models import EnvironmentMember
from tests.helpers import create_route, gateway_api_gateway, put_endpoint_slice, route_data, tenant_gateway, until
from tests.test_dns_readiness import HOST, loopback_dns  # noqa: F401  (the fixture)
from tests.test_gateway_api_status import ACCEPTED, RESOLVED, _condition, _write_status

pytestmark = pytest.mark.django_db


def controller_says(kube, namespace: str, name: str, reason: str, message: str, type_: str = "Normal") -> None:
    """An Event on the Ingress as the NGINX Ingress Controller records it."""
    uid = kube.get_ingress(namespace, name)["metadata"]["uid"]
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    kube.create(
        f"/api/v1/namespaces/{namespace}/events",
        {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"{name}.{uuid.uuid4().hex[:12]}"},
            "involvedObject": {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "namespace": namespace,
                "name": name,
                "uid": uid,
            },
            "reason": reason,
            "message": message,
            "type": type_,
            "source": {"component": "nginx-ingress-controller"},
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        },
    )


def _panel(client, environment, name="shop") -> tuple[list[str], list[str], str]:
    """The panel's causes in order, its findings as text, and the whole panel as text."""
    response = client.get(reverse("routes:detail", args=[environment.pk, name]))
    assert response.status_code == 200
    page = response.content.decode()
    section = re.search(r'<section id="why".*?</section>', page, re.S)
    assert section, "no why panel on the page"
    items = re.findall(r'<li class="mb-2" data-cause="([a-z]+)">(.*?)</li>', section.group(0), re.S)
    return [cause for cause, _html in items], [_text(html) for _cause, html in items], _text(section.group(0))


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


@pytest.fixture
def addressed(environment):
    gateway = tenant_gateway(environment)
    gateway.address = "192.0.2.10"
    gateway.save()
    return gateway


def test_the_panel_orders_route_backend_dns_certificate_and_each_says_what_next(
    loopback_dns,  # noqa: F811
    operator_client,
    environment,
    addressed,
    kube,
):
    ns = environment.namespace
    create_route(operator_client, environment, protocol="https", tls_secret="later-tls")  # no such Secret yet
    put_endpoint_slice(kube, ns, "web", ready=0)  # scaled to zero
    until(lambda: _panel(operator_client, environment)[0] == ["route", "backend", "dns", "certificate"])
    _causes, found, panel = _panel(operator_client, environment)
    assert found[0].startswith("Route No controller has taken the route yet.")
    assert f"ask a platform admin whether a controller serves ingress class {addressed.ingress_class}" in found[0]
    assert found[1].startswith("Backend No ready endpoint behind web:80 (0 ready, 0 not ready)")
    assert (
        f"Next step: Scale the workload behind Service web up, or find why its Pods are not ready (kubectl -n {ns}"
        in (found[1])
    )
    assert found[2] == (
        f"DNS {HOST} has no DNS record yet: clients cannot find the gateway. Next step: Create the record "
        f"{HOST} A 192.0.2.10 where the domain's DNS is kept. Or one record for the gateway's whole domain: "
        "*.acme.example.com A 192.0.2.10."
    )
    assert found[3].startswith(f"Certificate TLS secret later-tls does not exist: {HOST} is not served over HTTPS.")
    assert panel.endswith("Test Sends one request through the gateway, as a client would, and shows what came back.")

    # The controller serves it: the Service with no ready endpoint now comes first.
    controller_says(kube, ns, "shop", "AddedOrUpdated", f"Configuration for {ns}/shop was added or updated")
    until(lambda: _panel(operator_client, environment)[0] == ["backend", "dns", "certificate"])
    put_endpoint_slice(kube, ns, "web", ready=1)
    until(lambda: _panel(operator_client, environment)[0] == ["dns", "certificate"])
    loopback_dns.add(HOST, "A", "198.51.100.7")  # the old host's address
    dns.forget()
    _causes, found, _panel_text = _panel(operator_client, environment)
    assert found[0].startswith(f"DNS {HOST} points elsewhere (198.51.100.7), not to the gateway.")
    assert f"Next step: Change its record to {HOST} A 192.0.2.10" in found[0]


def test_a_refused_route_comes_first_with_the_controllers_words(operator_client, environment, kube):
    create_route(operator_client, environment)
    controller_says(
        kube, environment.namespace, "shop", "Rejected", "annotation nginx.org/foo: invalid value", "Warning"
    )
    until(lambda: _panel(operator_client, environment)[0][:1] == ["route"])
    found = _panel(operator_client, environment)[1][0]
    assert found.startswith("Route The gateway refused the route: Rejected: annotation nginx.org/foo: invalid value")
    assert "Next step: Change what the message names" in found


def test_a_route_missing_in_the_cluster_says_re_apply(operator_client, environment, kube):
    create_route(operator_client, environment)
    kube.delete_ingress(environment.namespace, "shop")
    causes, found, _panel_text = _panel(operator_client, environment)
    assert causes[0] == "route"
    assert found[0] == (
        "Route The route's Ingress is missing in the cluster: the gateway has nothing to serve. "
        "Next step: Re-apply the route: it writes the Ingress again."
    )


def test_nothing_found_says_so_and_offers_the_test(
    loopback_dns,  # noqa: F811
    operator_client,
    environment,
    addressed,
    kube,
):
    create_route(operator_client, environment)
    controller_says(kube, environment.namespace, "shop", "AddedOrUpdated", "ok")
    put_endpoint_slice(kube, environment.namespace, "web", ready=2)
    loopback_dns.add(HOST, "A", "192.0.2.10")
    until(lambda: _panel(operator_client, environment)[0] == [])
    panel = _panel(operator_client, environment)[2]
    assert "Nothing the console can see stops this route" in panel and "Test" in panel


def test_readers_see_the_panel_and_whom_to_ask(client, django_user_model, operator_client, environment, kube):
    create_route(operator_client, environment)
    kube.request("DELETE", f"/api/v1/namespaces/{environment.namespace}/services/web")
    reader = django_user_model.objects.create_user("rex", password="pw")
    EnvironmentMember.objects.create(environment=environment, user=reader, role=EnvironmentMember.Role.READER)
    client.force_login(reader)
    until(lambda: "backend" in _panel(client, environment)[0])
    causes, found, _panel_text = _panel(client, environment)
    backend = found[causes.index("backend")]
    assert backend.startswith("Backend Service web does not exist: the gateway has no backend for its paths.")
    assert backend.endswith("(someone who may edit this environment's routes can do that.)")


def test_a_gateway_api_route_not_accepted_then_accepted(gateway_api, operator_client, environment, kube):
    edge = gateway_api_gateway(environment, kube)
    data = route_data(edge, host="shop.edge.example.com", **{"paths-0-port": "http"})
    assert operator_client.post(reverse("routes:create", args=[environment.pk]), data).status_code == 302
    put_endpoint_slice(kube, environment.namespace, "web", ready=1)
    causes, found, _panel_text = _panel(operator_client, environment)
    assert causes == ["route"]
    assert f"serves Gateway platform/{edge.gateway_name}" in found[0]
    refused = _condition("Accepted", "False", "NotAllowedByListeners", "No listener admits this route")
    _write_status(kube, environment.namespace, "shop", edge, refused)
    found = _panel(operator_client, environment)[1]
    assert found[0].startswith("Route The gateway refused the route: NotAllowedByListeners: No listener admits")
    _write_status(kube, environment.namespace, "shop", edge, ACCEPTED, RESOLVED)
    assert _panel(operator_client, environment)[0] == []


def test_the_panel_speaks_the_users_language(operator_client, environment, kube):
    create_route(operator_client, environment)
    kube.delete_ingress(environment.namespace, "shop")
    url = reverse("routes:detail", args=[environment.pk, "shop"])
    page = operator_client.get(url, HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "为什么没有应答？" in page
    assert "集群中缺少该路由的 Ingress：网关没有可服务的内容。" in page and "下一步" in page
