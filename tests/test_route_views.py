"""List, detail, edit, delete, the form's HTMX fragments, and what each page costs."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kubegems_routes.kube.errors import Invalid
from kubegems_routes.routes import manifest
from kubegems_routes.routes.forms import RouteEditor
from kubegems_routes.routes.models import Route, RoutePath
from tests.helpers import action_url, create_route, create_url, default_gateway, ingress, route_data, tenant_gateway
from tests.kube_calls import record_calls

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def test_protocol_fragment_shows_secret_only_for_tls_protocols(operator_client, environment):
    gateway = tenant_gateway(environment)
    for protocol, shown in [("https", True), ("http", False), ("grpc", True), ("ws", False)]:
        data = route_data(gateway, protocol=protocol)
        response = operator_client.post(action_url(environment, "secret"), data, **HX)
        body = response.content.decode()
        assert response.status_code == 200
        assert "<html" not in body and 'id="secret-field"' in body
        assert ('type="text" name="tls_secret"' in body) is shown
        assert 'datalist id="tls-secret-options"' in body if shown else 'type="hidden" name="tls_secret"' in body
        assert "is-invalid" not in body  # a refresh is not a submission: no errors yet


def test_preview_fragment_shows_generated_annotations_without_cluster_calls(operator_client, environment):
    data = route_data(tenant_gateway(environment), protocol="grpc")
    with record_calls() as calls:
        response = operator_client.post(action_url(environment, "preview"), data, **HX)
    body = response.content.decode()
    assert calls == []
    assert "<html" not in body and 'name="suggested_host"' in body and 'id="preview"' not in body
    assert "nginx.org/grpc-services" in body
    assert f"ingressClassName: {tenant_gateway(environment).ingress_class}" in body


def test_path_and_annotation_rows_are_added_and_removed(operator_client, environment):
    gateway = tenant_gateway(environment)
    response = operator_client.post(action_url(environment, "add-path"), route_data(gateway), **HX)
    body = response.content.decode()
    assert 'name="paths-TOTAL_FORMS" value="2"' in body and 'id="paths-field"' in body and "<html" not in body
    # The preview refreshes once the new row is in the page, so it reads the form as it now is.
    assert "refresh-preview" in response["HX-Trigger-After-Settle"]
    assert 'id="id_paths-1-path" autofocus' in body or re.search(r'autofocus[^>]*id="id_paths-1-path"', body)
    data = route_data(gateway, row="0", **{"paths-TOTAL_FORMS": "2", "paths-1-path": "/b"})
    body = operator_client.post(action_url(environment, "remove-path"), data, **HX).content.decode()
    assert 'name="paths-TOTAL_FORMS" value="1"' in body and 'name="paths-0-path" value="/b"' in body
    body = operator_client.post(action_url(environment, "add-annotation"), route_data(gateway), **HX).content.decode()
    assert 'name="annotations-TOTAL_FORMS" value="2"' in body
    data = route_data(gateway, row="0")
    body = operator_client.post(action_url(environment, "remove-annotation"), data, **HX).content.decode()
    assert 'name="annotations-TOTAL_FORMS" value="0"' in body
    assert re.search(r'id="add-annotation"[^>]*autofocus', body)


def test_without_javascript_buttons_rerender_the_whole_page(operator_client, environment):
    response = operator_client.post(action_url(environment, "add-path"), route_data(tenant_gateway(environment)))
    body = response.content.decode()
    assert "<html" in body
    # The page's form still saves at the form's own address, not at the action's.
    assert f'action="{create_url(environment)}"' in body
    assert response.context["editor"].paths.total_form_count() == 2
    assert not Route.objects.exists()


def test_random_host_button_fills_the_host(operator_client, environment):
    data = route_data(tenant_gateway(environment), host="")
    body = operator_client.post(action_url(environment, "random-host"), data, **HX).content.decode()
    assert re.search(r'name="host" value="[a-z]{5}\.acme\.example\.com"', body)


@pytest.mark.parametrize("action", ["random-host", "add-path", "add-backend", "add-annotation", "service"])
def test_an_action_htmx_posts_for_the_whole_form_answers_the_whole_form(operator_client, environment, action):
    """A button htmx has not wired up yet (swapped in a moment ago, before it settled) submits the form:
    htmx posts it to the button's formaction and swaps the answer into the form's own target. A fragment
    there would replace the whole form with one field; the answer is the whole form instead."""
    data = route_data(tenant_gateway(environment), host="", row="0")
    response = operator_client.post(action_url(environment, action), data, **HX, HTTP_HX_TARGET="form-body")
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    for part in ('id="form-body"', 'id="host-field"', 'id="paths-field"', 'id="annotations-field"', 'id="preview"'):
        assert part in body, part


def test_ports_fragment_offers_the_services_ports(operator_client, environment):
    data = route_data(tenant_gateway(environment), row="0", **{"paths-0-service": "api", "paths-0-port": ""})
    response = operator_client.post(action_url(environment, "service"), data, **HX)
    body = response.content.decode()
    assert 'id="paths-0-port-wrap"' in body and "<html" not in body
    assert 'name="paths-0-port"' in body and 'value="50051"' in body and 'value="8080"' in body
    assert "refresh-preview" in response["HX-Trigger-After-Settle"]


def test_secret_options_list_only_tls_secret_names(operator_client, environment, kube):
    kube.create(
        f"/api/v1/namespaces/{environment.namespace}/secrets",
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "opaque-one"}, "stringData": {"k": "v"}},
    )
    response = operator_client.get(reverse("routes:secrets", args=[environment.pk]), **HX)
    body = response.content.decode()
    assert 'value="demo-tls"' in body and "opaque-one" not in body
    assert "tls.crt" not in body and "BEGIN" not in body


def test_htmx_save_with_errors_returns_the_form_body(operator_client, environment):
    data = route_data(tenant_gateway(environment), protocol="https", tls_secret="")
    response = operator_client.post(create_url(environment), data, **HX)
    body = response.content.decode()
    assert "<html" not in body and 'id="form-body"' in body and "needs a TLS secret" in body


def test_htmx_save_redirects_on_the_client(operator_client, environment):
    response = operator_client.post(create_url(environment), route_data(tenant_gateway(environment)), **HX)
    assert response["HX-Redirect"] == reverse("routes:detail", args=[environment.pk, "shop"])


def test_api_server_causes_land_on_their_fields(environment, kube):
    body = ingress(
        environment.namespace,
        name="bad",
        protocol="https",
        tls_secret="demo-tls",
        backends=(manifest.Backend(path="no-slash", service="Bad_Name", port="80", path_type="Exact"),),
    )
    body["spec"]["rules"][0]["host"] = "10.0.0.1"
    with pytest.raises(Invalid) as refused:
        kube.create_ingress(environment.namespace, body)
    editor = RouteEditor(environment, data=route_data(tenant_gateway(environment)))
    editor.is_valid()
    for cause in refused.value.causes:
        found = manifest.route_field(cause.field)
        assert found is not None, cause.field
        editor.add_error(found[0], cause.message, found[1])
    assert "host" in editor.form.errors
    row = editor.paths.forms[0].errors
    assert "path" in row and "service" in row


def test_detail_shows_cluster_state_and_urls(operator_client, environment):
    create_route(operator_client, environment, protocol="https", tls_secret="demo-tls")
    response = operator_client.get(reverse("routes:detail", args=[environment.pk, "shop"]))
    body = response.content.decode()
    assert "https://shop.acme.example.com/" in body
    assert f"ingressClassName: {tenant_gateway(environment).ingress_class}" in body
    assert "demo-tls" in body


def test_edit_changes_the_ingress_and_keeps_the_name(operator_client, environment, kube):
    route = create_route(operator_client, environment)
    url = reverse("routes:edit", args=[environment.pk, "shop"])
    data = route_data(
        tenant_gateway(environment), name="renamed", protocol="ws", **{"paths-0-service": "api", "paths-0-port": "8080"}
    )
    assert operator_client.post(url, data).status_code == 302
    stored = kube.get_ingress(environment.namespace, "shop")
    assert stored["metadata"]["annotations"] == {manifest.WEBSOCKET_SERVICES: "api"}
    route.refresh_from_db()
    assert route.name == "shop" and route.protocol == "ws"
    assert route.resource_version == stored["metadata"]["resourceVersion"]


def test_stale_edit_is_refused_and_changes_nothing(operator_client, environment, kube):
    route = create_route(operator_client, environment)
    changed = kube.get_ingress(environment.namespace, "shop")
    changed["metadata"]["labels"]["touched"] = "by-kubectl"
    kube.replace_ingress(environment.namespace, "shop", changed)
    data = route_data(tenant_gateway(environment), host="new.acme.example.com")
    response = operator_client.post(reverse("routes:edit", args=[environment.pk, "shop"]), data)
    assert response.status_code == 200 and response.context["form"].non_field_errors()
    route.refresh_from_db()
    assert route.host == "shop.acme.example.com"
    assert kube.get_ingress(environment.namespace, "shop")["spec"]["rules"][0]["host"] == "shop.acme.example.com"


def test_reloading_after_a_stale_edit_starts_from_the_clusters_version(operator_client, environment, kube):
    create_route(operator_client, environment)
    changed = kube.get_ingress(environment.namespace, "shop")
    changed["metadata"]["labels"]["touched"] = "by-kubectl"
    live = kube.replace_ingress(environment.namespace, "shop", changed)
    url = reverse("routes:edit", args=[environment.pk, "shop"])
    data = route_data(tenant_gateway(environment), host="new.acme.example.com")
    refused = operator_client.post(url, data)
    assert "Reload the current version" in refused.content.decode()
    # Reloading shows what changed outside and carries the cluster's version, so saving now works.
    page = operator_client.get(url)
    body = page.content.decode()
    assert page.context["form"]["resource_version"].value() == live["metadata"]["resourceVersion"]
    assert "changed outside the console" in body and "touched: by-kubectl" in body
    data["resource_version"] = live["metadata"]["resourceVersion"]
    assert operator_client.post(url, data).status_code == 302
    assert kube.get_ingress(environment.namespace, "shop")["spec"]["rules"][0]["host"] == "new.acme.example.com"


def test_tampered_resource_version_is_a_form_error_not_an_api_text(operator_client, environment):
    create_route(operator_client, environment)
    url = reverse("routes:edit", args=[environment.pk, "shop"])
    data = route_data(tenant_gateway(environment), resource_version="12abc")
    body = operator_client.post(url, data).content.decode()
    assert "changed in transit" in body and "strconv" not in body and "ParseUint" not in body


def test_editing_a_route_whose_ingress_was_deleted_points_to_reapply(operator_client, environment, kube):
    create_route(operator_client, environment)
    kube.delete_ingress(environment.namespace, "shop")
    url = reverse("routes:edit", args=[environment.pk, "shop"])
    page = operator_client.get(url).content.decode()
    assert "missing from the cluster" in page and "Re-apply" in page
    body = operator_client.post(url, route_data(tenant_gateway(environment))).content.decode()
    assert "Re-apply the route" in body and "not found" not in body and "ingresses.networking.k8s.io" not in body


def test_a_post_without_the_save_action_saves_nothing(operator_client, environment):
    data = route_data(tenant_gateway(environment))
    del data["_action"]
    response = operator_client.post(create_url(environment), data)
    assert response.status_code == 400
    assert not Route.objects.exists()


def test_delete_asks_then_removes_ingress_and_row(operator_client, environment, kube):
    create_route(operator_client, environment)
    url = reverse("routes:delete", args=[environment.pk, "shop"])
    assert "Delete route shop?" in operator_client.get(url).content.decode()
    assert operator_client.post(url).status_code == 302
    assert not Route.objects.exists()
    assert kube.list_ingresses(environment.namespace) == []


def test_list_search_by_name(operator_client, environment):
    gateway = tenant_gateway(environment)
    for name in ["alpha", "beta"]:
        Route.objects.create(environment=environment, name=name, gateway=gateway, host=f"{name}.x.io")
    response = operator_client.get(reverse("routes:list", args=[environment.pk]), {"q": "alp"})
    assert [r.name for r in response.context["page"].object_list] == ["alpha"]


def _bulk_routes(environment, count, prefix):
    gateway = tenant_gateway(environment)
    routes = Route.objects.bulk_create(
        Route(environment=environment, name=f"{prefix}{i:03}", gateway=gateway, host=f"{prefix}{i}.x.io")
        for i in range(count)
    )
    RoutePath.objects.bulk_create(RoutePath(route=r, path="/", service="web", port="80") for r in routes)


@pytest.mark.parametrize("page", ["routes:list", "routes:create"])
def test_page_cost_does_not_grow_with_routes(page, operator_client, environment):
    url = reverse(page, args=[environment.pk])
    costs = []
    for count in (1, 49):
        _bulk_routes(environment, count, prefix=f"n{count}-")
        with CaptureQueriesContext(connection) as queries, record_calls() as calls:
            assert operator_client.get(url).status_code == 200
        costs.append((len(queries), len(calls)))
    assert costs[0] == costs[1]
    assert Route.objects.count() == 50


def test_list_pages_keep_the_search(operator_client, environment):
    _bulk_routes(environment, 60, prefix="p")
    body = operator_client.get(reverse("routes:list", args=[environment.pk]), {"q": "p"}).content.decode()
    assert "1 / 2" in body and "?q=p&amp;page=2" in body
    second = operator_client.get(reverse("routes:list", args=[environment.pk]), {"q": "p", "page": "2"})
    assert len(second.context["page"].object_list) == 10


def test_gateway_options_show_their_domain(operator_client, environment):
    body = operator_client.get(create_url(environment)).content.decode()
    assert "public (*.acme.example.com)" in body and "default-gateway (*.kubegems.io)" in body


def test_switching_gateway_regenerates_a_random_host_and_keeps_a_typed_one(operator_client, environment):
    public, default = tenant_gateway(environment), default_gateway(environment)
    data = route_data(default, host="qwert.acme.example.com")  # Random made it for "public"
    body = operator_client.post(action_url(environment, "gateway"), data, **HX).content.decode()
    assert re.search(r'name="host" value="[a-z]{5}\.kubegems\.io"', body)
    assert (
        "refresh-preview"
        in operator_client.post(action_url(environment, "gateway"), data, **HX)["HX-Trigger-After-Settle"]
    )
    data = route_data(default, host="shop.acme.example.com")  # typed by the user: kept, saying it will be refused
    body = operator_client.post(action_url(environment, "gateway"), data, **HX).content.decode()
    assert 'value="shop.acme.example.com"' in body and "is not in a domain of gateway default-gateway" in body
    data = route_data(public, host="shop.acme.example.com")
    body = operator_client.post(action_url(environment, "gateway"), data, **HX).content.decode()
    assert "is not in a domain" not in body


def test_every_error_comes_in_one_round(operator_client, environment):
    data = route_data(
        tenant_gateway(environment),
        name="Bad Name",
        protocol="https",
        tls_secret="",
        **{"annotations-0-key": "nginx.org/server-snippets", "annotations-0-value": "return 200;"},
    )
    response = operator_client.post(create_url(environment), data)
    editor = response.context["editor"]
    assert "name" in editor.form.errors and "tls_secret" in editor.form.errors
    assert "Snippet annotations" in str(editor.annotations.forms[0].errors["key"])
    ids = [target for target, _label, _message in editor.errors()]
    assert ids == ["id_name", "id_tls_secret", "id_annotations-0-key"]
    assert not Route.objects.exists()


def test_a_form_action_on_a_row_that_does_not_exist_is_404(operator_client, environment):
    data = route_data(tenant_gateway(environment), row="7")
    assert operator_client.post(action_url(environment, "remove-path"), data, **HX).status_code == 404
    assert operator_client.post(action_url(environment, "add-backend"), data, **HX).status_code == 404
    assert operator_client.post(action_url(environment, "nonsense"), data, **HX).status_code == 404
