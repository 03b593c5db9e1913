"""An admin's change to a gateway's defaults is not drift, and reaches every route of the gateway in one action."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from kubegems_routes.gateways.models import GatewayAnnotation
from kubegems_routes.kube.errors import KubeError
from kubegems_routes.routes import drift, manifest
from kubegems_routes.routes.models import AuditEntry, Route
from kubegems_routes.routes.saving import save_route
from kubegems_routes.routes.values import RouteValues
from tests.helpers import create_route, deny_ingress_operation, ingress, tenant_gateway
from tests.kube_calls import before_each_call

pytestmark = pytest.mark.django_db

ROUTES = 30
REFUSED = "r-13"


def _sync_on_list(client, environment):
    response = client.get(reverse("routes:list", args=[environment.pk]))
    return {r.name: str(r.sync) for r in response.context["page"].object_list}


def _refuse_updates(kube, namespace: str, names: list[str]) -> None:
    """A ValidatingAdmissionPolicy of the API server denies any update of these Ingresses."""
    deny_ingress_operation(
        kube,
        f"deny-{namespace}",
        "UPDATE",
        f"object.metadata.namespace != '{namespace}' || !(object.metadata.name in {names})",
        "updates of this Ingress are frozen",
    )


def _wait_refused(kube, namespace: str, name: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        live = kube.get_ingress(namespace, name)
        live["metadata"].setdefault("labels", {})["probe"] = str(time.monotonic_ns())
        try:
            kube.replace_ingress(namespace, name, live)
        except KubeError:
            return
        time.sleep(0.2)
    raise AssertionError("the admission policy did not take effect")


def test_a_gateway_defaults_change_is_not_drift_and_one_action_reapplies_every_route(
    operator_client, operator, environment, kube, admin_client
):
    gateway = tenant_gateway(environment)
    GatewayAnnotation.objects.create(gateway=gateway, key="nginx.org/proxy-read-timeout", value="60s")
    for i in range(ROUTES):
        values = RouteValues(
            gateway=gateway,
            host=f"r{i}.acme.example.com",
            protocol="http",
            tls_secret="",
            backends=(manifest.Backend(path="/", service="web", port="80"),),
        )
        save_route(Route(environment=environment, name=f"r-{i:02}"), values, operator)
    namespace = environment.namespace
    # Of a class of its own: Ingresses stay in the session's cluster, and other tests look at class "other".
    kube.create_ingress(
        namespace, ingress(namespace, name="probe", host="probe.example.com", ingress_class=f"probe-{namespace}")
    )
    _refuse_updates(kube, namespace, [REFUSED, "probe"])
    _wait_refused(kube, namespace, "probe")

    # The admin changes a default and adds one.
    GatewayAnnotation.objects.filter(gateway=gateway).update(value="120s")
    GatewayAnnotation.objects.create(gateway=gateway, key="nginx.org/client-max-body-size", value="8m")
    states = _sync_on_list(operator_client, environment)
    assert set(states.values()) == {"gateway-changed"}, states
    detail = operator_client.get(reverse("routes:detail", args=[environment.pk, "r-00"]))
    assert detail.context["sync"] == "gateway-changed"
    page = detail.content.decode()
    assert "gateway defaults changed" in page and "Take over the cluster&#x27;s version" not in page
    assert "+  nginx.org/proxy-read-timeout: 60s" in detail.context["drift_diff"]

    response = admin_client.post(
        reverse("admin:gateways_gateway_changelist"),
        {"action": "reapply_routes", "_selected_action": [gateway.pk]},
    )
    assert response.status_code == 200 and response.streaming
    # Live progress: the page's head is sent before any route is re-applied, then one row per route
    # as each is done (each row after its route's audit entry exists), then the totals.
    reapplied = AuditEntry.objects.filter(environment=environment, action=AuditEntry.Action.GATEWAY_REAPPLY)
    chunks = iter(response.streaming_content)
    head = next(chunks).decode()
    assert "Re-applying 30 routes, one at a time" in head and reapplied.count() == 0
    pieces = [head]
    for chunk in chunks:
        piece = chunk.decode()
        pieces.append(piece)
        if 'class="reapply-' in piece:
            n = int(piece.split("<td>")[1].split("/")[0])
            assert reapplied.count() == n - "".join(pieces).count('class="reapply-failed"')
    rows = [p for p in pieces if 'class="reapply-' in p]
    assert len(rows) == ROUTES and rows[-1].count("<tr") == 1
    body = "".join(pieces)
    assert "29 routes applied." in body and "1 route failed" in body
    assert body.count('class="reapply-applied"') == ROUTES - 1
    assert body.count('class="reapply-failed"') == 1
    assert f'data-route="{REFUSED}"' in body.split('class="reapply-failed"')[1].split("</tr>")[0]
    assert "updates of this Ingress are frozen" in body  # the API server's reason, for the admin

    for i in range(ROUTES):
        name = f"r-{i:02}"
        annotations = kube.get_ingress(namespace, name)["metadata"]["annotations"]
        if name == REFUSED:  # left whole as it was, in the cluster and in the database
            assert annotations["nginx.org/proxy-read-timeout"] == "60s"
            assert "nginx.org/client-max-body-size" not in annotations
        else:
            assert annotations["nginx.org/proxy-read-timeout"] == "120s"
            assert annotations["nginx.org/client-max-body-size"] == "8m"
    assert sorted(reapplied.values_list("route_name", flat=True)) == sorted(
        f"r-{i:02}" for i in range(ROUTES) if f"r-{i:02}" != REFUSED
    )
    assert all(e.user is not None and e.user.is_superuser for e in reapplied)
    states = _sync_on_list(operator_client, environment)
    assert states.pop(REFUSED) == "gateway-changed"
    assert set(states.values()) == {"in-sync"}


def test_an_edit_outside_the_console_is_still_drift_after_a_gateway_change(operator_client, environment, kube):
    gateway = tenant_gateway(environment)
    GatewayAnnotation.objects.create(gateway=gateway, key="nginx.org/proxy-read-timeout", value="60s")
    create_route(operator_client, environment)
    GatewayAnnotation.objects.filter(gateway=gateway).update(value="120s")
    live = kube.get_ingress(environment.namespace, "shop")
    live["spec"]["rules"][0]["host"] = "hijacked.example.com"
    kube.replace_ingress(environment.namespace, "shop", live)
    assert _sync_on_list(operator_client, environment) == {"shop": "changed"}


def test_the_drift_diff_ignores_key_order():
    ours = {"metadata": {"labels": {"a": "1", "b": "2"}, "annotations": {"x": "1"}}, "spec": {"rules": []}}
    theirs = {"metadata": {"labels": {"b": "2", "a": "1"}, "annotations": {"x": "1"}}, "spec": {"rules": []}}
    assert drift.diff(ours, theirs, "a", "b") == ""
    theirs["metadata"]["labels"]["c"] = "3"
    changed = drift.diff(ours, theirs, "a", "b")
    assert "+  c: '3'" in changed and "-  a" not in changed and "-  b" not in changed


def test_the_api_server_going_down_midway_leaves_each_route_applied_or_as_it_was(
    operator, environment, kube, control_plane, operator_client
):
    from kubegems_routes.routes.lifecycle import reapply_gateway

    gateway = tenant_gateway(environment)
    GatewayAnnotation.objects.create(gateway=gateway, key="nginx.org/proxy-read-timeout", value="60s")
    names = [f"m-{i}" for i in range(10)]
    for name in names:
        values = RouteValues(
            gateway=gateway,
            host=f"{name}.acme.example.com",
            protocol="http",
            tls_secret="",
            backends=(manifest.Backend(path="/", service="web", port="80"),),
        )
        save_route(Route(environment=environment, name=name), values, operator)
    GatewayAnnotation.objects.filter(gateway=gateway).update(value="120s")

    writes = []

    def stop_after_four_writes(method: str, path: str) -> None:
        if method == "PUT":
            writes.append(path)
            if len(writes) == 5:
                control_plane.stop_apiserver()

    try:
        with before_each_call(stop_after_four_writes):
            results = reapply_gateway(gateway, operator)
    finally:
        control_plane.start_apiserver()

    assert [r.route.name for r in results if not r.error] == names[:4]
    assert all("cannot be reached" in r.error for r in results[4:])
    reapplied = AuditEntry.objects.filter(environment=environment, action=AuditEntry.Action.GATEWAY_REAPPLY)
    assert sorted(reapplied.values_list("route_name", flat=True)) == names[:4]
    for name in names:
        route = Route.objects.get(environment=environment, name=name)
        live = kube.get_ingress(environment.namespace, name)["metadata"]["annotations"]
        expected = "120s" if name in names[:4] else "60s"
        assert live["nginx.org/proxy-read-timeout"] == expected
        assert route.applied_gateway_annotations == {"nginx.org/proxy-read-timeout": expected}
    states = _sync_on_list(operator_client, environment)
    assert states == {n: "in-sync" if n in names[:4] else "gateway-changed" for n in names}

    assert not [r for r in reapply_gateway(gateway, operator) if r.error]  # once it is back, the rest follow
    assert set(_sync_on_list(operator_client, environment).values()) == {"in-sync"}
