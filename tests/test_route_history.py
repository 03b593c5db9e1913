"""A route's History: every version the console applied, what changed, and a revert that saves as an edit does."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kubegems_routes.controlplane.objects import ensure_namespace
from kubegems_routes.gateways.models import Gateway
from kubegems_routes.kube.errors import NotFound
from kubegems_routes.routes import manifest
from kubegems_routes.routes.history import record_version
from kubegems_routes.routes.lifecycle import reapply_route
from kubegems_routes.routes.models import AuditEntry, Route, RouteVersion
from kubegems_routes.tenancy.models import EnvironmentMember, Tenant, TenantMember
from tests.helpers import create_route, gateway_api_gateway, ingress, route_data, tenant_gateway, until

pytestmark = pytest.mark.django_db


def _edit(client, environment, **overrides):
    response = client.post(
        reverse("routes:edit", args=[environment.pk, "shop"]), route_data(tenant_gateway(environment), **overrides)
    )
    assert response.status_code == 302, response.content.decode()[:1500]


def _versions(route):
    return list(RouteVersion.objects.filter(route=route).order_by("number"))


def _revert_url(environment, number, name="shop"):
    return reverse("routes:revert", args=[environment.pk, name, number])


def _history_url(environment, name="shop"):
    return reverse("routes:history", args=[environment.pk, name])


def test_every_save_is_a_version_with_who_and_what_changed(operator_client, operator, environment):
    route = create_route(operator_client, environment)
    _edit(operator_client, environment, **{"paths-0-path": "/shop"})
    v1, v2 = _versions(route)
    assert (v1.number, v1.action, v1.user) == (1, AuditEntry.Action.CREATE, operator)
    assert (v2.number, v2.action) == (2, AuditEntry.Action.UPDATE)
    assert v2.values["backends"] == [
        {"path": "/shop", "path_type": "Prefix", "service": "web", "port": "80", "weight": 1}
    ]
    page = operator_client.get(_history_url(environment)).content.decode()
    assert 'id="version-2"' in page and 'id="version-1"' in page
    assert "-        path: /\n+        path: /shop" in page
    assert "Revert to this version" in page  # on version 1, not on the current one
    assert page.count("Revert to this version") == 1


def test_reapply_take_over_and_import_are_versions(operator_client, operator, environment, kube):
    route = create_route(operator_client, environment)
    reapply_route(route, operator)
    assert [v.action for v in _versions(route)] == [AuditEntry.Action.CREATE, AuditEntry.Action.REAPPLY]
    legacy = ingress(
        environment.namespace, name="legacy", host="legacy.acme.example.com", ingress_class=route.gateway.ingress_class
    )
    kube.create_ingress(environment.namespace, legacy)
    operator_client.post(reverse("routes:import", args=[environment.pk]), {"name": "legacy"})
    imported = Route.objects.get(environment=environment, name="legacy")
    assert [v.action for v in _versions(imported)] == [AuditEntry.Action.IMPORT]


def test_revert_restores_the_earlier_object_exactly_as_a_new_version(operator_client, environment, kube):
    route = create_route(
        operator_client, environment, **{"annotations-0-key": "a.example/x", "annotations-0-value": "1"}
    )
    _edit(
        operator_client,
        environment,
        host="moved.acme.example.com",
        **{"paths-0-path": "/v2", "paths-0-service": "api", "paths-0-port": "8080"},
    )
    v1 = _versions(route)[0]
    confirm = operator_client.get(_revert_url(environment, 1))
    assert confirm.status_code == 200
    assert "moved.acme.example.com" in confirm.content.decode()  # the diff from the current version
    # and what the cluster would store, from a dry run that wrote nothing
    assert "-  - host: moved.acme.example.com\n+  - host: shop.acme.example.com" in confirm.content.decode()
    assert kube.get_ingress(environment.namespace, "shop")["spec"]["rules"][0]["host"] == "moved.acme.example.com"
    response = operator_client.post(_revert_url(environment, 1))
    assert response.status_code == 302 and response["Location"] == reverse(
        "routes:detail", args=[environment.pk, "shop"]
    )
    live = kube.get_ingress(environment.namespace, "shop")
    assert live["spec"] == v1.manifest["spec"]
    assert live["metadata"]["annotations"] == v1.manifest["metadata"]["annotations"]
    assert live["metadata"]["labels"] == v1.manifest["metadata"]["labels"]
    route.refresh_from_db()
    assert route.host == "shop.acme.example.com" and route.annotations == {"a.example/x": "1"}
    assert [(p.path, p.service, p.port) for p in route.paths.all()] == [("/", "web", "80")]
    v3 = _versions(route)[-1]
    assert (v3.number, v3.action, v3.reverted_to, v3.manifest) == (3, AuditEntry.Action.REVERT, 1, v1.manifest)
    assert AuditEntry.objects.filter(environment=environment, action=AuditEntry.Action.REVERT).count() == 1
    page = operator_client.get(_history_url(environment)).content.decode()
    assert "to version 1" in page


@pytest.fixture
def other_namespace(kube) -> str:
    name = f"t-{uuid.uuid4().hex[:10]}"
    ensure_namespace(kube, name)
    return name


def test_revert_is_refused_when_the_host_now_belongs_to_another_tenant(
    operator_client, environment, kube, other_namespace
):
    route = create_route(operator_client, environment)
    _edit(operator_client, environment, host="moved.acme.example.com")
    # Another tenant serves the first host now, on the same ingress class.
    kube.create_ingress(
        other_namespace,
        ingress(
            other_namespace,
            name="theirs",
            host="shop.acme.example.com",
            ingress_class=route.gateway.ingress_class,
            backends=(manifest.Backend(path="/", service="web", port="80"),),
        ),
    )
    until(lambda: any(i["metadata"]["name"] == "theirs" for i in kube.list_ingresses(other_namespace, cached=True)))
    before = kube.get_ingress(environment.namespace, "shop")
    # The confirmation says so already (its dry run makes the save's checks), and so does the revert itself.
    confirm = operator_client.get(_revert_url(environment, 1)).content.decode()
    assert "already served on this gateway for another tenant" in confirm
    assert "Review: what the cluster would store" not in confirm
    response = operator_client.post(_revert_url(environment, 1))
    assert response.status_code == 200
    page = response.content.decode()
    assert "already served on this gateway for another tenant" in page
    assert other_namespace not in page
    route.refresh_from_db()
    assert route.host == "moved.acme.example.com"
    assert (
        kube.get_ingress(environment.namespace, "shop")["metadata"]["resourceVersion"]
        == (before["metadata"]["resourceVersion"])
    )
    assert len(_versions(route)) == 2
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.REVERT).exists()


def test_revert_over_a_change_made_in_the_cluster_is_a_conflict(operator_client, environment, kube):
    route = create_route(operator_client, environment)
    _edit(operator_client, environment, **{"paths-0-path": "/v2"})
    live = kube.get_ingress(environment.namespace, "shop")
    live["metadata"]["annotations"] = {"someone.example/else": "yes"}
    kube.replace_route_object("Ingress", environment.namespace, "shop", live)
    response = operator_client.post(_revert_url(environment, 1))
    assert response.status_code == 200
    assert "changed by someone else" in response.content.decode()
    assert kube.get_ingress(environment.namespace, "shop")["metadata"]["annotations"] == {"someone.example/else": "yes"}
    assert len(_versions(route)) == 2


def test_revert_is_checked_by_the_form_rules_of_now(operator_client, environment):
    """A version whose annotation the gateway forbids since (snippets) is not saved again."""
    gateway = tenant_gateway(environment)
    gateway.allow_snippets = True
    gateway.save()
    route = create_route(
        operator_client,
        environment,
        **{"annotations-0-key": "nginx.org/server-snippets", "annotations-0-value": "add_header X 1;"},
    )
    _edit(operator_client, environment)
    gateway.allow_snippets = False
    gateway.save()
    response = operator_client.post(_revert_url(environment, 1))
    assert response.status_code == 200
    assert "does not allow them" in response.content.decode()
    route.refresh_from_db()
    assert route.annotations == {}


@pytest.fixture
def reader_client(client, django_user_model, environment):
    user = django_user_model.objects.create_user("rita", password="pw")
    EnvironmentMember.objects.create(environment=environment, user=user, role=EnvironmentMember.Role.READER)
    client.force_login(user)
    return client


def test_a_reader_sees_the_history_but_cannot_revert(client, operator, reader_client, environment, django_user_model):
    client.force_login(operator)
    route = create_route(client, environment)
    _edit(client, environment, **{"paths-0-path": "/v2"})
    client.force_login(django_user_model.objects.get(username="rita"))
    page = client.get(_history_url(environment))
    assert page.status_code == 200 and 'id="version-1"' in page.content.decode()
    assert "Revert to this version" not in page.content.decode()
    assert client.get(_revert_url(environment, 1)).status_code == 403
    assert client.post(_revert_url(environment, 1)).status_code == 403
    assert len(_versions(route)) == 2


def test_another_tenant_gets_404_for_history_and_revert(client, operator, environment, django_user_model):
    client.force_login(operator)
    create_route(client, environment)
    outsider = django_user_model.objects.create_user("otto", password="pw")
    TenantMember.objects.create(tenant=Tenant.objects.create(name="other"), user=outsider, role="admin")
    client.force_login(outsider)
    assert client.get(_history_url(environment)).status_code == 404
    assert client.post(_revert_url(environment, 1)).status_code == 404


def test_a_version_of_no_such_number_is_404(operator_client, environment):
    create_route(operator_client, environment)
    assert operator_client.get(_revert_url(environment, 7)).status_code == 404


def test_versions_beyond_the_retention_are_dropped(operator_client, operator, environment, settings):
    settings.ROUTE_VERSIONS_KEPT = 3
    route = create_route(operator_client, environment)
    for _ in range(4):
        reapply_route(route, operator)
    assert [v.number for v in _versions(route)] == [3, 4, 5]
    assert AuditEntry.objects.filter(environment=environment, route_name="shop").count() == 5  # the log keeps all
    page = operator_client.get(_history_url(environment)).content.decode()
    assert "The oldest version kept." in page


def test_history_queries_do_not_grow_with_the_versions(operator_client, operator, environment):
    route = create_route(operator_client, environment)
    url = _history_url(environment)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert operator_client.get(url).status_code == 200
        return len(captured)

    few = queries()
    body = route.versions.get().manifest
    for _ in range(10):
        record_version(route, AuditEntry.Action.REAPPLY, operator, body)
    assert route.versions.count() == 11
    assert queries() == few


def test_revert_across_a_change_of_kind_switches_back(operator_client, environment, kube, gateway_api):
    public = tenant_gateway(environment)
    route = create_route(operator_client, environment)
    edge = gateway_api_gateway(environment, kube)
    data = route_data(edge, switch_to="HTTPRoute")
    assert operator_client.post(reverse("routes:edit", args=[environment.pk, "shop"]), data).status_code == 302
    assert kube.get_route_object("HTTPRoute", environment.namespace, "shop")
    confirm = operator_client.get(_revert_url(environment, 1)).content.decode()
    assert "reverting creates Ingress shop, then deletes HTTPRoute shop" in confirm
    assert operator_client.post(_revert_url(environment, 1)).status_code == 302
    assert kube.get_ingress(environment.namespace, "shop")["spec"] == _versions(route)[0].manifest["spec"]
    with pytest.raises(NotFound):
        kube.get_route_object("HTTPRoute", environment.namespace, "shop")
    route.refresh_from_db()
    assert route.gateway == public
    assert [v.action for v in _versions(route)] == [
        AuditEntry.Action.CREATE,
        AuditEntry.Action.SWITCH,
        AuditEntry.Action.REVERT,
    ]


def test_history_and_revert_pages_escape_what_users_typed(operator_client, environment):
    payload = "<script>alert(1)</script>"
    create_route(operator_client, environment, **{"annotations-0-key": "a.example/x", "annotations-0-value": payload})
    _edit(operator_client, environment)
    for url in (_history_url(environment), _revert_url(environment, 1)):
        page = operator_client.get(url).content.decode()
        assert payload not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_revert_to_a_version_whose_gateway_is_gone_is_refused(operator_client, environment, kube):
    public = tenant_gateway(environment)
    route = create_route(operator_client, environment)
    second = Gateway.objects.create(
        cluster=environment.cluster,
        tenant=environment.project.tenant,
        name="second",
        ingress_class=f"second-{environment.namespace}",
        default_domain="*.acme.example.com",
    )
    data = route_data(second)
    assert operator_client.post(reverse("routes:edit", args=[environment.pk, "shop"]), data).status_code == 302
    public.delete()
    response = operator_client.post(_revert_url(environment, 1))
    assert response.status_code == 200
    assert "The gateway of version 1 is no longer offered here." in response.content.decode()
    route.refresh_from_db()
    assert route.gateway == second and len(_versions(route)) == 2
