"""Nothing lost on edit: what an object made elsewhere carries beyond the form survives import and every edit;
an object the form cannot represent is refused whole and left untouched."""

from __future__ import annotations

import copy

import pytest
from django.urls import reverse

from kubegems_routes.routes import drift, manifest
from kubegems_routes.routes.kept import kept_from
from kubegems_routes.routes.models import Route
from tests.helpers import gateway_api_gateway, route_data, tenant_gateway

pytestmark = pytest.mark.django_db

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_PATH = {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}


def _kubectl_ingress(environment, kube, name="legacy", **spec_overrides) -> dict:
    """An Ingress as a team writes it with kubectl: its labels, a foreign annotation, a named port, an owner."""
    web = kube.request("GET", f"/api/v1/namespaces/{environment.namespace}/services/web")
    spec = {
        "ingressClassName": tenant_gateway(environment).ingress_class,
        "rules": [
            {
                "host": f"{name}.acme.example.com",
                "http": {
                    "paths": [
                        {
                            "path": "/",
                            "pathType": "Prefix",
                            "backend": {"service": {"name": "web", "port": {"name": "http"}}},
                        }
                    ]
                },
            }
        ],
        **spec_overrides,
    }
    body = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": name,
            "namespace": environment.namespace,
            "labels": {"team": "payments", "tier": "frontend"},
            "annotations": {"example.com/owner": "payments", LAST_APPLIED: '{"kind":"Ingress"}'},
            "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": "web", "uid": web["metadata"]["uid"]}],
        },
        "spec": spec,
    }
    return kube.create_ingress(environment.namespace, body)


def _import(client, environment, name="legacy", kind="Ingress"):
    return client.post(reverse("routes:import", args=[environment.pk]), {"name": name, "kind": kind})


def _without_changes_of_the_console(obj: dict) -> dict:
    """The object minus what every write changes (version, generation, managedFields) and the console's labels."""
    obj = copy.deepcopy(obj)
    meta = obj["metadata"]
    for key in ("resourceVersion", "generation", "managedFields", "creationTimestamp", "uid"):
        meta.pop(key, None)
    meta["labels"] = {k: v for k, v in meta.get("labels", {}).items() if not k.startswith(("kubegems.io/", "app."))}
    obj.pop("status", None)
    return obj


def test_a_kubectl_ingress_survives_import_and_an_edit_except_for_the_field_edited(operator_client, environment, kube):
    before = _kubectl_ingress(environment, kube)
    response = _import(operator_client, environment)
    assert response.status_code == 302 and response["Location"].endswith("/legacy/")
    route = Route.objects.get(environment=environment, name="legacy")
    assert [(p.service, p.port) for p in route.paths.all()] == [("web", "http")]  # the name, not 80
    imported = kube.get_ingress(environment.namespace, "legacy")
    assert _without_changes_of_the_console(imported) == _without_changes_of_the_console(before)
    assert imported["metadata"]["labels"][manifest.LABEL_MANAGED_BY] == manifest.MANAGED_BY
    assert route.sync_with(imported) == drift.Sync.IN_SYNC  # kept fields are not drift
    detail = operator_client.get(reverse("routes:detail", args=[environment.pk, "legacy"])).content.decode()
    assert "Kept from the imported object" in detail and "metadata.labels.tier" in detail

    edit_url = reverse("routes:edit", args=[environment.pk, "legacy"])
    form = operator_client.get(edit_url).content.decode()
    assert "Saving keeps 4 fields of the object that this form does not show." in form
    assert "metadata.labels.team" in form and "metadata.ownerReferences" in form
    data = route_data(
        tenant_gateway(environment),
        name="legacy",
        host="legacy.acme.example.com",
        **{
            "paths-0-path": "/shop",
            "paths-0-port": "http",
            "annotations-0-key": "example.com/owner",
            "annotations-0-value": "payments",
        },
    )
    response = operator_client.post(edit_url, data)
    assert response.status_code == 302, response.content.decode()[:1500]
    edited = kube.get_ingress(environment.namespace, "legacy")
    expected = _without_changes_of_the_console(before)
    expected["spec"]["rules"][0]["http"]["paths"][0]["path"] = "/shop"
    assert _without_changes_of_the_console(edited) == expected


def test_an_edit_that_removes_a_form_annotation_removes_it_and_keeps_the_rest(operator_client, environment, kube):
    _kubectl_ingress(environment, kube)
    _import(operator_client, environment)
    data = route_data(
        tenant_gateway(environment), name="legacy", host="legacy.acme.example.com", **{"paths-0-port": "http"}
    )
    response = operator_client.post(reverse("routes:edit", args=[environment.pk, "legacy"]), data)
    assert response.status_code == 302
    meta = kube.get_ingress(environment.namespace, "legacy")["metadata"]
    assert "example.com/owner" not in meta["annotations"]  # the form showed it; the user removed it
    assert meta["annotations"][LAST_APPLIED] == '{"kind":"Ingress"}'
    assert meta["labels"]["team"] == "payments"


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        (
            {
                "rules": [
                    {"host": "a.acme.example.com", "http": {"paths": [_PATH]}},
                    {"host": "b.acme.example.com", "http": {"paths": [_PATH]}},
                ]
            },
            "exactly one rule",
        ),
        ({"defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}}, "no default backend"),
        (
            {"tls": [{"hosts": ["legacy.acme.example.com", "other.acme.example.com"], "secretName": "demo-tls"}]},
            "also for other.acme.example.com",
        ),
        (
            {"tls": [{"hosts": ["legacy.acme.example.com"]}, {"hosts": ["legacy.acme.example.com"]}]},
            "one TLS certificate",
        ),
    ],
)
def test_an_object_the_form_cannot_represent_is_refused_whole(operator_client, environment, kube, spec, reason):
    before = _kubectl_ingress(environment, kube, **spec)
    response = _import(operator_client, environment)
    assert response.status_code == 302 and response["Location"] == reverse("routes:list", args=[environment.pk])
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any(reason in m and "cannot be imported" in m for m in messages), messages
    assert not Route.objects.filter(environment=environment, name="legacy").exists()
    after = kube.get_ingress(environment.namespace, "legacy")
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


def test_take_over_reads_the_kept_fields_again(operator_client, environment, kube):
    _kubectl_ingress(environment, kube)
    _import(operator_client, environment)
    live = kube.get_ingress(environment.namespace, "legacy")
    live["metadata"]["labels"]["cost-centre"] = "42"
    kube.replace_route_object("Ingress", environment.namespace, "legacy", live)
    response = operator_client.post(reverse("routes:takeover", args=[environment.pk, "legacy"]))
    assert response.status_code == 302
    route = Route.objects.get(environment=environment, name="legacy")
    assert route.kept["labels"] == {"team": "payments", "tier": "frontend", "cost-centre": "42"}
    assert route.sync_with(kube.get_ingress(environment.namespace, "legacy")) == drift.Sync.IN_SYNC


def test_a_gateway_api_route_keeps_its_labels_through_an_edit(operator_client, environment, kube, gateway_api):
    edge = gateway_api_gateway(environment, kube)
    body = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "legacy", "namespace": environment.namespace, "labels": {"team": "payments"}},
        "spec": {
            "parentRefs": [{"namespace": "platform", "name": edge.gateway_name, "sectionName": "http"}],
            "hostnames": ["legacy.edge.example.com"],
            "rules": [{"backendRefs": [{"name": "web", "port": 80}]}],
        },
    }
    kube.create_gateway_route("HTTPRoute", environment.namespace, body)
    assert _import(operator_client, environment, kind="HTTPRoute").status_code == 302
    data = route_data(edge, name="legacy", host="legacy.edge.example.com", **{"paths-0-path": "/shop"})
    response = operator_client.post(reverse("routes:edit", args=[environment.pk, "legacy"]), data)
    assert response.status_code == 302, response.content.decode()[:1500]
    live = kube.get_route_object("HTTPRoute", environment.namespace, "legacy")
    assert live["metadata"]["labels"]["team"] == "payments"
    assert live["spec"]["rules"][0]["matches"][0]["path"]["value"] == "/shop"


def test_kept_fields_are_what_the_form_does_not_manage():
    obj = {
        "metadata": {
            "labels": {manifest.LABEL_ROUTE: "x", manifest.LABEL_MANAGED_BY: "kubegems-routes", "team": "a"},
            "annotations": {"nginx.org/rewrites": "x", LAST_APPLIED: "{}"},
            "finalizers": ["example.com/hold"],
            "uid": "u",
        }
    }
    assert kept_from(obj) == {
        "labels": {"team": "a"},
        "annotations": {LAST_APPLIED: "{}"},
        "metadata": {"finalizers": ["example.com/hold"]},
    }
    spec = manifest.RouteSpec(
        name="x",
        namespace="n",
        host="h.example.com",
        protocol="http",
        ingress_class="c",
        backends=(manifest.Backend("/", "web", "80"),),
        labels={"team": "ours"},
        kept={"labels": {"team": "theirs", "tier": "web"}, "metadata": {"finalizers": ["f"]}},
    )
    meta = manifest.build(spec)["metadata"]
    assert meta["labels"] == {"team": "ours", "tier": "web"} and meta["finalizers"] == ["f"]
