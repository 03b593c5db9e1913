"""A gateway serves only the hosts its admins allowed; a tenant's granted domain is its alone."""

from __future__ import annotations

import uuid

import pytest
from django.core.exceptions import ValidationError

from kubegems_routes.controlplane.objects import ensure_namespace
from kubegems_routes.gateways.domains import host_refusal, under
from kubegems_routes.gateways.models import TenantDomain
from kubegems_routes.routes.models import Route
from kubegems_routes.tenancy.models import Environment, Project, Tenant
from tests.helpers import create_url, default_gateway, route_data, tenant_gateway

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("host", "domain", "expected"),
    [
        ("acme.com", "acme.com", True),
        ("a.b.acme.com", "acme.com", True),
        ("*.acme.com", "acme.com", True),
        ("*.com", "acme.com", True),  # matches acme.com itself
        ("notacme.com", "acme.com", False),
        ("acme.com.evil.io", "acme.com", False),
    ],
)
def test_a_tenant_domain_covers_the_name_and_everything_under_it(host, domain, expected):
    assert under(host, domain) is expected


@pytest.mark.parametrize("host", ["www.google.com", "localhost.localdomain", "*.example.com", "a.b.kubegems.io"])
def test_a_host_outside_the_shared_gateways_domains_is_refused(operator_client, environment, kube, host):
    shared = default_gateway(environment)
    response = operator_client.post(create_url(environment), route_data(shared, host=host))
    error = response.context["form"].errors["host"][0]
    assert "is not in a domain of gateway default-gateway" in error
    assert shared.default_domain in error
    assert not Route.objects.exists()
    assert kube.list_ingresses(environment.namespace) == []


def test_hosts_of_the_extra_domains_an_admin_lists_are_allowed(operator_client, environment, kube):
    gateway = tenant_gateway(environment)
    gateway.extra_domains = "*.shop.example.org\nwww.example.org\n"
    gateway.save()
    for name, host in [("a", "cart.shop.example.org"), ("b", "www.example.org"), ("c", "*.shop.example.org")]:
        response = operator_client.post(create_url(environment), route_data(gateway, name=name, host=host))
        assert response.status_code == 302, response.context["form"].errors
    response = operator_client.post(create_url(environment), route_data(gateway, name="d", host="api.example.org"))
    assert "api.example.org is not in a domain of gateway public" in response.context["form"].errors["host"][0]
    assert sorted(i["spec"]["rules"][0]["host"] for i in kube.list_ingresses(environment.namespace)) == [
        "*.shop.example.org",
        "cart.shop.example.org",
        "www.example.org",
    ]


def test_the_form_says_it_while_typing(operator_client, environment):
    from tests.helpers import action_url

    response = operator_client.post(
        action_url(environment, "gateway"),
        route_data(default_gateway(environment), host="www.google.com"),
        HTTP_HX_REQUEST="true",
    )
    assert "www.google.com is not in a domain of gateway default-gateway" in response.content.decode()


def _rival(environment: Environment) -> Environment:
    rival = Tenant.objects.create(name="rival")
    project = Project.objects.create(tenant=rival, name="web")
    return Environment.objects.create(
        project=project, cluster=environment.cluster, name="dev", namespace=f"rival-{uuid.uuid4().hex[:8]}"
    )


def test_a_tenant_domain_is_its_own_on_every_gateway_and_refused_to_others(
    operator_client, environment, django_user_model
):

    theirs = _rival(environment)
    TenantDomain.objects.create(cluster=environment.cluster, tenant=theirs.project.tenant, domain="rival.example.net")
    ours = environment.project.tenant
    TenantDomain.objects.create(cluster=environment.cluster, tenant=ours, domain="acme.example.net")
    shared = default_gateway(environment)

    # Ours on the shared gateway and on our own, at any depth, outside the gateways' domains.
    for name, gateway, host in [
        ("a", shared, "shop.acme.example.net"),
        ("b", tenant_gateway(environment), "api.v1.acme.example.net"),
    ]:
        response = operator_client.post(create_url(environment), route_data(gateway, name=name, host=host))
        assert response.status_code == 302, response.context["form"].errors

    # Theirs is refused to us, even where a gateway's own domains would allow it.
    shared.extra_domains = "*.rival.example.net"
    shared.save()
    for host in ["www.rival.example.net", "*.rival.example.net", "a.b.rival.example.net"]:
        response = operator_client.post(create_url(environment), route_data(shared, name="c", host=host))
        error = response.context["form"].errors["host"][0]
        assert "reserved for another tenant" in error
        assert "rival" not in error.replace(host, "")  # neither the tenant nor its other hosts are named

    # And ours is refused to them.
    assert host_refusal(shared, theirs.project.tenant_id, "shop.acme.example.net")
    assert not host_refusal(shared, theirs.project.tenant_id, "www.rival.example.net")


def test_overlapping_tenant_domains_are_refused_in_admin(environment):
    theirs = _rival(environment)
    TenantDomain.objects.create(cluster=environment.cluster, tenant=theirs.project.tenant, domain="example.net")
    overlapping = TenantDomain(cluster=environment.cluster, tenant=environment.project.tenant, domain="a.example.net")
    with pytest.raises(ValidationError) as caught:
        overlapping.full_clean()
    assert "another tenant" in str(caught.value)


def test_the_save_service_refuses_it_too(environment, operator):
    """The policy lives in the service, not only in the form."""
    from kubegems_routes.routes import manifest
    from kubegems_routes.routes.errors import HostNotAllowed
    from kubegems_routes.routes.saving import save_route
    from kubegems_routes.routes.values import RouteValues

    values = RouteValues(
        gateway=default_gateway(environment),
        host="www.google.com",
        protocol="http",
        tls_secret="",
        backends=(manifest.Backend(path="/", service="web", port="80"),),
    )
    with pytest.raises(HostNotAllowed):
        save_route(Route(environment=environment, name="shop"), values, operator)
    assert not Route.objects.exists()


def test_a_wildcard_probe_never_names_another_tenants_host(operator_client, environment, kube):
    """Probing with wildcards on a shared gateway learns "taken", never which host."""
    theirs = _rival(environment)
    ensure_namespace(kube, theirs.namespace)
    shared = default_gateway(environment)
    domain = f"{uuid.uuid4().hex[:8]}.example.com"
    shared.extra_domains = f"*.{domain}\n*.acc.{domain}"
    shared.save()
    from kubegems_routes.routes.claims import claim_for_route
    from kubegems_routes.routes.models import RoutePath
    from tests.helpers import ingress, until

    secret_host = f"payroll-admin.acc.{domain}"
    kube.create_ingress(
        theirs.namespace,
        ingress(theirs.namespace, name="theirs", host=secret_host, ingress_class=shared.ingress_class),
    )
    until(lambda: bool(kube.list_ingresses(theirs.namespace, cached=True)))
    claimed = Route.objects.create(environment=theirs, name="claimed", gateway=shared, host=f"hr.acc.{domain}")
    RoutePath.objects.create(route=claimed, path="/", service="web", port="80")
    assert claim_for_route(claimed, shared.ingress_class, claimed.host, replacing=False)

    for probe in [f"*.acc.{domain}", secret_host, f"hr.acc.{domain}"]:
        response = operator_client.post(create_url(environment), route_data(shared, host=probe))
        page = response.content.decode()
        assert "another tenant" in response.context["form"].errors["host"][0]
        for hidden in {secret_host, f"hr.acc.{domain}", theirs.namespace, "theirs", "claimed"} - {probe}:
            assert hidden not in page, (probe, hidden)
