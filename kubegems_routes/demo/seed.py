"""Demo data: one tenant with a project, an environment, gateways, and real cluster objects."""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from dataclasses import dataclass
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.contrib.auth import get_user_model
from django.db import transaction

from kubegems_routes.controlplane import certmanager, gatewayapi
from kubegems_routes.controlplane.objects import ensure_namespace, install_crds
from kubegems_routes.gateways.models import Gateway, TenantDomain, ensure_default_gateway
from kubegems_routes.kube.client import KubeClient
from kubegems_routes.tenancy.models import Cluster, Environment, Project, Tenant, TenantMember

NAMESPACE = "demo-shop-dev"
SERVICES = {
    "web": [("http", 80), ("metrics", 9090)],
    "api": [("grpc", 50051), ("ws", 8080)],
}
TLS_SECRET = "demo-tls"  # noqa: S105 - a Secret's name, not a password
GATEWAYS_NAMESPACE = "demo-gateways"  # where the demo's Gateway API Gateway lives, as a platform team's would
CLUSTER_ISSUER = "demo-selfsigned"


@dataclass
class Credentials:
    username: str
    password: str


def _self_signed(host: str) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=90))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), pem_key


def _tls_secret(client: KubeClient, namespace: str, host: str) -> None:
    cert, key = _self_signed(host)
    client.ensure(
        f"/api/v1/namespaces/{namespace}/secrets",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": TLS_SECRET},
            "type": "kubernetes.io/tls",
            "data": {"tls.crt": base64.b64encode(cert).decode(), "tls.key": base64.b64encode(key).decode()},
        },
    )


def seed_services(client: KubeClient, namespace: str) -> None:
    """The namespace and the demo's Services in it (what a platform team has in an environment)."""
    ensure_namespace(client, namespace)
    for name, ports in SERVICES.items():
        client.ensure(
            f"/api/v1/namespaces/{namespace}/services",
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": name},
                "spec": {
                    "selector": {"app": name},
                    "ports": [{"name": p, "port": n, "targetPort": n, "protocol": "TCP"} for p, n in ports],
                },
            },
        )


def seed_cluster_objects(cluster: Cluster, namespace: str = NAMESPACE) -> None:
    client = cluster.client()
    seed_services(client, namespace)
    _tls_secret(client, namespace, "*.demo.kubegems.io")
    for gateway in cluster.gateways.filter(kind=Gateway.Kind.INGRESS):
        client.ensure_ingress_class(gateway.ingress_class)


@transaction.atomic
def seed_database(kubeconfig: Path, cluster_name: str = "local") -> tuple[Cluster, Environment]:
    cluster, _ = Cluster.objects.get_or_create(name=cluster_name, defaults={"kubeconfig": kubeconfig.read_text()})
    cluster.kubeconfig = kubeconfig.read_text()
    cluster.description = "Local control plane started by runconsole"
    cluster.save()
    yaml.safe_load(cluster.kubeconfig)  # fail early on a broken file
    ensure_default_gateway(cluster)
    tenant, _ = Tenant.objects.get_or_create(name="demo", defaults={"display_name": "Demo tenant"})
    project, _ = Project.objects.get_or_create(tenant=tenant, name="shop")
    environment, _ = Environment.objects.get_or_create(
        project=project, name="dev", defaults={"cluster": cluster, "namespace": NAMESPACE}
    )
    Gateway.objects.get_or_create(
        cluster=cluster,
        tenant=tenant,
        name="public",
        defaults={"default_domain": "*.demo.kubegems.io", "http2": True},
    )
    return cluster, environment


def demo_users() -> list[Credentials]:
    """(Re)set the demo user (tenant admin) and a system admin, with fresh passwords."""
    User = get_user_model()
    created = []
    for username, staff in (("demo", False), ("admin", True)):
        password = secrets.token_urlsafe(9)
        user, _ = User.objects.get_or_create(username=username)
        user.is_staff = user.is_superuser = staff
        user.set_password(password)
        user.save()
        created.append(Credentials(username, password))
    demo = User.objects.get(username="demo")
    TenantMember.objects.update_or_create(
        tenant=Tenant.objects.get(name="demo"), user=demo, defaults={"role": TenantMember.Role.ADMIN}
    )
    return created


def seed_every_gateway_kind(cluster: Cluster) -> None:
    """On the local control plane only (it installs CRDs, which a real cluster's admins do): Gateway API's
    and cert-manager's CRDs, a Gateway API gateway `edge` with its Gateway, and a ClusterIssuer on `public`,
    so every kind of gateway a user can meet is there to try. No Gateway API controller or cert-manager
    runs here: HTTPRoutes stay "not yet accepted" and certificates "waiting for cert-manager"."""
    client = cluster.client()
    install_crds(
        client,
        gatewayapi.ensure_crds() + certmanager.ensure_crds(),
        ["/apis/gateway.networking.k8s.io/v1/httproutes", "/apis/cert-manager.io/v1/clusterissuers"],
    )
    ensure_namespace(client, GATEWAYS_NAMESPACE)
    _tls_secret(client, GATEWAYS_NAMESPACE, "*.edge.demo.kubegems.io")
    everyone = {"namespaces": {"from": "All"}}
    client.ensure(
        f"/apis/gateway.networking.k8s.io/v1/namespaces/{GATEWAYS_NAMESPACE}/gateways",
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "Gateway",
            "metadata": {"name": "edge"},
            "spec": {
                "gatewayClassName": "demo",
                "listeners": [
                    {"name": "http", "protocol": "HTTP", "port": 80, "allowedRoutes": everyone},
                    {
                        "name": "https",
                        "protocol": "HTTPS",
                        "port": 443,
                        "tls": {"mode": "Terminate", "certificateRefs": [{"name": TLS_SECRET}]},
                        "allowedRoutes": everyone,
                    },
                ],
            },
        },
    )
    client.ensure(
        "/apis/cert-manager.io/v1/clusterissuers",
        {
            "apiVersion": "cert-manager.io/v1",
            "kind": "ClusterIssuer",
            "metadata": {"name": CLUSTER_ISSUER},
            "spec": {"selfSigned": {}},
        },
    )
    tenant = Tenant.objects.get(name="demo")
    Gateway.objects.update_or_create(
        cluster=cluster,
        tenant=tenant,
        name="edge",
        defaults={
            "kind": Gateway.Kind.GATEWAY_API,
            "gateway_namespace": GATEWAYS_NAMESPACE,
            "gateway_name": "edge",
            "http_listener": "http",
            "https_listener": "https",
            "default_domain": "*.edge.demo.kubegems.io",
            "http2": True,
        },
    )
    Gateway.objects.filter(cluster=cluster, tenant=tenant, name="public").update(cluster_issuer=CLUSTER_ISSUER)
    # The tenant's own domain, as a platform admin grants it: its hosts are the tenant's on every gateway of the
    # cluster, so a route on `public` (*.demo.kubegems.io) can be moved to `edge` as it is.
    TenantDomain.objects.get_or_create(cluster=cluster, tenant=tenant, domain="demo.kubegems.io")
