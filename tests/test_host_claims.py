"""Host claims in the database: one tenant per host on a gateway's class, wildcards included, released with routes."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.urls import reverse

from kubegems_routes.routes.claims import HostClaim, claim, release_unused
from kubegems_routes.routes.models import Route
from kubegems_routes.tenancy.models import Cluster, Tenant
from tests.helpers import create_route, create_url, route_data, tenant_gateway

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_tenants(db):
    cluster = Cluster.objects.create(name="c1", kubeconfig="clusters: [x]")
    return cluster, Tenant.objects.create(name="acme"), Tenant.objects.create(name="globex")


def _claim(cluster, tenant, host, ingress_class="public"):
    with transaction.atomic():
        return claim(cluster.pk, tenant.pk, ingress_class, host)


def test_one_tenant_per_host_and_class(two_tenants):
    cluster, acme, globex = two_tenants
    assert _claim(cluster, acme, "shop.example.com")
    assert _claim(cluster, acme, "shop.example.com")  # the same tenant again: its claim holds
    assert not _claim(cluster, globex, "shop.example.com")
    assert _claim(cluster, globex, "shop.example.com", ingress_class="other")  # another class is another gateway
    assert HostClaim.objects.filter(host="shop.example.com").count() == 2


@pytest.mark.parametrize(
    ("first", "second", "overlap"),
    [
        ("*.example.com", "a.example.com", True),
        ("a.example.com", "*.example.com", True),
        ("*.example.com", "a.b.example.com", False),  # a wildcard covers one label only
        ("a.example.com", "b.example.com", False),
    ],
)
def test_wildcards_overlap_one_label(two_tenants, first, second, overlap):
    cluster, acme, globex = two_tenants
    assert _claim(cluster, acme, first)
    assert _claim(cluster, globex, second) is not overlap


def test_claims_go_with_the_last_route_on_the_host(two_tenants):
    cluster, acme, globex = two_tenants
    _claim(cluster, acme, "shop.example.com")
    release_unused(cluster.pk, acme.pk)  # no route of acme uses it
    assert not HostClaim.objects.exists()
    assert _claim(cluster, globex, "shop.example.com")


def test_saving_claims_the_host_and_edits_and_deletes_let_go(operator_client, environment):
    gateway = tenant_gateway(environment)
    tenant = environment.project.tenant
    create_route(operator_client, environment, host="first.acme.example.com")
    assert list(HostClaim.objects.values_list("host", "tenant", "ingress_class")) == [
        ("first.acme.example.com", tenant.pk, gateway.ingress_class)
    ]
    edit = reverse("routes:edit", args=[environment.pk, "shop"])
    assert operator_client.post(edit, route_data(gateway, host="second.acme.example.com")).status_code == 302
    assert list(HostClaim.objects.values_list("host", flat=True)) == ["second.acme.example.com"]
    operator_client.post(reverse("routes:delete", args=[environment.pk, "shop"]))
    assert not HostClaim.objects.exists()


def test_another_tenants_claim_refuses_the_host(operator_client, environment):
    """A claim with no Ingress behind it yet (another tenant's save in flight) is enough to refuse."""
    rival = Tenant.objects.create(name="rival")
    gateway = tenant_gateway(environment)
    HostClaim.objects.create(
        cluster=environment.cluster, ingress_class=gateway.ingress_class, host="taken.acme.example.com", tenant=rival
    )
    response = operator_client.post(create_url(environment), route_data(gateway, host="taken.acme.example.com"))
    assert response.status_code == 200
    assert "already served on this gateway for another tenant" in response.content.decode()
    assert not Route.objects.exists()
