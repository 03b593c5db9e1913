"""Gateways in Django admin, and the access helper every view goes through."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kubegems_routes.gateways.models import Gateway
from kubegems_routes.tenancy.models import EnvironmentMember, Tenant, TenantMember
from tests.helpers import create_route, create_url, default_gateway, route_data, tenant_gateway

pytestmark = pytest.mark.django_db


def _gateway_form(cluster, tenant, **overrides):
    data = {
        "cluster": cluster.pk,
        "tenant": tenant.pk,
        "name": "edge",
        "kind": "ingress",
        "ingress_class": "",
        "default_domain": "*.edge.io",
        "http2": "on",
        "annotations-TOTAL_FORMS": "1",
        "annotations-INITIAL_FORMS": "0",
        "annotations-MIN_NUM_FORMS": "0",
        "annotations-MAX_NUM_FORMS": "1000",
        "annotations-0-key": "nginx.org/proxy-read-timeout",
        "annotations-0-value": "30s",
    }
    data.update(overrides)
    return data


def test_admin_gateway_defaults_class_and_creates_it_in_the_cluster(admin_client, environment, kube):
    response = admin_client.post(
        reverse("admin:gateways_gateway_add"), _gateway_form(environment.cluster, environment.project.tenant)
    )
    assert response.status_code == 302, response.content.decode()[-3000:]
    gateway = Gateway.objects.get(name="edge")
    assert gateway.ingress_class == "edge-acme"
    assert gateway.annotation_dict() == {"nginx.org/proxy-read-timeout": "30s"}
    stored = kube.request("GET", "/apis/networking.k8s.io/v1/ingressclasses/edge-acme")
    assert stored["spec"]["controller"] == "nginx.org/ingress-controller"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("default_domain", "edge.io"),
        ("default_domain", "e*.edge.io"),
        ("name", "Edge"),
        ("annotations-0-key", "bad key"),
    ],
)
def test_admin_gateway_validation(field, value, admin_client, environment):
    response = admin_client.post(
        reverse("admin:gateways_gateway_add"),
        _gateway_form(environment.cluster, environment.project.tenant, **{field: value}),
    )
    assert response.status_code == 200
    assert not Gateway.objects.filter(name__iexact="edge").exists()
    # The error is on the field that was wrong, not elsewhere.
    if field.startswith("annotations-"):
        rows = response.context["inline_admin_formsets"][0].formset.forms
        assert list(rows[0].errors) == ["key"]
    else:
        # A bad name also makes the ingress class derived from it (edge-acme) invalid: both are said.
        assert field in response.context["adminform"].form.errors


def test_default_gateway_cannot_be_deleted(admin_client, environment):
    gateway = default_gateway(environment)
    response = admin_client.post(reverse("admin:gateways_gateway_delete", args=[gateway.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert Gateway.objects.filter(pk=gateway.pk).exists()


def test_admin_gateway_list_counts_routes(admin_client, operator_client, environment):
    create_route(operator_client, environment, name="one", host="one.acme.example.com")
    create_route(operator_client, environment, name="two", host="two.acme.example.com")
    response = admin_client.get(reverse("admin:gateways_gateway_changelist"))
    assert response.status_code == 200
    counts = {g.name: g._route_count for g in response.context["cl"].result_list}
    assert counts == {"default-gateway": 0, "public": 2}


def test_cluster_credentials_are_never_rendered_back(admin_client, environment):
    response = admin_client.get(reverse("admin:tenancy_cluster_change", args=[environment.cluster.pk]))
    assert "client-key-data" not in response.content.decode()


def test_tenant_sees_own_and_default_gateways_only(operator_client, environment):
    other = Tenant.objects.create(name="other")
    Gateway.objects.create(cluster=environment.cluster, tenant=other, name="secret-gw", default_domain="*.o.io")
    body = operator_client.get(create_url(environment)).content.decode()
    assert "default-gateway" in body and "public" in body and "secret-gw" not in body


def test_other_tenants_gateway_cannot_be_posted(operator_client, environment):
    other = Tenant.objects.create(name="other")
    foreign = Gateway.objects.create(cluster=environment.cluster, tenant=other, name="theirs", default_domain="*.o.io")
    response = operator_client.post(create_url(environment), route_data(foreign))
    assert "gateway" in response.context["form"].errors


def test_member_of_another_tenant_gets_404(client, django_user_model, environment):
    outsider = django_user_model.objects.create_user("mallory", password="pw")
    TenantMember.objects.create(tenant=Tenant.objects.create(name="other"), user=outsider, role="admin")
    client.force_login(outsider)
    for url in [
        reverse("workbench:environment", args=[environment.pk]),
        reverse("routes:list", args=[environment.pk]),
        create_url(environment),
    ]:
        assert client.get(url).status_code == 404
    assert "dev" not in client.get(reverse("workbench:environments")).content.decode().split("<main")[1]


def test_reader_may_read_but_not_write(client, django_user_model, environment):
    reader = django_user_model.objects.create_user("rita", password="pw")
    EnvironmentMember.objects.create(environment=environment, user=reader, role="reader")
    client.force_login(reader)
    listing = client.get(reverse("routes:list", args=[environment.pk]))
    assert listing.status_code == 200 and "Create route" not in listing.content.decode()
    assert client.get(create_url(environment)).status_code == 403
    assert client.post(create_url(environment), route_data(tenant_gateway(environment))).status_code == 403


def test_anonymous_is_sent_to_login(client, environment):
    response = client.get(reverse("routes:list", args=[environment.pk]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_cluster_credentials_are_encrypted_at_rest(environment):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT kubeconfig FROM tenancy_cluster WHERE id = %s", [environment.cluster.pk])
        (stored,) = cursor.fetchone()
    assert stored.startswith("enc:v1:") and "client-key-data" not in stored
    environment.cluster.refresh_from_db()
    assert "client-key-data" in environment.cluster.kubeconfig
