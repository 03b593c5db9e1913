"""Several clusters at once: each has its own gateways, host ownership and cache; one going down spares the other."""

from __future__ import annotations

import time
import uuid

import pytest
import yaml
from django.urls import reverse

from kubegems_routes.controlplane.objects import ensure_namespace
from kubegems_routes.controlplane.server import ControlPlane, free_port
from kubegems_routes.demo.seed import seed_cluster_objects
from kubegems_routes.gateways.models import Gateway
from kubegems_routes.kube.client import KubeClient
from kubegems_routes.routes.models import Route
from kubegems_routes.tenancy.models import Cluster, Environment
from tests.helpers import create_url, ingress, route_data, synced, tenant_gateway

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def second_plane():
    with ControlPlane() as plane:
        yield plane


@pytest.fixture
def second_environment(environment, second_plane):
    """An environment of the same tenant and project in the second cluster."""
    cluster = Cluster.objects.create(name="second", kubeconfig=yaml.safe_dump(second_plane.kubeconfig))
    namespace = f"t2-{uuid.uuid4().hex[:10]}"
    env = Environment.objects.create(project=environment.project, cluster=cluster, name="prod", namespace=namespace)
    Gateway.objects.create(
        cluster=cluster,
        tenant=environment.project.tenant,
        name="public",
        ingress_class=f"public-{namespace}",
        default_domain="*.acme.example.com",
    )
    seed_cluster_objects(cluster, namespace)
    return env


def _names(client: KubeClient, namespace: str) -> list[str]:
    return sorted(item["metadata"]["name"] for item in client.list_ingresses(namespace))


@pytest.mark.slow
def test_two_clusters_serve_pages_and_saves_while_one_is_down(
    kube_cache, operator_client, environment, second_environment, second_plane, kube
):
    kube2 = KubeClient.from_kubeconfig(second_plane.kubeconfig)
    synced(environment.cluster)
    synced(second_environment.cluster)
    for env in (environment, second_environment):
        data = route_data(tenant_gateway(env), name="shop", host="shop.acme.example.com")
        assert operator_client.post(create_url(env), data).status_code == 302
    assert _names(kube, environment.namespace) == ["shop"]
    assert _names(kube2, second_environment.namespace) == ["shop"]
    assert kube.list_ingresses(second_environment.namespace) == []  # each route went to its own cluster

    second_plane.stop_apiserver()
    try:
        started = time.monotonic()
        # The first cluster keeps serving pages and saves, from its cache.
        listing = operator_client.get(reverse("routes:list", args=[environment.pk]))
        assert listing.status_code == 200 and "cannot be reached" not in listing.content.decode()
        data = route_data(tenant_gateway(environment), name="while-two-down", host="up.acme.example.com")
        assert operator_client.post(create_url(environment), data).status_code == 302
        assert "while-two-down" in _names(kube, environment.namespace)
        # The second cluster's pages say it cannot be reached; its saves are refused with the reason.
        listing = operator_client.get(reverse("routes:list", args=[second_environment.pk]))
        assert listing.status_code == 200 and "cannot be reached" in listing.content.decode()
        data = route_data(tenant_gateway(second_environment), name="while-down", host="down.acme.example.com")
        response = operator_client.post(create_url(second_environment), data)
        assert response.status_code == 200 and "could not save" in response.content.decode()
        assert not Route.objects.filter(name="while-down").exists()
        assert time.monotonic() - started < 30
    finally:
        second_plane.start_apiserver()

    # Back: the second cluster's cache resyncs and saves go through again.
    synced(second_environment.cluster, timeout=30)
    assert operator_client.post(create_url(second_environment), data).status_code == 302
    assert _names(kube2, second_environment.namespace) == ["shop", "while-down"]


@pytest.mark.slow
def test_host_ownership_is_per_cluster(kube_cache, operator_client, environment, second_environment, second_plane):
    """Another tenant's host in one cluster does not block the same host in another cluster."""
    kube2 = KubeClient.from_kubeconfig(second_plane.kubeconfig)
    elsewhere = f"x-{uuid.uuid4().hex[:10]}"
    ensure_namespace(kube2, elsewhere)
    gateway2 = tenant_gateway(second_environment)
    body = ingress(elsewhere, name="theirs", host="both.acme.example.com", ingress_class=gateway2.ingress_class)
    kube2.create_ingress(elsewhere, body)
    cache2 = synced(second_environment.cluster)
    data = route_data(gateway2, host="both.acme.example.com")
    response = operator_client.post(create_url(second_environment), data)
    assert "already served on this gateway for another tenant" in response.content.decode()
    assert cache2.ingresses_overlapping(gateway2.ingress_class, "both.acme.example.com")
    data = route_data(tenant_gateway(environment), host="both.acme.example.com")
    assert operator_client.post(create_url(environment), data).status_code == 302


def test_admin_checks_a_clusters_credentials_and_shows_its_version(admin_client, control_plane):
    url = reverse("admin:tenancy_cluster_add")
    response = admin_client.post(url, {"name": "checked", "kubeconfig": yaml.safe_dump(control_plane.kubeconfig)})
    assert response.status_code == 302, response.content.decode()[:2000]
    cluster = Cluster.objects.get(name="checked")
    followed = admin_client.get(response["Location"])
    assert "reachable, Kubernetes v1.37.2" in followed.content.decode()
    change = admin_client.get(reverse("admin:tenancy_cluster_change", args=[cluster.pk]))
    assert "reachable, Kubernetes v1.37.2" in change.content.decode()


def test_admin_refuses_credentials_that_reach_no_api_server(admin_client, control_plane):
    document = dict(control_plane.kubeconfig)
    nowhere = {**document["clusters"][0]["cluster"], "server": f"https://127.0.0.1:{free_port()}"}
    document["clusters"] = [{**document["clusters"][0], "cluster": nowhere}]
    response = admin_client.post(
        reverse("admin:tenancy_cluster_add"), {"name": "nowhere", "kubeconfig": yaml.safe_dump(document)}
    )
    assert response.status_code == 200
    assert "could not be reached with these credentials" in response.content.decode()
    assert not Cluster.objects.filter(name="nowhere").exists()
