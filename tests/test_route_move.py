"""Move an Ingress route to Gateway API: the HTTPRoute is created, accepted, and only then the Ingress deleted;
a move the controller does not accept (in time, or at all) leaves the Ingress serving and the route as it was.

No Gateway API controller runs here: a thread plays one, writing status.parents through the status
subresource once the HTTPRoute exists (as tests/test_gateway_api_status.py does), or never.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.urls import reverse

from kubegems_routes.gateways.models import Gateway
from kubegems_routes.kube.client import KubeClient
from kubegems_routes.kube.errors import NotFound
from kubegems_routes.routes.gateway_status import parent_statuses
from kubegems_routes.routes.models import AuditEntry, Route, RouteMove
from kubegems_routes.routes.move import Progress, State, accepted, advance
from kubegems_routes.tenancy.models import EnvironmentMember, Tenant, TenantMember
from tests.helpers import create_route, gateway_api_gateway, route_data, until
from tests.test_as_gateway_api import _annotated
from tests.test_gateway_api_status import CONTROLLER, _condition

pytestmark = pytest.mark.django_db


class Controller(threading.Thread):
    """What a Gateway API controller does: once the HTTPRoute appears, it writes status.parents for its
    parentRef with the given Accepted condition."""

    def __init__(
        self,
        kube: KubeClient,
        namespace: str,
        gateway,
        status: str,
        reason: str,
        message: str,
        resource: str = "httproutes",
        listener: str = "http",
    ) -> None:
        super().__init__(daemon=True)
        self.kube, self.gateway, self.listener = kube, gateway, listener
        self.path = f"/apis/gateway.networking.k8s.io/v1/namespaces/{namespace}/{resource}/shop"
        self.condition = _condition("Accepted", status, reason, message)
        self.stop = threading.Event()
        self.wrote = False

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                route = self.kube.request("GET", self.path)
            except NotFound:
                time.sleep(0.05)
                continue
            route["status"] = {
                "parents": [
                    {
                        "parentRef": {
                            "group": "gateway.networking.k8s.io",
                            "kind": "Gateway",
                            "namespace": self.gateway.gateway_namespace,
                            "name": self.gateway.gateway_name,
                            "sectionName": self.listener,
                        },
                        "controllerName": CONTROLLER,
                        "conditions": [self.condition],
                    }
                ]
            }
            self.kube.request("PUT", f"{self.path}/status", body=route)
            self.wrote = True
            return

    def __enter__(self) -> Controller:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.join(5)


def _created(client, environment, **overrides: str) -> Route:
    """A route on the tenant's NGINX gateway (its page read once, so its "saved" message is gone)."""
    route = create_route(client, environment, **overrides)
    client.get(reverse("routes:detail", args=[environment.pk, "shop"]))
    return route


def _move(client, environment, gateway, *, seconds: float = 10, **data: str):
    """Move as a user does: the POST starts it, then the move's page posts (as htmx does every second) until
    the move ends; returns the page it ends on, with its messages."""
    status = reverse("routes:move-status", args=[environment.pk, "shop"])
    response = client.post(reverse("routes:move", args=[environment.pk, "shop"]), {"gateway": str(gateway.pk), **data})
    if response.status_code != 302:
        return response
    if response.url != status:
        return client.get(response.url)
    return _move_ends(client, environment, seconds)


def _poll(client, environment):
    """One look at the move, as the page's htmx asks every second: the progress, or where the move ended."""
    response = client.post(reverse("routes:move-status", args=[environment.pk, "shop"]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200, response.content.decode()[:500]
    return response


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def _http_routes(kube, environment) -> list[str]:
    return [r["metadata"]["name"] for r in kube.list_gateway_routes("HTTPRoute", environment.namespace)]


def _unchanged(kube, environment, before: Route) -> None:
    """The Ingress serves, the route is the Ingress route it was, and no HTTPRoute is left."""
    assert kube.get_ingress(environment.namespace, "shop")["metadata"]["name"] == "shop"
    assert _http_routes(kube, environment) == []
    after = Route.objects.get(pk=before.pk)
    assert (after.gateway_id, after.annotations, after.resource_version) == (
        before.gateway_id,
        before.annotations,
        before.resource_version,
    )
    assert not AuditEntry.objects.filter(environment=environment, action=AuditEntry.Action.MOVE).exists()


def test_a_route_with_three_annotations_moves_and_says_what_was_dropped(
    gateway_api, operator_client, environment, kube
):
    route = _created(operator_client, environment, **_annotated())
    edge = gateway_api_gateway(environment, kube)
    page = operator_client.get(reverse("routes:as-gateway-api", args=[environment.pk, "shop"])).content.decode()
    assert 'id="move"' in page and reverse("routes:move", args=[environment.pk, "shop"]) in page
    dropped = page.split('id="dropped"')[1].split("</ul>")[0]
    assert "nginx.org/client-max-body-size" in dropped and "proxy-read-timeout" not in dropped

    # Not confirmed: nothing happens, and the page names what would be dropped.
    response = _move(operator_client, environment, edge)
    assert any("nginx.org/client-max-body-size" in m for m in _messages(response))
    _unchanged(kube, environment, route)

    with Controller(kube, environment.namespace, edge, "True", "Accepted", "Route is accepted") as controller:
        response = _move(operator_client, environment, edge, confirm_dropped="on")
    assert controller.wrote
    assert response.request["PATH_INFO"] == reverse("routes:detail", args=[environment.pk, "shop"])
    assert _messages(response) == [f"Route shop moved to gateway {edge.name}: HTTPRoute shop replaced Ingress shop."]
    with pytest.raises(NotFound):
        kube.get_ingress(environment.namespace, "shop")
    assert _http_routes(kube, environment) == ["shop"]
    moved = Route.objects.get(pk=route.pk)
    assert moved.gateway == edge and moved.host == route.host
    # What "Show as Gateway API" said becomes a field is in the HTTPRoute: the timeout and the header filter.
    assert moved.annotations == {"nginx.org/proxy-read-timeout": "90", "nginx.org/proxy-set-headers": "X-Team: shop"}
    live = kube.get_route_object("HTTPRoute", environment.namespace, "shop")
    assert live["spec"]["rules"][0]["timeouts"] == {"backendRequest": "90s"}
    assert live["spec"]["rules"][0]["filters"] == [
        {"type": "RequestHeaderModifier", "requestHeaderModifier": {"set": [{"name": "X-Team", "value": "shop"}]}}
    ]
    assert moved.resource_version and live["spec"]["parentRefs"][0]["name"] == edge.gateway_name
    entry = AuditEntry.objects.get(environment=environment, action=AuditEntry.Action.MOVE)
    assert entry.route_name == "shop" and entry.manifest["kind"] == "HTTPRoute"
    assert entry.get_action_display() == "moved to Gateway API"
    # The route's page reads the HTTPRoute as the route's own (no drift) and logs the move.
    detail = operator_client.get(reverse("routes:detail", args=[environment.pk, "shop"]))
    assert detail.context["sync"] == "in-sync"
    assert "moved to Gateway API" in detail.content.decode()


def test_a_move_never_accepted_in_time_keeps_the_ingress(gateway_api, operator_client, environment, kube, settings):
    settings.MOVE_ACCEPT_SECONDS = 1
    route = _created(operator_client, environment)
    edge = gateway_api_gateway(environment, kube)
    started = time.monotonic()
    response = _move(operator_client, environment, edge)
    assert time.monotonic() - started < 10
    assert _messages(response) == [
        f"No controller of Gateway {edge.name} accepted HTTPRoute shop within 1 seconds, so it was deleted "
        "again: Ingress shop still serves the route."
    ]
    _unchanged(kube, environment, route)


def test_a_move_the_controller_rejects_keeps_the_ingress_and_says_why(gateway_api, operator_client, environment, kube):
    route = _created(operator_client, environment)
    edge = gateway_api_gateway(environment, kube)
    with Controller(kube, environment.namespace, edge, "False", "NotAllowedByListeners", "hostname mismatch"):
        response = _move(operator_client, environment, edge)
    assert _messages(response) == [
        f"The controller of Gateway {edge.name} did not accept HTTPRoute shop (NotAllowedByListeners: hostname "
        "mismatch), so it was deleted again: Ingress shop still serves the route."
    ]
    _unchanged(kube, environment, route)


def test_a_host_outside_the_gateways_domains_is_refused_before_anything_is_written(
    gateway_api, operator_client, environment, kube
):
    route = _created(operator_client, environment)
    edge = gateway_api_gateway(environment, kube, extra_domains="")
    response = _move(operator_client, environment, edge)
    assert len(_messages(response)) == 1 and "shop.acme.example.com" in _messages(response)[0]
    _unchanged(kube, environment, route)


def test_a_reader_gets_403_and_another_tenant_404(
    gateway_api, operator_client, client, django_user_model, environment, kube
):
    route = _created(operator_client, environment)
    edge = gateway_api_gateway(environment, kube)
    reader = django_user_model.objects.create_user("reader", password="pw")
    EnvironmentMember.objects.create(environment=environment, user=reader, role="reader")
    client.force_login(reader)
    page = client.get(reverse("routes:as-gateway-api", args=[environment.pk, "shop"])).content.decode()
    assert 'id="move"' not in page
    assert _move(client, environment, edge).status_code == 403
    outsider = django_user_model.objects.create_user("outsider", password="pw")
    TenantMember.objects.create(tenant=Tenant.objects.create(name="other"), user=outsider, role="admin")
    client.force_login(outsider)
    assert _move(client, environment, edge).status_code == 404
    _unchanged(kube, environment, route)


def test_a_gateway_not_of_gateway_api_is_a_bad_request(gateway_api, operator_client, environment, kube):
    route = _created(operator_client, environment)
    gateway_api_gateway(environment, kube)
    assert _move(operator_client, environment, route.gateway).status_code == 400
    _unchanged(kube, environment, route)


def test_a_grpc_route_moves_to_a_grpcroute(gateway_api, operator_client, environment, kube):
    route = _created(
        operator_client,
        environment,
        protocol="grpc",
        tls_secret="demo-tls",
        **{"paths-0-service": "api", "paths-0-port": "grpc"},
    )
    edge = gateway_api_gateway(environment, kube)
    namespace = environment.namespace
    with Controller(kube, namespace, edge, "True", "Accepted", "ok", resource="grpcroutes", listener="https"):
        response = _move(operator_client, environment, edge)
    assert _messages(response) == [f"Route shop moved to gateway {edge.name}: GRPCRoute shop replaced Ingress shop."]
    with pytest.raises(NotFound):
        kube.get_ingress(namespace, "shop")
    live = kube.get_route_object("GRPCRoute", namespace, "shop")
    assert live["spec"]["rules"][0]["backendRefs"][0]["port"] == 50051  # the port name resolved
    moved = Route.objects.get(pk=route.pk)
    assert moved.gateway == edge and moved.tls_secret == "" and moved.annotations == {}


def test_only_the_gateways_current_word_counts():
    """Entries of another Gateway, or of an earlier generation of the route, neither accept nor refuse it."""
    edge = Gateway(gateway_namespace="platform", gateway_name="edge")

    def route(generation: int, *entries: tuple[str, str, int]) -> dict:
        parents = [
            {
                "parentRef": {"namespace": "platform", "name": name},
                "controllerName": CONTROLLER,
                "conditions": [{**_condition("Accepted", status, "R", "m"), "observedGeneration": observed}],
            }
            for name, status, observed in entries
        ]
        return {"metadata": {"namespace": "ns", "generation": generation}, "status": {"parents": parents}}

    assert accepted(parent_statuses(route(1)), edge) is None
    assert accepted(parent_statuses(route(1, ("other", "True", 1))), edge) is None
    assert accepted(parent_statuses(route(2, ("edge", "True", 1))), edge) is None  # stale
    assert accepted(parent_statuses(route(1, ("edge", "True", 1))), edge) is True
    refused = accepted(parent_statuses(route(1, ("edge", "False", 1))), edge)
    assert refused is not None and refused is not True and refused.name == "edge"


def _start(client, environment, gateway) -> RouteMove:
    response = client.post(reverse("routes:move", args=[environment.pk, "shop"]), {"gateway": str(gateway.pk)})
    assert response.url == reverse("routes:move-status", args=[environment.pk, "shop"])
    return RouteMove.objects.select_related("gateway", "route__environment__cluster").get(route__name="shop")


def test_the_wait_holds_no_request_and_says_no_controller_has_answered(
    gateway_api, operator_client, environment, kube, settings
):
    """make run's demo Gateway has no controller: the page says so and keeps the Ingress, each look at the move
    answers at once, and the time-out takes the new object back."""
    settings.MOVE_ACCEPT_SECONDS = 3
    route = _created(operator_client, environment)
    edge = gateway_api_gateway(environment, kube)
    move = _start(operator_client, environment, edge)
    assert (move.kind, move.gateway, move.resource_version) == ("HTTPRoute", edge, route.resource_version)
    # Both objects exist while the move waits; the row is still the Ingress route's.
    assert _http_routes(kube, environment) == ["shop"]
    assert kube.get_ingress(environment.namespace, "shop")["metadata"]["name"] == "shop"
    assert Route.objects.get(pk=route.pk).gateway == route.gateway

    page = operator_client.get(reverse("routes:move-status", args=[environment.pk, "shop"])).content.decode()
    assert "HTTPRoute shop is created on gateway edge; no controller of the Gateway has answered yet." in page
    assert "Ingress shop keeps serving the route" in page
    assert '<li class="breadcrumb-item active" aria-current="page">Move to Gateway API</li>' in page  # not "Edit"
    started = time.monotonic()
    poll = _poll(operator_client, environment)
    assert time.monotonic() - started < 1 and "HX-Redirect" not in poll
    assert 'id="move-progress"' in poll.content.decode() and 'hx-trigger="load delay:1s"' in poll.content.decode()
    # Another write meanwhile: the database is not held by the move.
    create_route(operator_client, environment, route.gateway, name="other", host="other.acme.example.com")
    detail = operator_client.get(reverse("routes:detail", args=[environment.pk, "shop"])).content.decode()
    assert 'id="move-under-way"' in detail and "Moving to gateway edge" in detail
    shown = operator_client.get(reverse("routes:as-gateway-api", args=[environment.pk, "shop"])).content.decode()
    assert 'id="move-under-way"' in shown and 'id="move"' not in shown

    response = _move_ends(operator_client, environment)
    assert response.request["PATH_INFO"] == reverse("routes:as-gateway-api", args=[environment.pk, "shop"])
    assert _messages(response) == [
        f"No controller of Gateway {edge.name} accepted HTTPRoute shop within 3 seconds, so it was deleted "
        "again: Ingress shop still serves the route."
    ]
    _unchanged(kube, environment, route)
    assert not RouteMove.objects.exists()


def test_a_second_move_while_one_waits_is_refused(gateway_api, operator_client, environment, kube):
    route = _created(operator_client, environment)
    edge = gateway_api_gateway(environment, kube)
    _start(operator_client, environment, edge)
    response = operator_client.post(
        reverse("routes:move", args=[environment.pk, "shop"]), {"gateway": str(edge.pk)}, follow=True
    )
    assert _messages(response) == ["Route shop is already being moved to Gateway API."]
    assert RouteMove.objects.count() == 1 and _http_routes(kube, environment) == ["shop"]
    assert Route.objects.get(pk=route.pk).gateway == route.gateway


def test_an_edit_while_the_move_waits_keeps_the_edited_ingress(gateway_api, operator_client, environment, kube):
    """The route edited in the console while the controller has not answered: when it accepts, the Ingress
    is not the one the move started from, so it is kept (with the edit) and the HTTPRoute deleted again."""
    route = _created(operator_client, environment)
    edge = gateway_api_gateway(environment, kube)
    _start(operator_client, environment, edge)
    edited = operator_client.post(
        reverse("routes:edit", args=[environment.pk, "shop"]), route_data(route.gateway, **{"paths-0-path": "/edited"})
    )
    assert edited.status_code == 302
    with Controller(kube, environment.namespace, edge, "True", "Accepted", "ok") as controller:
        until(lambda: controller.wrote)
        response = _move_ends(operator_client, environment)
    assert _messages(response) == [
        "Route shop saved.",  # the edit's
        "Ingress shop changed while the move waited (an edit, a re-apply or kubectl), so HTTPRoute shop was deleted "
        "again: Ingress shop still serves the route. Move it again to move it as it is now.",
    ]
    after = Route.objects.get(environment=environment, name="shop")
    live = kube.get_ingress(environment.namespace, "shop")
    assert live["spec"]["rules"][0]["http"]["paths"][0]["path"] == "/edited"
    _unchanged(kube, environment, after)
    assert not RouteMove.objects.exists()


def test_a_kubectl_change_to_the_ingress_while_the_move_waits_keeps_it(gateway_api, operator_client, environment, kube):
    route = _created(operator_client, environment)
    edge = gateway_api_gateway(environment, kube)
    _start(operator_client, environment, edge)
    live = kube.get_ingress(environment.namespace, "shop")
    live["metadata"].setdefault("labels", {})["team"] = "web"
    kube.replace_ingress(environment.namespace, "shop", live)
    with Controller(kube, environment.namespace, edge, "True", "Accepted", "ok") as controller:
        until(lambda: controller.wrote)
        response = _move_ends(operator_client, environment)
    assert "Ingress shop changed while the move waited" in _messages(response)[0]
    assert kube.get_ingress(environment.namespace, "shop")["metadata"]["labels"]["team"] == "web"
    _unchanged(kube, environment, route)


def test_two_looks_at_an_accepted_move_finish_it_once(gateway_api, operator_client, environment, kube):
    """Two requests polling the same move (two tabs): the first finishes it, the second finds its row taken
    and reports the move made, never deleting the route's new object."""
    _created(operator_client, environment)
    edge = gateway_api_gateway(environment, kube)
    move = _start(operator_client, environment, edge)
    stale = RouteMove.objects.select_related("gateway", "route__environment__cluster").get(pk=move.pk)
    with Controller(kube, environment.namespace, edge, "True", "Accepted", "ok") as controller:
        until(lambda: controller.wrote)
        assert advance(move) == Progress(State.MOVED)
    assert advance(stale) == Progress(State.MOVED)
    assert _http_routes(kube, environment) == ["shop"]
    with pytest.raises(NotFound):
        kube.get_ingress(environment.namespace, "shop")
    assert AuditEntry.objects.filter(environment=environment, action=AuditEntry.Action.MOVE).count() == 1


def test_a_route_deleted_while_its_move_waits_takes_the_new_object_along(
    gateway_api, operator_client, environment, kube
):
    _created(operator_client, environment)
    edge = gateway_api_gateway(environment, kube)
    _start(operator_client, environment, edge)
    response = operator_client.post(reverse("routes:delete", args=[environment.pk, "shop"]))
    assert response.status_code == 302
    assert _http_routes(kube, environment) == [] and not RouteMove.objects.exists()
    with pytest.raises(NotFound):
        kube.get_ingress(environment.namespace, "shop")


def _move_ends(client, environment, seconds: float = 10):
    """Poll the move until it ends; the page it ends on."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        response = _poll(client, environment)
        if "HX-Redirect" in response:
            return client.get(response["HX-Redirect"])
        time.sleep(0.1)
    raise AssertionError(f"the move did not end within {seconds} s")


def test_behaviours_set_through_fields_carry_over_as_the_page_said(gateway_api, operator_client, environment, kube):
    route = _created(
        operator_client,
        environment,
        read_timeout="2m",
        response_headers="X-Team:shop",
        max_body_size="10m",
        **{"paths-0-path": "/shop/", "paths-0-rewrite": "/"},
    )
    edge = gateway_api_gateway(environment, kube)
    shown = operator_client.get(reverse("routes:as-gateway-api", args=[environment.pk, "shop"])).context["shown"]
    with Controller(kube, environment.namespace, edge, "True", "Accepted", "Route is accepted"):
        _move(operator_client, environment, edge, confirm_dropped="on")
    live = kube.get_route_object("HTTPRoute", environment.namespace, "shop")
    # What the page showed is what was created: the same rule, timeouts and filters.
    assert live["spec"]["rules"] == shown.manifest["spec"]["rules"]
    rule = live["spec"]["rules"][0]
    assert rule["timeouts"] == {"backendRequest": "2m"}
    assert [f["type"] for f in rule["filters"]] == ["ResponseHeaderModifier", "URLRewrite"]
    moved = Route.objects.get(pk=route.pk)
    assert "nginx.org/client-max-body-size" not in moved.annotations  # dropped, as confirmed
    edit = operator_client.get(reverse("routes:edit", args=[environment.pk, "shop"]))
    assert (edit.context["form"]["read_timeout"].value(), edit.context["form"]["response_headers"].value()) == (
        "2m",
        "X-Team:shop",
    )
    assert edit.context["editor"].paths.forms[0]["rewrite"].value() == "/"
    assert edit.context["edit_sync"] == "in-sync"


class BusyController(Controller):
    """A controller that keeps writing the route's status (as real ones do, condition by condition): each write
    changes its resourceVersion, under a move that has already read it."""

    def run(self) -> None:
        writes = 0
        while not self.stop.is_set():
            writes += 1
            self.condition = {**self.condition, "message": f"accepted (write {writes})"}
            super().run()
            time.sleep(0.01)


def test_a_controller_writing_status_again_does_not_fail_the_move(gateway_api, operator_client, environment, kube):
    _created(operator_client, environment)
    edge = gateway_api_gateway(environment, kube)
    with BusyController(kube, environment.namespace, edge, "True", "Accepted", "ok"):
        response = _move(operator_client, environment, edge)
    assert _messages(response) == [f"Route shop moved to gateway {edge.name}: HTTPRoute shop replaced Ingress shop."]
    with pytest.raises(NotFound):
        kube.get_ingress(environment.namespace, "shop")
    assert _http_routes(kube, environment) == ["shop"]
