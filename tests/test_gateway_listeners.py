"""The certificate of a Gateway API gateway's HTTPS listener, on the gateway's admin page.

The pure reading of a Gateway manifest first; then a real Gateway (Gateway
API's CRDs in the session's API server, its status written through the status
subresource as a controller would) read by the admin change page.
"""

from __future__ import annotations

import base64
import copy
import re
import uuid
from html import unescape

import pytest
import yaml
from django.urls import reverse

from kubegems_routes.controlplane.objects import ensure_namespace
from kubegems_routes.controlplane.server import free_port
from kubegems_routes.gateways.listeners import CertificateRef, tls_listeners
from kubegems_routes.gateways.models import Gateway
from kubegems_routes.kube.client import KubeClient
from kubegems_routes.tenancy.models import Cluster
from tests.kube_calls import record_calls

GATEWAYS = "/apis/gateway.networking.k8s.io/v1/namespaces/{namespace}/gateways"


def _gateway_manifest(namespace: str, name: str) -> dict:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "gatewayClassName": "example",
            "listeners": [
                {"name": "http", "protocol": "HTTP", "port": 80},
                {
                    "name": "https",
                    "protocol": "HTTPS",
                    "port": 443,
                    "hostname": "*.edge.example.com",
                    "tls": {"mode": "Terminate", "certificateRefs": [{"name": "edge-tls"}]},
                    "allowedRoutes": {
                        "namespaces": {"from": "Selector", "selector": {"matchLabels": {"team": "shop"}}},
                        "kinds": [{"kind": "HTTPRoute"}, {"kind": "GRPCRoute"}],
                    },
                },
                {
                    "name": "other-tls",
                    "protocol": "HTTPS",
                    "port": 8443,
                    "tls": {"certificateRefs": [{"name": "gone-tls", "namespace": "certs"}]},
                    "allowedRoutes": {"namespaces": {"from": "All"}},
                },
            ],
        },
    }


# -- pure ----------------------------------------------------------------------------


def test_the_named_listener_with_its_certificate_hostname_and_allowed_routes():
    (https,) = tls_listeners(_gateway_manifest("platform", "edge"), "https")
    assert (https.name, https.protocol, https.port, https.hostname, https.tls_mode) == (
        "https",
        "HTTPS",
        443,
        "*.edge.example.com",
        "Terminate",
    )
    # certificateRefs default to a core Secret in the Gateway's namespace.
    assert https.certificate_refs == (CertificateRef("Secret", "", "platform", "edge-tls"),)
    assert https.certificate_refs[0].is_secret
    assert (https.routes_from, https.routes_selector, https.route_kinds) == (
        "Selector",
        "team=shop",
        ("HTTPRoute", "GRPCRoute"),
    )
    assert https.conditions == () and https.attached_routes is None


def test_without_a_listener_name_every_tls_listener_is_shown():
    listeners = tls_listeners(_gateway_manifest("platform", "edge"))
    assert [item.name for item in listeners] == ["https", "other-tls"]
    other = listeners[1]
    assert other.tls_mode == "Terminate" and other.routes_from == "All"
    assert other.certificate_refs == (CertificateRef("Secret", "", "certs", "gone-tls"),)
    assert tls_listeners(_gateway_manifest("platform", "edge"), "nope") == []
    plain = tls_listeners(_gateway_manifest("platform", "edge"), "http")[0]
    assert (plain.tls_mode, plain.certificate_refs, plain.routes_from) == ("", (), "Same")


def test_listener_status_conditions_come_with_it():
    gateway = _gateway_manifest("platform", "edge")
    gateway["status"] = {
        "listeners": [
            {
                "name": "https",
                "attachedRoutes": 3,
                "conditions": [
                    {"type": "Programmed", "status": "True", "reason": "Programmed", "message": ""},
                    {"type": "ResolvedRefs", "status": "False", "reason": "InvalidCertificateRef", "message": "x"},
                ],
            }
        ]
    }
    (https,) = tls_listeners(gateway, "https")
    assert https.attached_routes == 3
    assert [(c.type, c.reason) for c in https.conditions] == [
        ("ResolvedRefs", "InvalidCertificateRef"),
        ("Programmed", "Programmed"),
    ]


# -- the admin page, against the API server -----------------------------------------------


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _listener_section(admin_client, gateway: Gateway) -> str:
    response = admin_client.get(reverse("admin:gateways_gateway_change", args=[gateway.pk]))
    assert response.status_code == 200
    found = re.search(r'<section id="listener-tls">.*?</section>', response.content.decode(), re.S)
    assert found, "the listener's certificate is missing from the gateway's page"
    return _text(found.group(0))


def _edge(cluster, tenant, namespace: str, name: str, https_listener: str = "https") -> Gateway:
    return Gateway.objects.create(
        cluster=cluster,
        tenant=tenant,
        name="edge",
        kind=Gateway.Kind.GATEWAY_API,
        gateway_namespace=namespace,
        gateway_name=name,
        http_listener="http",
        https_listener=https_listener,
        default_domain="*.edge.example.com",
    )


def _tls_secret(kube: KubeClient, namespace: str, name: str) -> None:
    kube.create(
        f"/api/v1/namespaces/{namespace}/secrets",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name},
            "type": "kubernetes.io/tls",
            "data": {"tls.crt": base64.b64encode(b"c").decode(), "tls.key": base64.b64encode(b"k").decode()},
        },
    )


@pytest.fixture
def platform(gateway_api, kube: KubeClient) -> str:
    """A namespace holding the platform's Gateway (a fresh one per test)."""
    name = f"p-{uuid.uuid4().hex[:10]}"
    ensure_namespace(kube, name)
    kube.create(GATEWAYS.format(namespace=name), _gateway_manifest(name, "edge"))
    return name


@pytest.mark.django_db
def test_the_gateway_page_names_the_https_listeners_certificate(admin_client, cluster, tenant, platform, kube):
    _tls_secret(kube, platform, "edge-tls")
    gateway = _edge(cluster, tenant, platform, "edge")
    path = f"{GATEWAYS.format(namespace=platform)}/edge"
    live = kube.request("GET", path)
    live["status"] = {
        "listeners": [
            {
                "name": "https",
                "attachedRoutes": 2,
                "supportedKinds": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"}],
                "conditions": [
                    {
                        "type": "ResolvedRefs",
                        "status": "True",
                        "reason": "ResolvedRefs",
                        "message": "Certificate found",
                        "lastTransitionTime": "2026-12-01T10:00:00Z",
                    }
                ],
            }
        ]
    }
    kube.request("PUT", f"{path}/status", body=live)
    with record_calls() as calls:
        text = _listener_section(admin_client, gateway)
    assert "Listener https · HTTPS 443 · TLS mode Terminate" in text
    assert f"Secret {platform}/edge-tls — exists" in text
    assert "Hostname: *.edge.example.com" in text
    assert "Routes allowed from: namespaces whose labels match team=shop · kinds: HTTPRoute, GRPCRoute" in text
    assert "Attached routes: 2" in text
    assert "ResolvedRefs: True — ResolvedRefs: Certificate found" in text
    assert "other-tls" not in text  # the gateway names its HTTPS listener: that one only
    # The Gateway, then the Secret by name with its metadata only; never a get of the Secret.
    assert ("GET", f"{GATEWAYS.format(namespace=platform)}/edge") in calls
    secret_calls = [c for c in calls if "/secrets" in c[1]]
    assert secret_calls == [("GET", f"/api/v1/namespaces/{platform}/secrets")]


@pytest.mark.django_db
def test_without_a_listener_name_every_tls_listener_and_a_missing_secret_show(
    admin_client, cluster, tenant, platform, kube
):
    ensure_namespace(kube, "certs")
    gateway = _edge(cluster, tenant, platform, "edge", https_listener="")
    text = _listener_section(admin_client, gateway)
    assert f"Secret {platform}/edge-tls — does not exist" in text
    assert "Listener other-tls · HTTPS 8443" in text and "Secret certs/gone-tls — does not exist" in text
    assert "Routes allowed from: every namespace" in text
    assert "No conditions from a controller yet." in text


@pytest.mark.django_db
def test_a_listener_name_the_gateway_does_not_have_is_said(admin_client, cluster, tenant, platform):
    gateway = _edge(cluster, tenant, platform, "edge", https_listener="websecure")
    text = _listener_section(admin_client, gateway)
    assert "The Gateway has no listener named websecure. Its listeners: http, https, other-tls" in text


@pytest.mark.django_db
def test_without_the_secret_picker_secrets_are_not_looked_up(admin_client, cluster, tenant, platform, settings):
    settings.SECRET_PICKER = False
    gateway = _edge(cluster, tenant, platform, "edge")
    with record_calls() as calls:
        text = _listener_section(admin_client, gateway)
    assert f"Secret {platform}/edge-tls — not looked up" in text and "KGR_SECRET_PICKER=false" in text
    assert not [c for c in calls if "/secrets" in c[1]]


@pytest.mark.django_db
def test_an_absent_gateway_or_an_unreachable_cluster_is_a_readonly_message(
    admin_client, cluster, tenant, gateway_api, control_plane
):
    gateway = _edge(cluster, tenant, "platform", f"absent-{uuid.uuid4().hex[:8]}")
    text = _listener_section(admin_client, gateway)
    assert f"Gateway platform/{gateway.gateway_name} does not exist in cluster local" in text

    # A cluster whose API server does not answer: a port nothing listens on.
    kubeconfig = copy.deepcopy(control_plane.kubeconfig)
    kubeconfig["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{free_port()}"
    down = Cluster.objects.create(name="down", kubeconfig=yaml.safe_dump(kubeconfig))
    gateway = Gateway.objects.create(
        cluster=down,
        name="edge",
        kind=Gateway.Kind.GATEWAY_API,
        gateway_namespace="platform",
        gateway_name="edge",
        https_listener="https",
        default_domain="*.edge.example.com",
    )
    text = _listener_section(admin_client, gateway)
    assert "Cluster down cannot be reached right now" in text


@pytest.mark.django_db
def test_an_ingress_class_gateway_says_its_routes_carry_their_secret(admin_client, environment):
    gateway = Gateway.objects.get(name="public")
    response = admin_client.get(reverse("admin:gateways_gateway_change", args=[gateway.pk]))
    assert "Gateway API gateways only" in response.content.decode()
