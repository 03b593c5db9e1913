"""The cluster cache's Gateway API kinds against the real API server: HTTPRoutes and GRPCRoutes indexed by
Gateway and host, Gateways and Namespaces for allowedRoutes, the save's calls, and a cluster without the CRDs."""

from __future__ import annotations

import uuid

import pytest
import yaml

from kubegems_routes.controlplane.gatewayapi import ensure_crds
from kubegems_routes.controlplane.objects import apply_crd, crd_established, ensure_namespace
from kubegems_routes.controlplane.server import ControlPlane
from kubegems_routes.gateways.models import Gateway
from kubegems_routes.kube.cache import ClusterCache, ParentRef, _gateway_route_keys, slim_gateway_route
from kubegems_routes.kube.client import KubeClient
from kubegems_routes.routes.models import Route
from kubegems_routes.tenancy.models import Cluster, Environment, Project, Tenant
from tests.helpers import (
    create_url,
    gateway_listener,
    gateway_manifest,
    put_gateway,
    route_data,
    synced,
    until,
)
from tests.kube_calls import record_calls

pytestmark = pytest.mark.django_db

ROUTES = "/apis/gateway.networking.k8s.io/v1/namespaces/{ns}/{resource}"


def _route(kube: KubeClient, namespace: str, name: str, gateway: str, kind: str = "HTTPRoute", **spec: object) -> None:
    namespace_of_gateway, _slash, gateway_name = gateway.partition("/")
    parent = {"namespace": namespace_of_gateway, "name": gateway_name, **spec.pop("parent", {})}
    body = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"parentRefs": [parent], **spec},
    }
    kube.create_gateway_route(kind, namespace, body)


def _names(records) -> set[str]:
    return {r.name for r in records or []}


# -- slim records and their index (pure) ----------------------------------------------------


def test_a_route_record_keeps_its_gateways_hostnames_and_paths():
    record = slim_gateway_route(
        {
            "metadata": {"namespace": "shop", "name": "web", "labels": {"app.kubernetes.io/managed-by": "me"}},
            "spec": {
                "parentRefs": [
                    {"name": "edge", "sectionName": "https"},  # the route's own namespace
                    {"namespace": "platform", "name": "shared", "kind": "Gateway"},
                    {"group": "", "kind": "Service", "name": "mesh"},  # not a Gateway: left out
                ],
                "hostnames": ["a.example.com", "*.example.com"],
                "rules": [
                    {"matches": [{"path": {"type": "PathPrefix", "value": "/api"}}]},
                    {"matches": [{"method": {"service": "grpc.health.v1.Health", "method": "Check"}}]},
                    {},  # no matches: everything
                ],
            },
        },
        "HTTPRoute",
    )
    assert record.parents == (ParentRef("shop", "edge", "https"), ParentRef("platform", "shared"))
    assert record.hostnames == ("a.example.com", "*.example.com")
    assert record.paths == ("/api", "/grpc.health.v1.Health/Check", "/")
    assert (record.kind, record.managed_by) == ("HTTPRoute", "me")
    keys = set(_gateway_route_keys(("shop", "web"), record))
    assert ("host", ("shop/edge", "a.example.com")) in keys
    assert ("parent", ("platform/shared", "example.com")) in keys  # a.example.com's parent domain
    assert ("host", ("platform/shared", "*.example.com")) in keys
    assert not any(name == "every-host" for name, _value in keys)
    bare = slim_gateway_route(
        {"metadata": {"namespace": "x", "name": "y"}, "spec": {"parentRefs": [{"name": "g"}]}}, "GRPCRoute"
    )
    assert set(_gateway_route_keys(("x", "y"), bare)) == {("namespace", "x"), ("every-host", "x/g")}
    assert bare.paths == ("/",)


@pytest.fixture
def edge(gateway_api, environment, kube) -> Gateway:
    """The tenant's Gateway API gateway on a Gateway admitting the environment's namespace by a label selector."""
    name = f"edge-{environment.namespace}"
    selector = {
        "from": "Selector",
        "selector": {
            "matchExpressions": [
                {"key": "kubernetes.io/metadata.name", "operator": "In", "values": [environment.namespace]}
            ]
        },
    }
    put_gateway(kube, gateway_manifest("platform", name, gateway_listener("http", namespaces=selector)))
    return Gateway.objects.create(
        cluster=environment.cluster,
        tenant=environment.project.tenant,
        name="edge",
        kind=Gateway.Kind.GATEWAY_API,
        gateway_namespace="platform",
        gateway_name=name,
        http_listener="http",
        default_domain="*.acme.example.com",
    )


def _gateway_api_synced(environment, edge):
    cache = synced(environment.cluster)
    assert cache.wait_gateway_api_synced(20), "the Gateway API caches did not sync"
    until(lambda: cache.gateway(edge.gateway_namespace, edge.gateway_name) is not None)
    until(lambda: cache.namespace_labels(environment.namespace) is not None)
    return cache


def test_routes_gateways_and_namespaces_are_cached_and_indexed(kube_cache, environment, edge, kube):
    cache = _gateway_api_synced(environment, edge)
    ns, scope = environment.namespace, f"platform/{edge.gateway_name}"
    _route(kube, ns, "exact", scope, hostnames=["a.x.example.com"], parent={"sectionName": "http"})
    _route(kube, ns, "everything", scope, kind="GRPCRoute")  # no hostnames: every host of the Gateway
    _route(kube, ns, "elsewhere", "platform/another", hostnames=["*.x.example.com"])
    until(lambda: _names(cache.gateway_routes_overlapping("platform/another", "b.x.example.com")) == {"elsewhere"})
    until(lambda: _names(cache.gateway_routes_overlapping(scope, "a.x.example.com")) == {"exact", "everything"})
    assert _names(cache.gateway_routes_overlapping(scope, "*.x.example.com")) == {"exact", "everything"}
    assert _names(cache.gateway_routes_overlapping(scope, "a.y.example.com")) == {"everything"}
    [exact] = [r for r in cache.gateway_routes_overlapping(scope, "a.x.example.com") if r.name == "exact"]
    assert (exact.kind, exact.namespace, exact.hostnames) == ("HTTPRoute", ns, ("a.x.example.com",))
    assert exact.parents == (ParentRef("platform", edge.gateway_name, "http"),)
    assert exact.paths == ("/",)

    gateway = cache.gateway("platform", edge.gateway_name)
    assert [(x.name, x.protocol, x.namespaces_from) for x in gateway.listeners] == [("http", "HTTP", "Selector")]
    assert cache.namespace_labels(ns)["kubernetes.io/metadata.name"] == ns

    kube.delete_gateway_route("HTTPRoute", ns, "exact")
    until(lambda: _names(cache.gateway_routes_overlapping(scope, "a.x.example.com")) == {"everything"})


def test_a_gateway_api_create_makes_as_many_cluster_calls_as_an_ingress_create(
    kube_cache, operator_client, environment, edge
):
    """One each, the create: host ownership, allowedRoutes (Gateway and Namespace labels) and named ports
    are read from the cache, and the check after the write waits for the cache to see it."""
    _gateway_api_synced(environment, edge)
    ns = environment.namespace
    public = Gateway.objects.get(cluster=environment.cluster, name="public")
    with record_calls() as ingress_calls:
        response = operator_client.post(create_url(environment), route_data(public, name="a"))
    assert response.status_code == 302, response.content.decode()[:2000]
    data = route_data(edge, name="b", host="b.acme.example.com", **{"paths-0-port": "http"})  # a name: resolved
    with record_calls() as gateway_calls:
        response = operator_client.post(create_url(environment), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert ingress_calls == [("POST", f"/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses")]
    assert gateway_calls == [("POST", ROUTES.format(ns=ns, resource="httproutes"))]


def test_an_httproute_created_a_moment_earlier_owns_the_host(kube_cache, operator_client, environment, edge, kube):
    """Written by another tenant just before the save: refused, even if the cache had not seen it yet."""
    _gateway_api_synced(environment, edge)
    scope = f"platform/{edge.gateway_name}"
    elsewhere = f"foreign-{environment.namespace}"[:63]
    ensure_namespace(kube, elsewhere)
    for i in range(5):
        host = f"race{i}.acme.example.com"
        _route(kube, elsewhere, f"theirs-{i}", scope, hostnames=[host])
        response = operator_client.post(create_url(environment), route_data(edge, name=f"mine-{i}", host=host))
        assert response.status_code == 200, f"round {i}: the save was accepted"
        assert "already served on this gateway for another tenant" in response.content.decode()
        assert not Route.objects.filter(name=f"mine-{i}").exists()
        names = [i["metadata"]["name"] for i in kube.list_gateway_routes("HTTPRoute", environment.namespace)]
        assert f"mine-{i}" not in names  # taken back if it was written before the second check


@pytest.mark.slow  # a control plane of its own, and the CRDs installed into it: about 40 s here
def test_the_cache_starts_without_gateway_api_and_picks_it_up_once_installed(kube_cache, admin_client, db):
    """A cluster without Gateway API's CRDs: Ingresses and Services are cached as ever; the Gateway API kinds
    stay idle (not synced: their readers fall back to the API server), a save on a Gateway API gateway says the
    Gateway does not exist there, and once the CRDs are installed the kinds are listed and followed."""
    from kubegems_routes.demo.seed import seed_cluster_objects
    from kubegems_routes.kube import cache as kube_cache_module

    with ControlPlane() as plane:
        kube = KubeClient.from_kubeconfig(plane.kubeconfig)
        cluster = Cluster.objects.create(name="plain", kubeconfig=yaml.safe_dump(plane.kubeconfig))
        cache = synced(cluster)
        idle = [*cache.gateway_routes.values(), cache.gateways]
        until(lambda: all(informer.absent for informer in idle), timeout=15)
        assert not any(informer.synced for informer in idle)
        assert cache.namespaces.wait_synced(10)
        assert cache.gateway_routes_overlapping("platform/edge", "a.example.com") is None

        namespace = f"p-{uuid.uuid4().hex[:8]}"
        tenant = Tenant.objects.create(name="plain")
        project = Project.objects.create(tenant=tenant, name="shop")
        environment = Environment.objects.create(project=project, cluster=cluster, name="dev", namespace=namespace)
        gateway = Gateway.objects.create(
            cluster=cluster,
            tenant=tenant,
            name="edge",
            kind=Gateway.Kind.GATEWAY_API,
            gateway_namespace="platform",
            gateway_name="edge",
            default_domain="*.plain.example.com",
        )
        seed_cluster_objects(cluster, namespace)
        response = admin_client.post(create_url(environment), route_data(gateway, host="a.plain.example.com"))
        assert response.status_code == 200
        assert "Gateway platform/edge does not exist in the cluster (or Gateway API is not installed there)" in str(
            response.context["form"].errors["gateway"]
        )

        # Installed later: a cache that looks again soon (the console's looks every 30 s) lists and follows.
        later = ClusterCache(KubeClient.from_kubeconfig(plane.kubeconfig), absent_retry=0.5).start()
        try:
            names = []
            for path in ensure_crds():
                crd = yaml.safe_load(path.read_text())
                apply_crd(kube, crd)
                names.append(crd["metadata"]["name"])
            until(lambda: all(crd_established(kube, name) for name in names), timeout=30)
            assert later.wait_gateway_api_synced(60)
            put_gateway(kube, gateway_manifest("platform", "edge"))
            until(lambda: later.gateway("platform", "edge") is not None, timeout=10)
        finally:
            later.stop()
            kube_cache_module.stop_all()
