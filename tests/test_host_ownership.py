"""A host served on a gateway belongs to whoever serves it, as the cluster says."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from kubegems_routes.controlplane.objects import ensure_namespace
from kubegems_routes.routes import manifest
from kubegems_routes.routes.models import Route
from kubegems_routes.routes.ownership import hosts_overlap
from kubegems_routes.tenancy.models import Environment
from tests.helpers import create_url, default_gateway, ingress, route_data, tenant_gateway, until

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("a", "b", "overlap"),
    [
        ("a.example.com", "a.example.com", True),
        ("*.example.com", "a.example.com", True),
        ("a.example.com", "*.example.com", True),
        ("*.example.com", "a.b.example.com", False),
        ("*.example.com", "*.example.com", True),
        ("a.example.com", "b.example.com", False),
        ("*.a.example.com", "*.example.com", False),
    ],
)
def test_hosts_overlap_like_ingress_wildcards(a, b, overlap):
    assert hosts_overlap(a, b) is overlap


@pytest.fixture
def other_namespace(kube) -> str:
    name = f"t-{uuid.uuid4().hex[:10]}"
    ensure_namespace(kube, name)
    return name


def _serve(kube, namespace, environment, host="shop.acme.example.com", path="/", ingress_class=None, name="theirs"):
    kube.create_ingress(
        namespace,
        ingress(
            namespace,
            name=name,
            host=host,
            ingress_class=ingress_class or tenant_gateway(environment).ingress_class,
            backends=(manifest.Backend(path=path, service="web", port="80"),),
        ),
    )
    until(lambda: any(i["metadata"]["name"] == name for i in kube.list_ingresses(namespace, cached=True)))


def test_host_served_from_an_unknown_namespace_is_refused(operator_client, environment, kube, other_namespace):
    _serve(kube, other_namespace, environment, path="/elsewhere")
    response = operator_client.post(create_url(environment), route_data(tenant_gateway(environment)))
    errors = response.context["form"].errors["host"]
    assert "another tenant" in errors[0]
    assert other_namespace not in errors[0]  # where another tenant lives is not disclosed
    assert not Route.objects.exists()
    assert kube.list_ingresses(environment.namespace) == []


def test_host_under_another_tenants_wildcard_is_refused(operator_client, environment, kube, other_namespace):
    _serve(kube, other_namespace, environment, host="*.acme.example.com")
    response = operator_client.post(create_url(environment), route_data(tenant_gateway(environment)))
    assert "host" in response.context["form"].errors


def test_same_host_on_another_gateway_is_allowed(operator_client, environment, kube, other_namespace):
    _serve(kube, other_namespace, environment, ingress_class="someone-elses-class")
    response = operator_client.post(create_url(environment), route_data(tenant_gateway(environment)))
    assert response.status_code == 302


def test_same_tenant_may_share_a_host_but_not_a_path(operator_client, environment, kube, other_namespace):
    Environment.objects.create(
        project=environment.project, cluster=environment.cluster, name="test", namespace=other_namespace
    )
    _serve(kube, other_namespace, environment, path="/api")
    gateway = tenant_gateway(environment)
    clash = route_data(gateway, **{"paths-0-path": "/api"})
    response = operator_client.post(create_url(environment), clash)
    assert "already served" in response.context["editor"].paths.forms[0].errors["path"][0]
    assert operator_client.post(create_url(environment), route_data(gateway)).status_code == 302


def test_editing_a_route_does_not_conflict_with_its_own_ingress(operator_client, environment):
    gateway = tenant_gateway(environment)
    assert operator_client.post(create_url(environment), route_data(gateway)).status_code == 302
    edit = reverse("routes:edit", args=[environment.pk, "shop"])
    assert operator_client.post(edit, route_data(gateway, protocol="ws")).status_code == 302


@pytest.mark.parametrize("their_host", ["shop.{domain}", "*.{domain}"])
def test_a_host_another_replica_just_saved_is_refused_before_the_cluster_cache_shows_it(
    operator_client, environment, their_host
):
    """The console's own saves claim their host in the database, so another replica sees them at once."""
    from kubegems_routes.routes.claims import claim_for_route
    from kubegems_routes.routes.models import RoutePath
    from kubegems_routes.tenancy.models import Project, Tenant

    domain = f"{uuid.uuid4().hex[:10]}.example.com"  # the shared class holds earlier tests' Ingresses
    rival = Tenant.objects.create(name="rival")
    project = Project.objects.create(tenant=rival, name="web")
    theirs = Environment.objects.create(project=project, cluster=environment.cluster, name="dev", namespace="rival-ns")
    # Saved by another replica, whose Ingress the watch cache does not show yet (here: not at all).
    shared = default_gateway(environment)
    shared.extra_domains = f"*.{domain}"
    shared.save()
    route = Route.objects.create(
        environment=theirs, name="theirs", gateway=shared, host=their_host.format(domain=domain)
    )
    RoutePath.objects.create(route=route, path="/", service="web", port="80")
    assert claim_for_route(route, shared.ingress_class, route.host, replacing=False)  # what that replica's save took

    response = operator_client.post(create_url(environment), route_data(shared, host=f"shop.{domain}"))
    assert "another tenant" in response.context["form"].errors["host"][0]
    assert not Route.objects.filter(environment=environment).exists()
