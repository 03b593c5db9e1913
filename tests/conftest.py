"""Fixtures: one real control plane per test session, a fresh namespace per test,
and, for the traffic tests, one data plane (NGINX Ingress Controller + nginx) per session.

If kube-apiserver, etcd or the data plane cannot be built or started, every
test that needs them errors with the reason (what to install, or that root is
needed); nothing is skipped.

KGR_TEST_DATABASE=postgres runs the whole suite on a throwaway PostgreSQL
server started for the session (tests/postgres.py); the default is SQLite.
`make test` runs both.
"""

from __future__ import annotations

import contextlib
import copy
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from kubegems_routes.controlplane import certmanager, gatewayapi
from kubegems_routes.controlplane.build import BuildError
from kubegems_routes.controlplane.objects import ensure_namespace, install_crds
from kubegems_routes.controlplane.server import ControlPlane, ControlPlaneError
from kubegems_routes.dataplane.server import DataPlane, DataPlaneError
from kubegems_routes.demo import keycloak as keycloak_module
from kubegems_routes.demo.seed import seed_cluster_objects
from kubegems_routes.gateways.models import Gateway
from kubegems_routes.identity import provider as oidc_provider
from kubegems_routes.kube import cache as kube_cache_module
from kubegems_routes.kube.client import KubeClient
from kubegems_routes.kube.silence import silences
from kubegems_routes.tenancy.models import Cluster, Environment, Project, Tenant, TenantMember
from tests.helpers import until
from tests.oidc import CLIENT_ID, CLIENT_SECRET, ForgingProvider, KeycloakAdmin
from tests.postgres import Postgres, PostgresError

TEST_DATABASE = os.environ.get("KGR_TEST_DATABASE", "sqlite")
if TEST_DATABASE not in {"sqlite", "postgres"}:
    raise pytest.UsageError(f"KGR_TEST_DATABASE must be sqlite or postgres, not {TEST_DATABASE!r}")


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres | None]:
    """The session's PostgreSQL server on the PostgreSQL run, None on the SQLite run."""
    if TEST_DATABASE != "postgres":
        yield None
        return
    try:
        server = Postgres()
        server.start()
    except PostgresError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def django_db_modify_db_settings(postgres: Postgres | None) -> None:
    if postgres is None:
        return
    from django.conf import settings
    from django.db import connections

    # In place: Django's connection handler holds this very dict.
    database = settings.DATABASES["default"]
    database.update(
        ENGINE="django.db.backends.postgresql",
        NAME="kubegems_routes",
        HOST=postgres.host,
        PORT=str(postgres.port),
        USER=postgres.user,
        PASSWORD="",
        OPTIONS={},
    )
    connections.close_all()
    with contextlib.suppress(AttributeError):  # a SQLite connection made before the switch
        del connections["default"]


@pytest.fixture(autouse=True)
def _forget_silent_servers() -> Iterator[None]:
    """A silent server of one test (kube/silence.py) is not one of the next: its port may be reused."""
    yield
    silences.clear()


@pytest.fixture
def database_url(postgres: Postgres | None, tmp_path: Path) -> str:
    """A fresh database for a console served in another process (gunicorn), on this run's engine."""
    if postgres is None:
        return f"sqlite:///{tmp_path / 'served.sqlite3'}"
    return postgres.create_database("served")


@pytest.fixture(scope="session")
def control_plane() -> Iterator[ControlPlane]:
    plane = ControlPlane()
    try:
        plane.start()
    except (BuildError, ControlPlaneError) as exc:
        pytest.fail(
            "The local Kubernetes control plane is needed and could not be started. "
            f"Install Go 1.26+ (it builds kube-apiserver and etcd) and run `make setup`.\n{exc}",
            pytrace=False,
        )
    yield plane
    plane.stop()


@pytest.fixture(scope="session")
def data_plane(control_plane: ControlPlane) -> Iterator[DataPlane]:
    """The real controller serving ingress class `traffic` (HTTP/2 on), backends in its own network namespace."""
    plane = DataPlane(control_plane, ingress_class="traffic", http2=True)
    try:
        plane.start()
    except DataPlaneError as exc:
        pytest.fail(
            "The data plane (NGINX Ingress Controller + nginx in network and mount namespaces) is needed "
            f"and could not be started. It needs root and `make setup` (which builds it).\n{exc}",
            pytrace=False,
        )
    yield plane
    plane.stop()


@pytest.fixture(scope="session")
def kube(control_plane: ControlPlane) -> KubeClient:
    return KubeClient.from_kubeconfig(control_plane.kubeconfig)


@pytest.fixture(scope="session")
def gateway_api(kube: KubeClient) -> list[str]:
    """Gateway API's standard CRDs (sigs.k8s.io/gateway-api, cached) installed and Established; their names."""
    try:
        files = gatewayapi.ensure_crds()
    except BuildError as exc:
        pytest.fail(f"Gateway API's CRDs are needed and could not be fetched (Go and the module proxy).\n{exc}")
    gateway_api_paths = [f"/apis/gateway.networking.k8s.io/v1/{r}" for r in ("httproutes", "grpcroutes", "gateways")]
    return install_crds(kube, files, gateway_api_paths)


@pytest.fixture(scope="session")
def cert_manager(kube: KubeClient) -> list[str]:
    """cert-manager's Certificate and ClusterIssuer CRDs (github.com/cert-manager/cert-manager, cached)
    installed and served; their names. No controller runs: tests write a Certificate's status themselves."""
    try:
        files = certmanager.ensure_crds()
    except BuildError as exc:
        pytest.fail(f"cert-manager's CRDs are needed and could not be fetched (Go and the module proxy).\n{exc}")
    return install_crds(kube, files, [f"/apis/cert-manager.io/v1/{r}" for r in ("certificates", "clusterissuers")])


@pytest.fixture
def namespace(kube: KubeClient) -> str:
    # Deleted namespaces stay Terminating without a controller-manager: never reuse a name.
    name = f"t-{uuid.uuid4().hex[:10]}"
    ensure_namespace(kube, name)
    return name


@pytest.fixture
def cluster(db: None, control_plane: ControlPlane) -> Cluster:
    return Cluster.objects.create(name="local", kubeconfig=yaml.safe_dump(control_plane.kubeconfig))


@pytest.fixture
def tenant(db: None) -> Tenant:
    return Tenant.objects.create(name="acme")


@pytest.fixture
def environment(cluster: Cluster, tenant: Tenant, namespace: str) -> Environment:
    project = Project.objects.create(tenant=tenant, name="shop")
    env = Environment.objects.create(project=project, cluster=cluster, name="dev", namespace=namespace)
    # One ingress class per test: Ingresses of earlier tests stay in the shared
    # cluster, and on a shared class they would own these hosts.
    Gateway.objects.create(
        cluster=cluster,
        tenant=tenant,
        name="public",
        ingress_class=f"public-{namespace}",
        default_domain="*.acme.example.com",
    )
    seed_cluster_objects(cluster, namespace)  # Services web and api, TLS Secret demo-tls, IngressClasses
    client = cluster.client()
    until(lambda: len(client.list_services(namespace)) == 2)
    return env


@pytest.fixture
def operator(django_user_model, environment: Environment):
    user = django_user_model.objects.create_user("olivia", password="pw")
    TenantMember.objects.create(tenant=environment.project.tenant, user=user, role=TenantMember.Role.ADMIN)
    return user


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


@pytest.fixture
def kube_cache(settings):
    """Turn the watch-fed cluster caches on for one test; stop their threads afterwards."""
    settings.KUBE_CACHE = True
    settings.KUBE_CACHE_WRITE_WAIT = 2
    yield
    kube_cache_module.stop_all()


KEYCLOAK_REALM = Path(__file__).with_name("keycloak_realm.json")


@pytest.fixture(scope="session")
def keycloak() -> Iterator[keycloak_module.Keycloak]:
    """One real Keycloak per session (fresh data, tests/keycloak_realm.json imported), stopped with it."""
    try:
        server = keycloak_module.start(KEYCLOAK_REALM)
    except BuildError as exc:
        pytest.fail(
            "Keycloak is needed for the sign-in tests and could not be fetched or started. "
            f"Install Maven and Java 17 (sudo apt-get install maven default-jre-headless).\n{exc}",
            pytrace=False,
        )
    yield server
    server.stop()


@pytest.fixture
def keycloak_admin(keycloak: keycloak_module.Keycloak) -> KeycloakAdmin:
    return KeycloakAdmin(keycloak)


def _point_at(settings, issuer: str) -> None:
    settings.OIDC_ISSUER = issuer
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_PROVIDER_NAME = "Keycloak"
    # As settings.py does for KGR_OIDC_ISSUER: log-out's form redirects to the provider.
    policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
    policy["DIRECTIVES"]["form-action"].append(issuer.split("/realms/")[0])
    settings.CONTENT_SECURITY_POLICY = policy
    oidc_provider.forget()


@pytest.fixture
def oidc(settings, keycloak: keycloak_module.Keycloak) -> Iterator[keycloak_module.Keycloak]:
    """The console signs in through the session's Keycloak."""
    _point_at(settings, keycloak.issuer)
    yield keycloak
    oidc_provider.forget()


@pytest.fixture
def forging_provider(settings) -> Iterator[ForgingProvider]:
    """The console signs in through a provider whose ID tokens the test forges (tests/oidc.py)."""
    provider = ForgingProvider()
    _point_at(settings, provider.issuer)
    yield provider
    provider.stop()
    oidc_provider.forget()
