"""YAML in and out: a route downloaded as the manifest it writes, and a manifest pasted into the create form,
read with the import's rules and refusals, each refusal on the paste field, nothing saved until Save.
Objects are saved through the form to the session's real API server, and read back from it."""

from __future__ import annotations

import copy

import pytest
import yaml
from django.urls import reverse
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from kubegems_routes.gateways.models import Gateway
from kubegems_routes.kube.errors import NotFound
from kubegems_routes.routes import behaviour, drift, manifest
from kubegems_routes.routes.forms import FormState
from kubegems_routes.routes.models import Route
from kubegems_routes.routes.paste import Refused, load
from tests.helpers import action_url, create_route, create_url, gateway_api_gateway, ingress, route_data

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "route-editor"}


@pytest.fixture
def edge(gateway_api, environment, kube) -> Gateway:
    return gateway_api_gateway(environment, kube)


def _public(environment) -> Gateway:
    """The tenant's ingress-class gateway (the environment fixture's)."""
    return Gateway.objects.get(cluster=environment.cluster, name="public")


def _download(client, environment, name: str) -> str:
    response = client.get(reverse("routes:manifest", args=[environment.pk, name]))
    assert response.status_code == 200, response.content.decode()[:800]
    assert response["Content-Type"] == "application/yaml; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="{name}.yaml"'
    return response.content.decode()


def _paste(client, environment, text: str, **posted: str):
    """The paste as htmx sends it: the manifest, and the route form as it is (hx-include)."""
    return client.post(action_url(environment, "paste"), {"manifest": text, **posted}, **HX)


def _paste_error(response) -> str:
    assert response.status_code == 200
    errors = response.context["paste"].errors.get("manifest")
    assert errors, "the paste was not refused"
    return str(errors[0])


def _posted(state: FormState) -> dict[str, str]:
    """The filled form as the browser posts it with Save."""
    data = {**state.fields, "_action": "save"}
    for prefix, rows in (("paths", state.paths), ("annotations", state.annotations)):
        data[f"{prefix}-TOTAL_FORMS"] = str(len(rows))
        data[f"{prefix}-INITIAL_FORMS"] = "0"
        for i, row in enumerate(rows):
            data.update({f"{prefix}-{i}-{k}": v for k, v in row.items()})
    return data


def _state(response) -> FormState:
    """What the filled form shows (the unbound editor's values)."""
    editor = response.context["editor"]
    names = ("name", "gateway", "host", "protocol", "tls_secret", *(b.name for b in behaviour.BEHAVIOURS))
    fields = {name: editor.value(name) for name in names if editor.value(name)}
    fields["tls_source"] = editor.tls_source()
    keys = ("path", "path_type", "service", "port", "weight", "rewrite")
    paths = [{k: str(f.initial.get(k, "")) for k in keys if f.initial.get(k)} for f in editor.paths]
    notes = [{k: str(f.initial.get(k, "")) for k in ("key", "value")} for f in editor.annotations]
    return FormState(fields, paths, notes)


# -- the text: read safely, one object ---------------------------------------------


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("kind: Ingress\nmetadata:\n  name: [shop\n", "not valid YAML (line 4, column 1)"),
        ("kind: Ingress\nspec:\n\trules: []\n", "not valid YAML (line 3, column 1)"),
        ("a: &rows [1, 2]\nb: *rows\n", "Anchors and aliases (& and *) are not read here (line 2, column 4)"),
        ("a: " + "[" * 5000 + "]" * 5000, "Values are nested more than 50 levels deep (line 1, column 53)"),
        ("kind: Ingress\n---\nkind: Service\n", "This text holds 2 documents"),
        ("- kind: Ingress\n", "This is not a Kubernetes object"),
        ("# only a comment\n", "There is no object in this text."),
    ],
)
def test_text_that_is_not_one_object_is_refused_saying_where(text, said):
    with pytest.raises(Refused) as refused:
        load(text)
    assert said in str(refused.value)


def test_json_and_unquoted_dates_are_read_as_kubernetes_reads_them():
    assert load('{"kind": "Ingress", "metadata": {"name": "shop"}}') == {
        "kind": "Ingress",
        "metadata": {"name": "shop"},
    }
    assert load("metadata:\n  annotations:\n    example.com/since: 2026-12-06\n")["metadata"]["annotations"] == {
        "example.com/since": "2026-12-06"
    }


# Any JSON-like value, to put anywhere in a valid object.
_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8))
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


def _places(obj, where=()):
    """Every field and list item of ``obj``, by its path."""
    yield where
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for key, value in items:
        yield from _places(value, (*where, key))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(data=st.data())
def test_any_value_anywhere_in_a_pasted_route_is_read_or_refused_on_the_paste_field(
    data, operator_client, environment, edge
):
    """What no API server has checked yet: a list where a mapping belongs, a number for a string, ..."""
    public = _public(environment)
    parent = {"name": edge.gateway_name, "namespace": "platform", "sectionName": "https"}
    valid = {
        "Ingress": ingress(environment.namespace, ingress_class=public.ingress_class, protocol="https", tls_secret="x"),
        "HTTPRoute": yaml.safe_load(_httproute(parent)),
        "GRPCRoute": {**yaml.safe_load(_httproute(parent)), "kind": "GRPCRoute"},
    }
    obj = copy.deepcopy(valid[data.draw(st.sampled_from(sorted(valid)))])
    where = data.draw(st.sampled_from(list(_places(obj))[1:]))
    parent_of = obj
    for key in where[:-1]:
        parent_of = parent_of[key]
    parent_of[where[-1]] = data.draw(_values)
    response = _paste(operator_client, environment, yaml.safe_dump(obj))  # a server error raises here
    assert response.status_code == 200
    assert (response.context["pasted"] is None) is bool(response.context["paste"].errors.get("manifest"))
    event("filled" if response.context["pasted"] else "refused")


# -- download -> paste -> save: the same form, the same object --------------------


def _ingress_route(client, environment, edge):
    return create_route(
        client,
        environment,
        _public(environment),
        protocol="https",
        tls_secret="demo-tls",
        **{
            "paths-TOTAL_FORMS": "2",
            "paths-1-path": "/api",
            "paths-1-path_type": "Exact",
            "paths-1-service": "api",
            "paths-1-port": "8080",
            "paths-1-rewrite": "/v1",
            "annotations-0-key": "nginx.org/proxy-read-timeout",
            "annotations-0-value": "30s",
            "rate_limit": "10r/s",
            "response_headers": "X-Team:shop",
        },
    )


def _http_route(client, environment, edge):
    return create_route(
        client,
        environment,
        edge,
        protocol="https",
        host="shop.edge.example.com",
        **{"annotations-0-key": "example.com/owner", "annotations-0-value": "shop"},
    )


def _grpc_route(client, environment, edge):
    return create_route(
        client,
        environment,
        edge,
        protocol="grpc",
        host="shop.edge.example.com",
        **{"paths-0-path": "/grpc.health.v1.Health", "paths-0-service": "api", "paths-0-port": "50051"},
    )


def _canary_route(client, environment, edge):
    """Two weighted backends for one path: one rule of the HTTPRoute."""
    return create_route(
        client,
        environment,
        edge,
        host="shop.edge.example.com",
        **{
            "paths-TOTAL_FORMS": "2",
            "paths-0-weight": "90",
            "paths-1-path": "/",
            "paths-1-path_type": "Prefix",
            "paths-1-service": "api",
            "paths-1-port": "8080",
            "paths-1-weight": "10",
        },
    )


@pytest.mark.parametrize(
    ("made", "kind"),
    [
        (_ingress_route, "Ingress"),
        (_http_route, "HTTPRoute"),
        (_grpc_route, "GRPCRoute"),
        (_canary_route, "HTTPRoute"),
    ],
)
def test_a_downloaded_route_pasted_back_fills_the_same_form_and_saves_the_same_object(
    made, kind, operator_client, environment, edge, kube
):
    route = made(operator_client, environment, edge)
    downloaded = _download(operator_client, environment, "shop")
    body = yaml.safe_load(downloaded)
    assert body["kind"] == kind
    # What the route writes is what the cluster holds.
    live = kube.get_route_object(kind, environment.namespace, "shop")
    assert drift.managed_view(body) == drift.managed_view(live)
    before = _state(operator_client.get(reverse("routes:edit", args=[environment.pk, "shop"])))
    before.fields["name"] = "shop"
    response = operator_client.post(reverse("routes:delete", args=[environment.pk, "shop"]))
    assert response.status_code == 302 and not Route.objects.filter(pk=route.pk).exists()

    response = _paste(operator_client, environment, downloaded)
    assert response.status_code == 200
    assert not response.context["paste"].errors
    pasted = response.context["pasted"]
    assert (pasted.kind, pasted.name, pasted.notes) == (kind, "shop", [])
    filled = _state(response)
    assert filled == before
    page = response.content.decode()
    assert 'id="paste-result"' in page and f"filled from {kind} shop" in page
    with pytest.raises(NotFound):  # nothing is saved by a paste
        kube.get_route_object(kind, environment.namespace, "shop")
    assert not Route.objects.filter(environment=environment, name="shop").exists()

    response = operator_client.post(create_url(environment), _posted(filled))
    assert response.status_code == 302, response.content.decode()[:1500]
    again = kube.get_route_object(kind, environment.namespace, "shop")
    assert drift.managed_view(again) == drift.managed_view(body)
    assert _download(operator_client, environment, "shop") == downloaded


def test_an_object_made_with_kubectl_pasted_then_saved_creates_the_route_object(operator_client, environment, kube):
    gateway = _public(environment)
    text = f"""
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: legacy
  namespace: staging
  labels:
    team: shop
  annotations:
    nginx.org/client-max-body-size: "8m"
  finalizers: [example.com/keep]
  uid: 0b5ad6b8-0000-4000-8000-000000000000
  resourceVersion: "12345"
spec:
  ingressClassName: {gateway.ingress_class}
  rules:
  - host: legacy.acme.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: web
            port:
              name: http
status:
  loadBalancer: {{}}
"""
    response = _paste(operator_client, environment, text)
    pasted = response.context["pasted"]
    assert pasted.notes == [
        f"It was written for namespace staging: the route is created in this environment's namespace, "
        f"{environment.namespace}, and its Services are those of {environment.namespace}.",
        "The form has no place for metadata.labels.team, metadata.finalizers: the new route's object will not "
        "have them.",
    ]
    filled = _state(response)
    assert filled.paths == [{"path": "/", "path_type": "Prefix", "service": "web", "port": "http", "weight": "1"}]
    # The annotation a behaviour field writes is in that field, as an edit shows it.
    assert filled.annotations == [] and filled.fields["max_body_size"] == "8m"
    response = operator_client.post(create_url(environment), _posted(filled))
    assert response.status_code == 302, response.content.decode()[:1500]
    stored = kube.get_ingress(environment.namespace, "legacy")
    assert stored["metadata"]["namespace"] == environment.namespace
    assert stored["metadata"]["annotations"]["nginx.org/client-max-body-size"] == "8m"
    assert "team" not in stored["metadata"]["labels"] and not stored["metadata"].get("finalizers")
    assert stored["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"] == {
        "name": "web",
        "port": {"name": "http"},
    }


# -- refusals: on the paste field, the form as it was, nothing written ----------------


def _httproute(parent: dict, **spec: object) -> str:
    body = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "legacy"},
        "spec": {
            "parentRefs": [parent],
            "hostnames": ["legacy.edge.example.com"],
            "rules": [{"backendRefs": [{"name": "web", "port": 80}]}],
            **spec,
        },
    }
    return yaml.safe_dump(body)


def _ingress_text(namespace: str, ingress_class: str) -> str:
    return yaml.safe_dump(ingress(namespace, name="legacy", ingress_class=ingress_class))


def test_each_refusal_lands_on_the_paste_field_and_the_form_keeps_what_was_typed(operator_client, environment, edge):
    gateway = _public(environment)
    parent = {"name": edge.gateway_name, "namespace": "platform", "sectionName": "http"}
    offered = Gateway.objects.for_environment(environment)
    classes = ", ".join(f"ingress class {g.ingress_class}" for g in offered if not g.is_gateway_api)
    assert gateway.ingress_class in classes
    cases = {
        "kind: Ingress\nmetadata: {name: [x\n": "This is not valid YAML (line 3, column 1)",
        "kind: Service\n---\nkind: Ingress\n": "This text holds 2 documents",
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n": "Service is not a route",
        "apiVersion: networking.k8s.io/v1beta1\nkind: Ingress\n": "the form reads networking.k8s.io/v1",
        _ingress_text(environment.namespace, "nginx-elsewhere"): (
            "Its ingress class nginx-elsewhere is not a gateway of this environment. This environment's gateways: "
            f"{classes}."
        ),
        _httproute({"name": "other", "namespace": "platform"}): (
            "Its Gateway platform/other is not a gateway of this environment. This environment's gateways: "
            f"Gateway platform/{edge.gateway_name}."
        ),
        _httproute(parent, rules="all"): "spec.rules must be a list.",
        _httproute(parent, rules=[{"backendRefs": [{"name": "web", "port": "80"}]}]): (
            "spec.rules[0].backendRefs[0].port must be a whole number."
        ),
        _httproute(parent, hostnames=[None]): "spec.hostnames[0] must be a string: quote it.",
        _httproute(parent, rules=[{"backendRefs": []}]): "A rule of it has no backend.",
        _httproute(
            parent,
            rules=[{"filters": [{"type": "RequestHeaderModifier"}], "backendRefs": [{"name": "web", "port": 80}]}],
        ): "The route form expresses spec.rules[0].filters only as its behaviour fields write them.",
        _ingress_text(environment.namespace, gateway.ingress_class).replace(
            "name: legacy", "name: legacy\n  annotations: {nginx.org/proxy-read-timeout: 30}"
        ): "metadata.annotations.nginx.org/proxy-read-timeout must be a string: quote it.",
    }
    typed = route_data(gateway, name="typed", host="typed.acme.example.com")
    for text, said in cases.items():
        response = _paste(operator_client, environment, text, **typed)
        assert said in _paste_error(response), text
        assert response.context["pasted"] is None
        editor = response.context["editor"]
        assert (editor.value("name"), editor.value("host")) == ("typed", "typed.acme.example.com")
        page = response.content.decode()
        assert "<details" in page and 'id="paste-panel" class="border rounded p-2 mb-3" open' in page
        assert 'aria-invalid="true"' in page and "autofocus" in page
        assert text.splitlines()[0] in page  # the pasted text is kept
    assert not Route.objects.filter(environment=environment).exists()


def test_what_a_refusal_repeats_of_the_paste_is_escaped(operator_client, environment):
    response = _paste(operator_client, environment, "kind: <script>alert(1)</script>\n")
    assert "<script>alert(1)</script> is not a route" in _paste_error(response)
    page = response.content.decode()
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; is not a route" in page


def test_an_empty_paste_is_asked_for(operator_client, environment):
    assert _paste_error(_paste(operator_client, environment, "")) == "This field is required."


def test_a_name_already_taken_is_said_and_the_save_refuses_it(operator_client, environment, edge, kube):
    create_route(operator_client, environment, _public(environment))
    response = _paste(operator_client, environment, _download(operator_client, environment, "shop"))
    assert response.context["pasted"].notes == ["A route named shop exists here already: give this one another name."]
    response = operator_client.post(create_url(environment), _posted(_state(response)))
    assert response.status_code == 200
    assert response.context["form"].errors["name"] == ["A route with this name already exists in this environment."]


def test_paste_is_on_the_create_form_only(operator_client, environment):
    create_route(operator_client, environment, _public(environment))
    assert 'id="paste-form"' in operator_client.get(create_url(environment)).content.decode()
    edit = operator_client.get(reverse("routes:edit", args=[environment.pk, "shop"])).content.decode()
    assert 'id="paste-form"' not in edit
    response = operator_client.post(action_url(environment, "paste", "shop"), {"manifest": "kind: Ingress"})
    assert response.status_code == 404


def test_without_javascript_a_paste_answers_the_whole_page(operator_client, environment):
    gateway = _public(environment)
    text = _ingress_text(environment.namespace, gateway.ingress_class)
    response = operator_client.post(action_url(environment, "paste"), {"manifest": text})
    page = response.content.decode()
    assert response.status_code == 200 and "<html" in page
    assert response.context["editor"].value("name") == "legacy"


# -- download: readers may, other tenants may not -----------------------------------


def test_readers_download_a_route_and_its_versions_other_tenants_get_404(
    operator_client, environment, client, django_user_model
):
    from kubegems_routes.tenancy.models import EnvironmentMember, Tenant, TenantMember

    create_route(operator_client, environment, _public(environment))
    reader = django_user_model.objects.create_user("rita", password="pw")
    EnvironmentMember.objects.create(environment=environment, user=reader, role="reader")
    outsider = django_user_model.objects.create_user("otto", password="pw")
    TenantMember.objects.create(tenant=Tenant.objects.create(name="other"), user=outsider, role="admin")
    route_url = reverse("routes:manifest", args=[environment.pk, "shop"])
    version_url = reverse("routes:version-manifest", args=[environment.pk, "shop", 1])

    client.force_login(reader)
    assert yaml.safe_load(client.get(route_url).content)["metadata"]["name"] == "shop"
    response = client.get(version_url)
    assert response["Content-Disposition"] == 'attachment; filename="shop-v1.yaml"'
    version = yaml.safe_load(response.content)
    assert version["kind"] == "Ingress" and "resourceVersion" not in version["metadata"]
    assert client.get(reverse("routes:version-manifest", args=[environment.pk, "shop", 9])).status_code == 404
    detail = client.get(reverse("routes:detail", args=[environment.pk, "shop"])).content.decode()
    assert f'href="{route_url}"' in detail
    assert (
        f'href="{version_url}"' in client.get(reverse("routes:history", args=[environment.pk, "shop"])).content.decode()
    )

    client.force_login(outsider)
    assert client.get(route_url).status_code == 404
    assert client.get(version_url).status_code == 404


def test_a_port_name_the_service_lost_is_said_on_the_route_page(operator_client, environment, edge, kube):
    route = create_route(operator_client, environment, edge, host="shop.edge.example.com", **{"paths-0-port": "http"})
    route.paths.update(port="gone")
    response = operator_client.get(reverse("routes:manifest", args=[environment.pk, "shop"]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("routes:detail", args=[environment.pk, "shop"])
    assert "gone" in " ".join(str(m) for m in response.context["messages"])


def test_the_download_is_the_manifest_the_preview_builds(operator_client, environment):
    route = create_route(operator_client, environment, _public(environment))
    downloaded = yaml.safe_load(_download(operator_client, environment, "shop"))
    assert downloaded == manifest.build(route.spec())
