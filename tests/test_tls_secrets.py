"""A TLS route whose Secret is missing, or is for other names, is saved with a warning and shown so, never green."""

from __future__ import annotations

import base64

import pytest
from django.urls import reverse

from kubegems_routes.demo.seed import _self_signed
from tests.helpers import create_url, route_data, tenant_gateway
from tests.kube_calls import record_calls

pytestmark = pytest.mark.django_db


def _secret(kube, namespace: str, name: str, alt_names: str | None = None) -> None:
    cert, key = _self_signed("*.acme.example.com")
    metadata: dict = {"name": name}
    if alt_names is not None:
        metadata["annotations"] = {"cert-manager.io/alt-names": alt_names}
    kube.create(
        f"/api/v1/namespaces/{namespace}/secrets",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": metadata,
            "type": "kubernetes.io/tls",
            "data": {"tls.crt": base64.b64encode(cert).decode(), "tls.key": base64.b64encode(key).decode()},
        },
    )


def _states(client, environment):
    response = client.get(reverse("routes:list", args=[environment.pk]))
    return {r.name: (str(r.sync), r.tls) for r in response.context["page"].object_list}, response.content.decode()


def test_a_missing_secret_is_a_warning_then_a_state_until_it_exists(operator_client, environment, kube):
    data = route_data(tenant_gateway(environment), protocol="https", tls_secret="later-tls")
    response = operator_client.post(create_url(environment), data, follow=True)
    page = response.content.decode()
    assert "Route shop saved." in page
    assert "TLS secret later-tls does not exist in this namespace yet" in page
    assert kube.get_ingress(environment.namespace, "shop")["spec"]["tls"][0]["secretName"] == "later-tls"

    states, listing = _states(operator_client, environment)
    assert states == {"shop": ("in-sync", "secret-missing")}
    assert "secret missing" in listing
    detail = operator_client.get(reverse("routes:detail", args=[environment.pk, "shop"]))
    assert detail.context["tls"] == "secret-missing" and "secret missing" in detail.content.decode()

    _secret(kube, environment.namespace, "later-tls")  # cert-manager, a moment later
    states, listing = _states(operator_client, environment)
    assert states == {"shop": ("in-sync", "")}
    assert "secret missing" not in listing


def test_an_existing_secret_saves_without_a_warning(operator_client, environment):
    data = route_data(tenant_gateway(environment), protocol="https", tls_secret="demo-tls")
    page = operator_client.post(create_url(environment), data, follow=True).content.decode()
    assert "Route shop saved." in page and "does not exist" not in page


def test_a_certificate_for_other_names_is_warned_about(operator_client, environment, kube):
    _secret(kube, environment.namespace, "other-tls", alt_names="www.other.example.org,other.example.org")
    _secret(kube, environment.namespace, "ours-tls", alt_names="*.acme.example.com")
    gateway = tenant_gateway(environment)
    page = operator_client.post(
        create_url(environment), route_data(gateway, protocol="https", tls_secret="other-tls"), follow=True
    ).content.decode()
    assert "TLS secret other-tls is for www.other.example.org, other.example.org, not shop.acme.example.com" in page
    page = operator_client.post(
        create_url(environment),
        route_data(gateway, name="ok", host="ok.acme.example.com", protocol="https", tls_secret="ours-tls"),
        follow=True,
    ).content.decode()
    assert "Route ok saved." in page and "is for" not in page
    states, listing = _states(operator_client, environment)
    assert states == {"ok": ("in-sync", ""), "shop": ("in-sync", "host-not-covered")}
    assert "certificate is for other names" in listing


def test_secrets_are_read_as_metadata_only(operator_client, environment, kube):
    _secret(kube, environment.namespace, "ours-tls")
    create = route_data(tenant_gateway(environment), protocol="https", tls_secret="ours-tls")
    assert operator_client.post(create_url(environment), create).status_code == 302
    with record_calls() as calls:
        operator_client.get(reverse("routes:list", args=[environment.pk]))
        operator_client.get(reverse("routes:detail", args=[environment.pk, "shop"]))
    secret_calls = [c for c in calls if "/secrets" in str(c)]
    assert len(secret_calls) == 2
    assert all("/secrets/" not in str(c) for c in secret_calls)  # listed, never read one by one


def test_without_the_secret_picker_the_console_does_not_tell(operator_client, environment, settings):
    settings.SECRET_PICKER = False
    data = route_data(tenant_gateway(environment), protocol="https", tls_secret="later-tls")
    page = operator_client.post(create_url(environment), data, follow=True).content.decode()
    assert "does not exist" not in page
    assert _states(operator_client, environment)[0] == {"shop": ("in-sync", "")}
