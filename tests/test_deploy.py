"""deploy/ is valid, and its RBAC is the least privilege that works.

Every manifest passes a server-side dry run on the local API server. The RBAC
is then applied for real, a token is minted for the console's ServiceAccount
with the TokenRequest API, and the console runs with in-cluster credentials
(that token, the control plane's CA, KUBERNETES_SERVICE_HOST/PORT) through the
whole flow; then what that identity cannot do, and that removing one
permission breaks the flow.
"""

from __future__ import annotations

import base64
import copy
import uuid
from urllib.parse import urlparse

import pytest
from django.urls import reverse

from kubegems_routes.controlplane.objects import ensure_namespace
from kubegems_routes.demo.seed import seed_cluster_objects
from kubegems_routes.gateways.models import Gateway
from kubegems_routes.kube import cache as kube_cache_module
from kubegems_routes.kube.client import KubeClient
from kubegems_routes.kube.errors import AlreadyExists, Forbidden, NotFound
from kubegems_routes.routes import manifest
from kubegems_routes.routes.models import Route
from kubegems_routes.tenancy.models import Cluster, Environment, Project, TenantMember
from tests.helpers import (
    action_url,
    gateway_listener,
    gateway_manifest,
    ingress,
    put_endpoint_slice,
    put_gateway,
    route_data,
    until,
)
from tests.kube_calls import record_calls
from tests.kustomize import KustomizeMissing, render

pytestmark = pytest.mark.django_db

NAMESPACE = "kubegems-routes"
SERVICE_ACCOUNT = "kubegems-routes"

COLLECTIONS = {
    "Namespace": "/api/v1/namespaces",
    "ServiceAccount": "/api/v1/namespaces/{ns}/serviceaccounts",
    "ConfigMap": "/api/v1/namespaces/{ns}/configmaps",
    "Secret": "/api/v1/namespaces/{ns}/secrets",
    "Service": "/api/v1/namespaces/{ns}/services",
    "Deployment": "/apis/apps/v1/namespaces/{ns}/deployments",
    "PodDisruptionBudget": "/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets",
    "ClusterRole": "/apis/rbac.authorization.k8s.io/v1/clusterroles",
    "ClusterRoleBinding": "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
    "RoleBinding": "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings",
}


def _render(path: str) -> list[dict]:
    try:
        return render(path)
    except KustomizeMissing as exc:
        pytest.fail(str(exc), pytrace=False)


def _collection(obj: dict) -> str:
    return COLLECTIONS[obj["kind"]].format(ns=obj["metadata"].get("namespace", ""))


def _apply(kube: KubeClient, obj: dict, *, dry_run: bool = False) -> dict:
    """Create, or replace what is there; with dry_run the API server validates and stores nothing."""
    query = {"dryRun": "All"} if dry_run else None
    path = _collection(obj)
    try:
        return kube.request("POST", path, query=query, body=obj)
    except AlreadyExists:
        name_path = f"{path}/{obj['metadata']['name']}"
        current = kube.request("GET", name_path)
        body = copy.deepcopy(obj)
        body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        return kube.request("PUT", name_path, query=query, body=body)


def _in_namespace(objects: list[dict], namespace: str) -> list[dict]:
    moved = copy.deepcopy(objects)
    for obj in moved:
        obj["metadata"]["namespace"] = namespace
    return moved


def _allowed(client: KubeClient, verb: str, resource: str, namespace: str = "", group: str = "") -> bool:
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"namespace": namespace, "verb": verb, "group": group, "resource": resource}},
    }
    answer = client.request("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body=review)
    return bool(answer["status"].get("allowed"))


# -- the manifests -----------------------------------------------------------


def test_every_manifest_passes_a_server_side_dry_run(kube):
    base = _render("deploy/base")
    kinds = sorted({obj["kind"] for obj in base})
    assert kinds == sorted(COLLECTIONS.keys() - {"RoleBinding"})
    namespace = next(obj for obj in base if obj["kind"] == "Namespace")
    _apply(kube, namespace, dry_run=True)
    _apply(kube, namespace)  # namespaced objects are dry-run into an existing namespace
    for obj in base:
        stored = _apply(kube, obj, dry_run=True)
        assert stored["metadata"]["name"] == obj["metadata"]["name"]
    for obj in _render("deploy/environment"):
        ensure_namespace(kube, obj["metadata"]["namespace"])
        _apply(kube, obj, dry_run=True)
    with pytest.raises(NotFound):  # a dry run stores nothing
        kube.request("GET", f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/kubegems-routes")


def test_the_pod_passes_the_restricted_pod_security_standard(kube):
    """Its namespace enforces `restricted`; a dry-run Pod from the template is admitted, a root one is not."""
    base = _render("deploy/base")
    _apply(kube, next(obj for obj in base if obj["kind"] == "Namespace"))
    template = next(obj for obj in base if obj["kind"] == "Deployment")["spec"]["template"]
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "console", **template["metadata"]}}
    pod["spec"] = template["spec"]
    path = f"/api/v1/namespaces/{NAMESPACE}/pods"
    assert kube.request("POST", path, query={"dryRun": "All"}, body=pod)["metadata"]["name"] == "console"
    rooted = copy.deepcopy(pod)
    rooted["spec"]["securityContext"] = {"runAsUser": 0}
    with pytest.raises(Forbidden, match="restricted"):
        kube.request("POST", path, query={"dryRun": "All"}, body=rooted)


def test_the_deployment_runs_unprivileged_with_probes_and_its_image_from_kustomize():
    deployment = next(obj for obj in _render("deploy/base") if obj["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == SERVICE_ACCOUNT
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    for container in pod["initContainers"] + pod["containers"]:
        assert container["image"] == "localhost/kubegems-routes:0.1.0"  # what `make image` tags
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["resources"]["requests"]
    console = pod["containers"][0]
    assert console["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert console["readinessProbe"]["httpGet"]["path"] == "/readyz"
    # Static files and translation catalogs are built into the image: migrating is the only init step.
    assert [c["command"][2:4] for c in pod["initContainers"]] == [["migrate_locked", "--noinput"]]


# -- the console under its ServiceAccount ------------------------------------


@pytest.fixture(scope="module")
def service_account(control_plane, tmp_path_factory) -> dict[str, str]:
    """The shipped RBAC applied, and the files a pod's ServiceAccount mount would hold."""
    admin = KubeClient.from_kubeconfig(control_plane.kubeconfig)
    for obj in _render("deploy/base"):
        if obj["kind"] in {"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding"}:
            _apply(admin, obj)
    token_request = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {"expirationSeconds": 3600},
    }
    minted = admin.request(
        "POST", f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts/{SERVICE_ACCOUNT}/token", body=token_request
    )
    folder = tmp_path_factory.mktemp("serviceaccount")
    (folder / "token").write_text(minted["status"]["token"])
    cluster = control_plane.kubeconfig["clusters"][0]["cluster"]
    (folder / "ca.crt").write_bytes(base64.b64decode(cluster["certificate-authority-data"]))
    server = urlparse(cluster["server"])
    return {
        "token": str(folder / "token"),
        "ca": str(folder / "ca.crt"),
        "host": server.hostname,
        "port": str(server.port),
    }


@pytest.fixture
def in_cluster(service_account, settings, monkeypatch) -> None:
    """The console reads in-cluster credentials from where the pod would have them."""
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", service_account["host"])
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", service_account["port"])
    settings.KUBE_IN_CLUSTER_TOKEN_FILE = service_account["token"]
    settings.KUBE_IN_CLUSTER_CA_FILE = service_account["ca"]


def _bind_environment(kube: KubeClient, namespace: str, *, secret_picker: bool = True) -> None:
    for obj in _in_namespace(_render("deploy/environment"), namespace):
        if secret_picker or obj["roleRef"]["name"] != "kubegems-routes-secret-picker":
            _apply(kube, obj)


@pytest.fixture
def sa_environment(in_cluster, cluster, tenant, kube) -> Environment:
    """An environment on a cluster registered with in-cluster credentials, its namespace bound by deploy/environment."""
    namespace = f"sa-{uuid.uuid4().hex[:10]}"
    seed_cluster_objects(cluster, namespace)  # as the platform team would: Services web and api, Secret demo-tls
    sa_cluster = Cluster.objects.create(name="in-cluster", in_cluster=True)
    project = Project.objects.create(tenant=tenant, name="shop")
    environment = Environment.objects.create(project=project, cluster=sa_cluster, name="dev", namespace=namespace)
    Gateway.objects.create(
        cluster=sa_cluster,
        tenant=tenant,
        name="public",
        ingress_class=f"public-{namespace}",
        default_domain="*.acme.example.com",
    )
    return environment


@pytest.fixture
def sa_client(sa_environment) -> KubeClient:
    return sa_environment.cluster.client()


@pytest.fixture
def sa_user_client(client, django_user_model, sa_environment):
    user = django_user_model.objects.create_user("olivia", password="pw")
    TenantMember.objects.create(tenant=sa_environment.project.tenant, user=user, role=TenantMember.Role.ADMIN)
    client.force_login(user)
    return client


def _bound(kube, sa_client, namespace, *, secret_picker=True) -> None:
    _bind_environment(kube, namespace, secret_picker=secret_picker)
    until(lambda: _allowed(sa_client, "create", "ingresses", namespace, "networking.k8s.io"))


def _create(client, environment, name, protocol="http", **overrides):
    gateway = Gateway.objects.get(cluster=environment.cluster, tenant=environment.project.tenant)
    data = route_data(
        gateway,
        name=name,
        host=f"{name}.acme.example.com",
        protocol=protocol,
        tls_secret="demo-tls" if manifest.needs_tls(protocol) else "",
        **overrides,
    )
    return client.post(reverse("routes:create", args=[environment.pk]), data)


def test_the_whole_flow_works_under_the_shipped_rbac(sa_user_client, sa_environment, sa_client, kube):
    env, ns = sa_environment, sa_environment.namespace
    _bound(kube, sa_client, ns)
    gateway = Gateway.objects.get(cluster=env.cluster, tenant=env.project.tenant)
    sa_client.ensure_ingress_class(gateway.ingress_class)  # what saving a gateway in admin does

    listing = sa_user_client.get(reverse("routes:list", args=[env.pk]))
    assert listing.status_code == 200 and listing.context["cluster_error"] == ""

    form = sa_user_client.get(reverse("routes:create", args=[env.pk]))
    assert form.context["services_error"] == ""
    ports = sa_user_client.post(
        action_url(env, "service"), route_data(gateway, row="0", **{"paths-0-port": ""}), HTTP_HX_REQUEST="true"
    )
    assert 'value="80"' in ports.content.decode()
    secrets = sa_user_client.get(reverse("routes:secrets", args=[env.pk]))
    assert "demo-tls" in secrets.content.decode()

    for protocol in manifest.PROTOCOLS:
        response = _create(sa_user_client, env, f"p-{protocol}", protocol)
        assert response.status_code == 302, response.content.decode()[:2000]
        live = kube.get_ingress(ns, f"p-{protocol}")
        assert live["spec"]["ingressClassName"] == gateway.ingress_class

    edit = reverse("routes:edit", args=[env.pk, "p-http"])
    edited = sa_user_client.post(edit, route_data(gateway, name="p-http", host="edited.acme.example.com"))
    assert edited.status_code == 302, edited.content.decode()[:2000]
    assert kube.get_ingress(ns, "p-http")["spec"]["rules"][0]["host"] == "edited.acme.example.com"

    # Drift: changed with kubectl, seen, re-applied; changed again, taken over.
    live = kube.get_ingress(ns, "p-ws")
    live["spec"]["rules"][0]["host"] = "hijacked.acme.example.com"
    kube.replace_ingress(ns, "p-ws", live)
    detail = sa_user_client.get(reverse("routes:detail", args=[env.pk, "p-ws"]))
    assert detail.context["sync"] == "changed" and detail.context["cluster_error"] == ""
    assert sa_user_client.post(reverse("routes:reapply", args=[env.pk, "p-ws"])).status_code == 302
    assert kube.get_ingress(ns, "p-ws")["spec"]["rules"][0]["host"] == "p-ws.acme.example.com"
    live = kube.get_ingress(ns, "p-ws")
    live["metadata"]["annotations"]["nginx.org/proxy-read-timeout"] = "300s"
    kube.replace_ingress(ns, "p-ws", live)
    assert sa_user_client.post(reverse("routes:takeover", args=[env.pk, "p-ws"])).status_code == 302
    assert Route.objects.get(environment=env, name="p-ws").annotations == {"nginx.org/proxy-read-timeout": "300s"}

    # Import an Ingress made outside the console.
    legacy = ingress(ns, name="legacy", host="legacy.acme.example.com", ingress_class=gateway.ingress_class)
    kube.create_ingress(ns, legacy)
    assert sa_user_client.get(reverse("routes:list", args=[env.pk])).context["unmanaged"] == [("Ingress", "legacy")]
    imported = sa_user_client.post(reverse("routes:import", args=[env.pk]), {"name": "legacy"})
    assert imported["Location"] == reverse("routes:detail", args=[env.pk, "legacy"])

    deleted = sa_user_client.post(reverse("routes:delete", args=[env.pk, "p-grpc"]))
    assert deleted.status_code == 302
    with pytest.raises(NotFound):
        kube.get_ingress(ns, "p-grpc")

    listing = sa_user_client.get(reverse("routes:list", args=[env.pk]))
    assert {r.name: str(r.sync) for r in listing.context["page"].object_list} == {
        name: "in-sync" for name in ["legacy", "p-http", "p-https", "p-ws", "p-wss"]
    }


def test_what_the_console_identity_cannot_do(sa_environment, sa_client, kube):
    ns = sa_environment.namespace
    _bound(kube, sa_client, ns)
    outside = f"outside-{uuid.uuid4().hex[:8]}"
    ensure_namespace(kube, outside)  # a namespace that is no environment
    body = ingress(outside, name="sneaky", host="sneaky.example.com")
    forbidden = [
        lambda: sa_client.request("GET", f"/api/v1/namespaces/{ns}/secrets/demo-tls"),  # a Secret's data
        lambda: sa_client.create_ingress(outside, body),
        lambda: sa_client.create_ingress("kube-system", body),
        lambda: sa_client.create(f"/api/v1/namespaces/{ns}/configmaps", {"metadata": {"name": "x"}}),
        lambda: sa_client.request("GET", f"/api/v1/namespaces/{ns}/pods"),
        lambda: sa_client.request("DELETE", f"/api/v1/namespaces/{ns}"),
        lambda: sa_client.request("DELETE", f"/api/v1/namespaces/{ns}/services/web"),
        lambda: sa_client.request("GET", "/api/v1/nodes"),
        lambda: sa_client.get_namespace(outside),  # only its environments' own Namespace objects
        lambda: sa_client.request("DELETE", f"/apis/gateway.networking.k8s.io/v1/namespaces/{ns}/gateways/x"),
        lambda: sa_client.request("DELETE", "/apis/networking.k8s.io/v1/ingressclasses/default-gateway"),
        lambda: sa_client.create(
            "/apis/rbac.authorization.k8s.io/v1/clusterroles", {"metadata": {"name": "escalate"}, "rules": []}
        ),
        # EndpointSlices: in its environments only, never cluster-wide or elsewhere, and never written.
        lambda: sa_client.list_endpoint_slices(outside),
        lambda: sa_client.request("GET", "/apis/discovery.k8s.io/v1/endpointslices"),
        lambda: sa_client.create(
            f"/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices",
            {"metadata": {"name": "x"}, "addressType": "IPv4", "endpoints": []},
        ),
    ]
    for attempt in forbidden:
        with pytest.raises(Forbidden):
            attempt()
    # What it may read and watch cluster-wide: Ingresses (the host check) and Services (names and
    # ports for the picker), each through one watch of the cluster cache.
    assert isinstance(sa_client.list_ingresses(), list)
    assert [s.name for s in sa_client.list_services(outside)] == []


def test_listing_secret_names_grants_their_data_so_the_picker_can_be_dropped(
    sa_user_client, sa_environment, sa_client, kube, settings
):
    """RBAC has no names-only permission: `list secrets` returns whole Secrets to whoever asks."""
    ns = sa_environment.namespace
    _bound(kube, sa_client, ns)
    full = sa_client.request("GET", f"/api/v1/namespaces/{ns}/secrets")
    assert full["items"][0]["data"]["tls.key"], "with the picker's permission, a full list carries the data"

    # Without the picker: no binding, KGR_SECRET_PICKER=false, and TLS routes still work.
    other = f"nopick-{uuid.uuid4().hex[:8]}"
    seed_cluster_objects(Cluster.objects.get(name="local"), other)
    sa_environment.namespace = other
    sa_environment.save()
    _bound(kube, sa_client, other, secret_picker=False)
    settings.SECRET_PICKER = False
    with pytest.raises(Forbidden):
        sa_client.request("GET", f"/api/v1/namespaces/{other}/secrets")
    gateway = Gateway.objects.get(cluster=sa_environment.cluster, tenant=sa_environment.project.tenant)
    data = route_data(gateway, protocol="https")
    field = sa_user_client.post(action_url(sa_environment, "secret"), data, HTTP_HX_REQUEST="true")
    body = field.content.decode()
    assert 'type="text" name="tls_secret"' in body and "<datalist" not in body  # typed, not picked
    with record_calls() as calls:
        picked = sa_user_client.get(reverse("routes:secrets", args=[sa_environment.pk]))
    assert calls == [] and "demo-tls" not in picked.content.decode()
    sa_client.ensure_ingress_class(gateway.ingress_class)
    response = _create(sa_user_client, sa_environment, "typed", "https")
    assert response.status_code == 302, response.content.decode()[:2000]
    assert kube.get_ingress(other, "typed")["spec"]["tls"][0]["secretName"] == "demo-tls"


def test_removing_one_permission_breaks_the_flow(sa_user_client, sa_environment, sa_client, kube):
    ns = sa_environment.namespace
    _bound(kube, sa_client, ns)
    gateway = Gateway.objects.get(cluster=sa_environment.cluster, tenant=sa_environment.project.tenant)
    sa_client.ensure_ingress_class(gateway.ingress_class)
    assert _create(sa_user_client, sa_environment, "shop").status_code == 302

    shipped = next(o for o in _render("deploy/base") if o["metadata"]["name"] == "kubegems-routes-environment")
    weakened = copy.deepcopy(shipped)
    ingress_rule = next(r for r in weakened["rules"] if "ingresses" in r["resources"])
    ingress_rule["verbs"].remove("update")
    try:
        _apply(kube, weakened)
        until(lambda: not _allowed(sa_client, "update", "ingresses", ns, "networking.k8s.io"))
        edit = reverse("routes:edit", args=[sa_environment.pk, "shop"])
        response = sa_user_client.post(edit, route_data(gateway, name="shop", host="moved.acme.example.com"))
        assert response.status_code == 200
        assert f"is not allowed to change routes in namespace {ns}" in response.content.decode()
        assert kube.get_ingress(ns, "shop")["spec"]["rules"][0]["host"] == "shop.acme.example.com"
        assert Route.objects.get(environment=sa_environment, name="shop").host == "shop.acme.example.com"
    finally:
        _apply(kube, shipped)
        until(lambda: _allowed(sa_client, "update", "ingresses", ns, "networking.k8s.io"))
    # With the shipped permission back, the same edit goes through.
    response = sa_user_client.post(edit, route_data(gateway, name="shop", host="moved.acme.example.com"))
    assert response.status_code == 302
    assert kube.get_ingress(ns, "shop")["spec"]["rules"][0]["host"] == "moved.acme.example.com"


def test_gateway_api_routes_work_under_the_shipped_rbac(
    gateway_api, sa_user_client, sa_environment, sa_client, kube, settings
):
    env, ns = sa_environment, sa_environment.namespace
    _bound(kube, sa_client, ns)
    # Admitted by a label selector: with the cache off, saving reads the Gateway (platform's namespace)
    # and the environment's own Namespace with the console's identity.
    selector = {
        "from": "Selector",
        "selector": {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In", "values": [ns]}]},
    }
    put_gateway(
        kube,
        gateway_manifest(
            "platform",
            f"edge-{ns}",
            gateway_listener("http", namespaces=selector),
            gateway_listener("https", "HTTPS", namespaces=selector),
        ),
    )
    edge = Gateway.objects.create(
        cluster=env.cluster,
        tenant=env.project.tenant,
        name="edge",
        kind=Gateway.Kind.GATEWAY_API,
        gateway_namespace="platform",
        gateway_name=f"edge-{ns}",
        http_listener="http",
        https_listener="https",
        default_domain="*.edge.example.com",
    )
    for protocol in ("http", "grpc"):
        data = route_data(
            edge,
            name=f"g-{protocol}",
            host=f"g-{protocol}.edge.example.com",
            protocol=protocol,
            **{"paths-0-service": "api", "paths-0-port": "grpc"},
        )
        response = sa_user_client.post(reverse("routes:create", args=[env.pk]), data)
        assert response.status_code == 302, response.content.decode()[:2000]
    assert kube.get_gateway_route("GRPCRoute", ns, "g-grpc")["spec"]["rules"][0]["backendRefs"][0]["port"] == 50051
    live = kube.get_gateway_route("HTTPRoute", ns, "g-http")
    live["spec"]["hostnames"] = ["hijacked.edge.example.com"]
    kube.replace_gateway_route("HTTPRoute", ns, "g-http", live)
    detail = sa_user_client.get(reverse("routes:detail", args=[env.pk, "g-http"]))
    assert detail.context["sync"] == "changed" and detail.context["cluster_error"] == ""
    assert sa_user_client.post(reverse("routes:reapply", args=[env.pk, "g-http"])).status_code == 302
    listing = sa_user_client.get(reverse("routes:list", args=[env.pk]))
    assert listing.context["cluster_error"] == ""
    assert {r.name: str(r.sync) for r in listing.context["page"].object_list} == {
        "g-grpc": "in-sync",
        "g-http": "in-sync",
    }
    assert sa_user_client.post(reverse("routes:delete", args=[env.pk, "g-grpc"])).status_code == 302
    with pytest.raises(NotFound):
        kube.get_gateway_route("GRPCRoute", ns, "g-grpc")

    # The cache's watches of routes, Gateways and Namespaces work with the identity's list and watch;
    # a save then reads the Gateway, the Namespace's labels and the routes' hosts from them.
    settings.KUBE_CACHE = True
    try:
        cache = env.cluster.cache()
        assert cache is not None and cache.wait_synced(20) and cache.wait_gateway_api_synced(20)
        until(lambda: cache.gateway("platform", f"edge-{ns}") is not None)
        until(lambda: cache.namespace_labels(ns) is not None)
        data = route_data(edge, name="g-cached", host="g-cached.edge.example.com")
        with record_calls() as calls:
            response = sa_user_client.post(reverse("routes:create", args=[env.pk]), data)
        assert response.status_code == 302, response.content.decode()[:2000]
        assert calls == [("POST", f"/apis/gateway.networking.k8s.io/v1/namespaces/{ns}/httproutes")]
    finally:
        kube_cache_module.stop_all()


def test_a_gateways_listener_is_read_under_the_shipped_rbac(gateway_api, admin_client, sa_environment, kube):
    platform = f"p-{uuid.uuid4().hex[:10]}"
    ensure_namespace(kube, platform)
    kube.create(
        f"/apis/gateway.networking.k8s.io/v1/namespaces/{platform}/gateways",
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "Gateway",
            "metadata": {"name": "edge"},
            "spec": {
                "gatewayClassName": "example",
                "listeners": [
                    {
                        "name": "https",
                        "protocol": "HTTPS",
                        "port": 443,
                        "tls": {"certificateRefs": [{"name": "edge-tls"}]},
                    }
                ],
            },
        },
    )
    gateway = Gateway.objects.create(
        cluster=sa_environment.cluster,
        name="edge",
        kind=Gateway.Kind.GATEWAY_API,
        gateway_namespace=platform,
        gateway_name="edge",
        https_listener="https",
        default_domain="*.edge.example.com",
    )
    body = admin_client.get(reverse("admin:gateways_gateway_change", args=[gateway.pk])).content.decode()
    # The Gateway is read (get gateways); the platform's Secrets are not the console's to list.
    assert f"{platform}/edge-tls" in body
    assert f"may not list Secrets in namespace {platform}" in body


def test_a_certificates_readiness_is_read_under_the_shipped_rbac(
    cert_manager, sa_user_client, sa_environment, sa_client, kube
):
    env, ns = sa_environment, sa_environment.namespace
    _bound(kube, sa_client, ns)
    gateway = Gateway.objects.get(cluster=env.cluster, tenant=env.project.tenant)
    gateway.cluster_issuer = "letsencrypt"
    gateway.save()
    sa_client.ensure_ingress_class(gateway.ingress_class)
    data = route_data(gateway, protocol="https", tls_source="cert-manager")
    response = sa_user_client.post(reverse("routes:create", args=[env.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    certificate = {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": "shop-tls"},
        "spec": {"secretName": "shop-tls", "issuerRef": {"kind": "ClusterIssuer", "name": "letsencrypt"}},
    }
    kube.create(f"/apis/cert-manager.io/v1/namespaces/{ns}/certificates", certificate)
    detail = sa_user_client.get(reverse("routes:detail", args=[env.pk, "shop"]))
    assert detail.context["cluster_error"] == ""
    assert detail.context["certificate"].state == "not-ready"  # read: without the rule it would say nothing
    assert _allowed(sa_client, "list", "certificates", ns, "cert-manager.io")
    assert not _allowed(sa_client, "get", "certificates", ns, "cert-manager.io")
    assert not _allowed(sa_client, "list", "certificates", "kube-system", "cert-manager.io")
    with pytest.raises(Forbidden):  # it reads Certificates, never writes them
        sa_client.create(f"/apis/cert-manager.io/v1/namespaces/{ns}/certificates", certificate)


def test_backend_health_is_read_under_the_shipped_rbac(sa_user_client, sa_environment, sa_client, kube, settings):
    """EndpointSlices are listed, and watched by the cache, in the environment's namespace with the
    console's identity; a backend's ready endpoints show on its route's page either way."""
    env, ns = sa_environment, sa_environment.namespace
    _bound(kube, sa_client, ns)
    gateway = Gateway.objects.get(cluster=env.cluster, tenant=env.project.tenant)
    sa_client.ensure_ingress_class(gateway.ingress_class)
    assert _create(sa_user_client, env, "shop").status_code == 302
    put_endpoint_slice(kube, ns, "web", ready=2, not_ready=1)
    detail = reverse("routes:detail", args=[env.pk, "shop"])

    def health():
        return [(h.state, h.ready, h.not_ready) for h in sa_user_client.get(detail).context["backend_health"]]

    until(lambda: health() == [("ready", 2, 1)])
    settings.KUBE_CACHE = True
    try:
        cache = env.cluster.cache()
        assert cache is not None and cache.wait_synced(20)
        assert cache.endpoint_slice_informer(ns).wait_synced(20), cache.endpoint_slice_informer(ns).last_error
        with record_calls() as calls:
            assert health() == [("ready", 2, 1)]
        assert not [c for c in calls if "/endpointslices" in c[1]]
    finally:
        kube_cache_module.stop_all()
