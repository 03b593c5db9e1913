"""Review before apply: the API server's dry run of a save, admission included, and nothing written."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from kubegems_routes.controlplane.objects import ensure_namespace
from kubegems_routes.kube.errors import KubeError
from kubegems_routes.routes.claims import HostClaim
from kubegems_routes.routes.models import AuditEntry, Route
from tests.helpers import (
    create_route,
    create_url,
    deny_ingress_operation,
    gateway_api_gateway,
    ingress,
    route_data,
    tenant_gateway,
    until,
)

pytestmark = pytest.mark.django_db


def _edit_url(environment, name="shop"):
    return reverse("routes:edit", args=[environment.pk, name])


def _review(client, url, data, **headers):
    return client.post(url, {**data, "_action": "review"}, **headers)


def test_reviewing_a_create_shows_the_whole_object_and_writes_nothing(operator_client, environment, kube):
    response = _review(operator_client, create_url(environment), route_data(tenant_gateway(environment)))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Review: what the cluster would store" in page
    assert "+  - host: shop.acme.example.com" in page  # every line added: there is no object yet
    assert "annotations: {}" not in page and "+annotations:" not in page  # it has none
    assert "Changed by the cluster's admission" not in page
    assert not Route.objects.exists() and not AuditEntry.objects.exists()
    assert kube.list_ingresses(environment.namespace) == []


def test_reviewing_an_edit_shows_only_the_change_against_the_live_object(operator_client, environment, kube):
    create_route(operator_client, environment)
    before = kube.get_ingress(environment.namespace, "shop")
    data = route_data(tenant_gateway(environment), **{"paths-0-path": "/shop"})
    response = _review(operator_client, _edit_url(environment), data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    page = response.content.decode()
    assert "<html" not in page  # the form's body only, as a save's answer
    assert "-        path: /\n+        path: /shop" in page
    assert f"Reviewed against the object at resourceVersion {before['metadata']['resourceVersion']}" in page
    after = kube.get_ingress(environment.namespace, "shop")
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert AuditEntry.objects.filter(action=AuditEntry.Action.UPDATE).count() == 0


def _mutate_ingresses(kube, namespace: str) -> str:
    """A MutatingAdmissionPolicy of the API server that stamps an annotation on every Ingress of the namespace."""
    name = f"stamp-{namespace}"
    rule = {"apiGroups": ["networking.k8s.io"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"]}
    kube.request(
        "POST",
        "/apis/admissionregistration.k8s.io/v1/mutatingadmissionpolicies",
        body={
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "MutatingAdmissionPolicy",
            "metadata": {"name": name},
            "spec": {
                "failurePolicy": "Fail",
                "reinvocationPolicy": "Never",
                "matchConstraints": {"resourceRules": [{**rule, "resources": ["ingresses"]}]},
                "matchConditions": [{"name": "ns", "expression": f"object.metadata.namespace == '{namespace}'"}],
                "mutations": [
                    {
                        "patchType": "ApplyConfiguration",
                        "applyConfiguration": {
                            "expression": (
                                'Object{metadata: Object.metadata{annotations: {"policy.example.com/stamped": "yes"}}}'
                            )
                        },
                    }
                ],
            },
        },
    )
    kube.request(
        "POST",
        "/apis/admissionregistration.k8s.io/v1/mutatingadmissionpolicybindings",
        body={
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "MutatingAdmissionPolicyBinding",
            "metadata": {"name": name},
            "spec": {"policyName": name},
        },
    )
    return name


def _eventually(check, timeout: float = 30) -> None:
    """Admission policies take effect a moment after they are created."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the admission policy did not take effect"
        time.sleep(0.2)


def test_a_mutating_policy_is_seen_in_the_review_before_saving(operator_client, environment, kube):
    _mutate_ingresses(kube, environment.namespace)
    url, data = create_url(environment), route_data(tenant_gateway(environment))
    pages: list[str] = []

    def stamped() -> bool:
        pages.append(_review(operator_client, url, data).content.decode())
        return "policy.example.com/stamped" in pages[-1]

    _eventually(stamped)
    page = pages[-1]
    assert "Changed by the cluster's admission" in page
    admission = page[page.index('id="review-admission"') :]
    assert "+  policy.example.com/stamped: &#x27;yes&#x27;" in admission
    assert kube.list_ingresses(environment.namespace) == []


def test_a_denying_policy_is_shown_on_the_review_as_a_save_shows_it(operator_client, environment, kube):
    namespace = environment.namespace
    deny_ingress_operation(
        kube,
        f"deny-create-{namespace}",
        "CREATE",
        f"object.metadata.namespace != '{namespace}' || object.spec.rules.all(r, !r.host.startsWith('shop.'))",
        "hosts named shop are reserved",
    )
    url, data = create_url(environment), route_data(tenant_gateway(environment))
    pages: list[str] = []

    def denied() -> bool:
        pages.append(_review(operator_client, url, data).content.decode())
        return "hosts named shop are reserved" in pages[-1]

    _eventually(denied)
    assert "Review: what the cluster would store" not in pages[-1]
    saved = operator_client.post(url, data).content.decode()
    assert "hosts named shop are reserved" in saved  # the save says the same
    assert not Route.objects.exists()
    assert kube.list_ingresses(namespace) == []


def test_a_save_after_a_review_is_refused_when_someone_else_changed_the_object(operator_client, environment, kube):
    create_route(operator_client, environment)
    form = operator_client.get(_edit_url(environment))
    reviewed_version = form.context["form"].initial["resource_version"]
    data = route_data(tenant_gateway(environment), resource_version=reviewed_version, **{"paths-0-path": "/v2"})
    reviewed = _review(operator_client, _edit_url(environment), data).content.decode()
    assert "Review: what the cluster would store" in reviewed
    # Another session changes the object in between.
    live = kube.get_ingress(environment.namespace, "shop")
    live["metadata"]["annotations"] = {"someone.example/else": "yes"}
    kube.replace_route_object("Ingress", environment.namespace, "shop", live)
    response = operator_client.post(_edit_url(environment), data)
    assert response.status_code == 200
    assert "changed by someone else" in response.content.decode()
    after = kube.get_ingress(environment.namespace, "shop")
    assert after["metadata"]["annotations"] == {"someone.example/else": "yes"}
    assert after["spec"]["rules"][0]["http"]["paths"][0]["path"] == "/"


def test_a_review_over_a_stale_version_is_a_conflict_too(operator_client, environment, kube):
    create_route(operator_client, environment)
    stale = kube.get_ingress(environment.namespace, "shop")["metadata"]["resourceVersion"]
    live = kube.get_ingress(environment.namespace, "shop")
    live["metadata"]["labels"]["extra"] = "1"
    kube.replace_route_object("Ingress", environment.namespace, "shop", live)
    data = route_data(tenant_gateway(environment), resource_version=stale)
    page = _review(operator_client, _edit_url(environment), data).content.decode()
    assert "changed by someone else" in page


def test_reviewing_a_gateway_api_route(operator_client, environment, kube, gateway_api):
    edge = gateway_api_gateway(environment, kube)
    data = route_data(edge, host="shop.edge.example.com")
    page = _review(operator_client, create_url(environment), data).content.decode()
    assert "The API server would accept the new HTTPRoute" in page
    assert "shop.edge.example.com" in page
    with pytest.raises(KubeError):
        kube.get_route_object("HTTPRoute", environment.namespace, "shop")


def test_a_review_is_refused_for_a_host_another_tenant_serves(operator_client, environment, kube):
    other = f"{environment.namespace}-x"
    ensure_namespace(kube, other)
    theirs = ingress(
        other, name="theirs", host="shop.acme.example.com", ingress_class=tenant_gateway(environment).ingress_class
    )
    kube.create_ingress(other, theirs)
    until(lambda: any(i["metadata"]["name"] == "theirs" for i in kube.list_ingresses(other, cached=True)))
    page = _review(operator_client, create_url(environment), route_data(tenant_gateway(environment))).content.decode()
    assert "already served on this gateway for another tenant" in page
    assert not HostClaim.objects.exists()  # the review's claim was taken back


def test_a_refusal_with_field_causes_lands_on_the_field_in_the_review(operator_client, environment, kube, gateway_api):
    """ "/a//b" is refused by Gateway API's CEL rules (422 with the field): the review puts it on the path row."""
    edge = gateway_api_gateway(environment, kube)
    data = route_data(edge, host="shop.edge.example.com", **{"paths-0-path": "/a//b"})
    response = _review(operator_client, create_url(environment), data)
    assert response.status_code == 200
    editor = response.context["editor"]
    assert editor.paths.forms[0].errors.get("path"), editor.errors()
    assert response.context["review"] is None
    saved = operator_client.post(create_url(environment), data)
    assert saved.context["editor"].paths.forms[0].errors.get("path") == editor.paths.forms[0].errors.get("path")
    assert not Route.objects.exists()
