"""Faults, conflicts and drift: the console stays honest about what the cluster holds."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from django.urls import reverse

from kubegems_routes.routes import manifest
from kubegems_routes.routes.models import AuditEntry, Route
from tests.helpers import create_route, create_url, ingress, route_data, tenant_gateway
from tests.kube_calls import before_each_call, record_calls

pytestmark = pytest.mark.django_db


def _sync_on_list(client, environment):
    response = client.get(reverse("routes:list", args=[environment.pk]))
    return {r.name: str(r.sync) for r in response.context["page"].object_list}, response


def test_out_of_band_edit_is_drift_and_reapply_restores(operator_client, environment, kube):
    create_route(operator_client, environment)
    assert _sync_on_list(operator_client, environment)[0] == {"shop": "in-sync"}
    live = kube.get_ingress(environment.namespace, "shop")
    live["spec"]["rules"][0]["host"] = "hijacked.example.com"
    kube.replace_ingress(environment.namespace, "shop", live)

    assert _sync_on_list(operator_client, environment)[0] == {"shop": "changed"}
    detail = operator_client.get(reverse("routes:detail", args=[environment.pk, "shop"]))
    assert detail.context["sync"] == "changed"
    assert "+  - host: hijacked.example.com" in detail.context["drift_diff"]

    operator_client.post(reverse("routes:reapply", args=[environment.pk, "shop"]))
    assert kube.get_ingress(environment.namespace, "shop")["spec"]["rules"][0]["host"] == "shop.acme.example.com"
    assert _sync_on_list(operator_client, environment)[0] == {"shop": "in-sync"}
    assert AuditEntry.objects.filter(route_name="shop", action="reapply").exists()


def test_out_of_band_delete_is_missing_and_reapply_recreates(operator_client, environment, kube):
    create_route(operator_client, environment)
    kube.delete_ingress(environment.namespace, "shop")
    assert _sync_on_list(operator_client, environment)[0] == {"shop": "missing"}
    operator_client.post(reverse("routes:reapply", args=[environment.pk, "shop"]))
    assert (
        kube.get_ingress(environment.namespace, "shop")["spec"]["ingressClassName"]
        == tenant_gateway(environment).ingress_class
    )
    assert _sync_on_list(operator_client, environment)[0] == {"shop": "in-sync"}


def test_take_over_adopts_the_clusters_version(operator_client, environment, kube):
    route = create_route(operator_client, environment, protocol="ws")
    live = kube.get_ingress(environment.namespace, "shop")
    live["metadata"]["annotations"]["nginx.org/proxy-read-timeout"] = "300s"
    live["spec"]["rules"][0]["http"]["paths"][0]["path"] = "/v2"
    kube.replace_ingress(environment.namespace, "shop", live)

    operator_client.post(reverse("routes:takeover", args=[environment.pk, "shop"]))
    route.refresh_from_db()
    assert route.protocol == "ws"
    assert route.annotations == {"nginx.org/proxy-read-timeout": "300s"}
    assert [p.path for p in route.paths.all()] == ["/v2"]
    assert _sync_on_list(operator_client, environment)[0] == {"shop": "in-sync"}


def test_unmanaged_ingress_is_listed_and_can_be_imported(operator_client, environment, kube):
    body = ingress(
        environment.namespace,
        name="legacy",
        host="legacy.acme.example.com",
        protocol="https",
        tls_secret="demo-tls",
        ingress_class=tenant_gateway(environment).ingress_class,
    )
    kube.create_ingress(environment.namespace, body)
    _states, listing = _sync_on_list(operator_client, environment)
    assert listing.context["unmanaged"] == [("Ingress", "legacy")]

    response = operator_client.post(reverse("routes:import", args=[environment.pk]), {"name": "legacy"})
    assert response["Location"] == reverse("routes:detail", args=[environment.pk, "legacy"])
    route = Route.objects.get(name="legacy")
    assert (route.protocol, route.host, route.tls_secret) == ("https", "legacy.acme.example.com", "demo-tls")
    labels = kube.get_ingress(environment.namespace, "legacy")["metadata"]["labels"]
    assert labels["app.kubernetes.io/managed-by"] == "kubegems-routes"
    assert _sync_on_list(operator_client, environment)[1].context["unmanaged"] == []


def test_ingress_of_a_foreign_class_cannot_be_imported(operator_client, environment, kube):
    kube.create_ingress(environment.namespace, ingress(environment.namespace, name="foreign", ingress_class="nginx"))
    response = operator_client.post(reverse("routes:import", args=[environment.pk]), {"name": "foreign"}, follow=True)
    assert "cannot be imported" in response.content.decode()
    assert not Route.objects.exists()


def test_edit_from_a_stale_form_is_refused_with_the_differences(operator_client, operator, environment, kube):
    route = create_route(operator_client, environment)
    edit = reverse("routes:edit", args=[environment.pk, "shop"])
    opened = operator_client.get(edit).context["form"]["resource_version"].value()
    assert opened == route.resource_version
    # Someone else saves first, through the console.
    other = Client()
    other.force_login(operator)
    assert other.post(edit, route_data(tenant_gateway(environment), host="first.acme.example.com")).status_code == 302
    # The first editor's save, from the version they opened, is refused.
    data = route_data(tenant_gateway(environment), host="second.acme.example.com", resource_version=opened)
    response = operator_client.post(edit, data)
    assert response.status_code == 200
    assert "changed by someone else" in response.context["form"].non_field_errors()[0]
    diff = response.context["conflict_diff"]
    assert "-  - host: second.acme.example.com" in diff and "+  - host: first.acme.example.com" in diff
    assert kube.get_ingress(environment.namespace, "shop")["spec"]["rules"][0]["host"] == "first.acme.example.com"
    assert Route.objects.get().host == "first.acme.example.com"


def test_audit_log_records_who_did_what_with_the_manifest(operator_client, environment):
    create_route(operator_client, environment)
    operator_client.post(
        reverse("routes:edit", args=[environment.pk, "shop"]), route_data(tenant_gateway(environment), protocol="ws")
    )
    operator_client.post(reverse("routes:delete", args=[environment.pk, "shop"]))
    entries = list(AuditEntry.objects.order_by("pk"))
    assert [(e.action, e.user.username, e.route_name) for e in entries] == [
        ("create", "olivia", "shop"),
        ("update", "olivia", "shop"),
        ("delete", "olivia", "shop"),
    ]
    assert entries[1].manifest["metadata"]["annotations"] == {manifest.WEBSOCKET_SERVICES: "web"}
    page = operator_client.get(reverse("routes:audit", args=[environment.pk])).content.decode()
    assert "nginx.org/websocket-services: web" in page


def test_api_server_down_then_back(operator_client, environment, kube, control_plane):
    create_route(operator_client, environment)
    control_plane.stop_apiserver()
    try:
        started = time.monotonic()
        listing = operator_client.get(reverse("routes:list", args=[environment.pk]))
        assert listing.status_code == 200
        assert "cannot be reached" in listing.content.decode()
        assert [r.name for r in listing.context["page"].object_list] == ["shop"]

        form = operator_client.get(create_url(environment))
        assert form.status_code == 200 and "could not be read" in form.content.decode()

        data = route_data(tenant_gateway(environment), name="while-down", host="down.acme.example.com")
        response = operator_client.post(create_url(environment), data)
        assert response.status_code == 200
        assert "could not save" in response.content.decode()
        assert response.context["form"]["name"].value() == "while-down"  # input kept
        assert not Route.objects.filter(name="while-down").exists()

        detail = operator_client.get(reverse("routes:detail", args=[environment.pk, "shop"]))
        assert detail.status_code == 200 and detail.context["sync"] == "unknown"
        deleting = operator_client.post(reverse("routes:delete", args=[environment.pk, "shop"]))
        assert deleting.status_code == 200 and Route.objects.filter(name="shop").exists()
        # Tenants read that the cluster cannot be reached, not the client's internals or its address.
        for page in (listing, form, response, detail, deleting):
            body = page.content.decode()
            assert "HTTPSConnection" not in body and "Max retries" not in body
            assert control_plane.url.split("//")[1] not in body
        assert time.monotonic() - started < 30  # every failure answered within the timeouts
    finally:
        control_plane.start_apiserver()

    # Back: the same Django process recovers without a restart.
    assert operator_client.post(create_url(environment), data).status_code == 302
    assert kube.get_ingress(environment.namespace, "while-down")["metadata"]["name"] == "while-down"
    assert _sync_on_list(operator_client, environment)[0] == {"shop": "in-sync", "while-down": "in-sync"}


def test_ingress_stripped_of_its_labels_is_drift_not_unmanaged(operator_client, environment, kube):
    create_route(operator_client, environment)
    live = kube.get_ingress(environment.namespace, "shop")
    live["metadata"]["labels"] = {}
    kube.replace_ingress(environment.namespace, "shop", live)
    states, listing = _sync_on_list(operator_client, environment)
    assert states == {"shop": "changed"}
    assert listing.context["unmanaged"] == []


def test_list_page_asks_the_cluster_for_its_page_only(operator_client, environment):
    create_route(operator_client, environment)
    with record_calls() as calls:
        operator_client.get(reverse("routes:list", args=[environment.pk]))
    assert calls == [
        ("GET", f"/apis/networking.k8s.io/v1/namespaces/{environment.namespace}/ingresses"),
        ("GET", f"/apis/networking.k8s.io/v1/namespaces/{environment.namespace}/ingresses"),
        # The backends' health: the namespace's Services and EndpointSlices, once for the page.
        ("GET", f"/api/v1/namespaces/{environment.namespace}/services"),
        ("GET", f"/apis/discovery.k8s.io/v1/namespaces/{environment.namespace}/endpointslices"),
        ("GET", f"/api/v1/namespaces/{environment.namespace}/events"),  # the gateway controller's word
    ]


def test_api_server_going_down_right_after_the_write_keeps_row_and_object_together(
    operator_client, environment, kube, control_plane, kube_cache, settings
):
    """The create is in, then the cluster stops answering before the host is checked again: the route is
    kept in the database too, so the two agree (a rolled-back row would leave an Ingress nobody manages)."""

    # The cache's Ingress watch is down (as when its connection broke): the check after the write cannot
    # wait for the cache to see the write and asks the API server, which is where the outage meets it.
    cache = environment.cluster.cache()
    assert cache is not None and cache.wait_synced(20)
    cache.ingresses.stop()
    settings.KUBE_CACHE_WRITE_WAIT = 0.2

    calls: list[tuple[str, str]] = []
    stopped: list[tuple[str, str]] = []

    def stop_after_the_create(method: str, path: str) -> None:
        # Called before each request: the one after the create's POST meets a stopped API server.
        if method == "WATCH":  # the cache's own watches, from their threads
            return
        if calls and calls[-1][0] == "POST" and not stopped:
            control_plane.stop_apiserver()
            stopped.append((method, path))
        calls.append((method, path))

    data = route_data(tenant_gateway(environment), name="racy", host="racy.acme.example.com")
    try:
        with before_each_call(stop_after_the_create):
            response = operator_client.post(create_url(environment), data)
        assert stopped and stopped[0][0] == "GET"  # the check after the write met a cluster that was down
    finally:
        control_plane.start_apiserver()
    assert response.status_code == 302, response.content.decode()[:2000]
    route = Route.objects.get(environment=environment, name="racy")
    live = kube.get_ingress(environment.namespace, "racy")
    assert live["spec"]["rules"][0]["host"] == route.host == "racy.acme.example.com"
    assert route.resource_version == live["metadata"]["resourceVersion"]
    assert _sync_on_list(operator_client, environment)[0] == {"racy": "in-sync"}
