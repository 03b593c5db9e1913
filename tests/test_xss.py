"""User-supplied text is escaped wherever it is shown: forms, previews, lists, detail pages."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.helpers import action_url, create_url, route_data, tenant_gateway

pytestmark = pytest.mark.django_db

PAYLOADS = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>']
TEXT_FIELDS = [
    "name",
    "host",
    "tls_secret",
    "paths-0-path",
    "paths-0-service",
    "paths-0-port",
    "annotations-0-key",
    "annotations-0-value",
]


def _assert_escaped(body: str, payload: str) -> None:
    assert payload not in body
    assert "<script>alert" not in body and "<img src=x" not in body


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_payload_in_any_field_is_rendered_escaped(field, payload, operator_client, environment, kube):
    data = {**route_data(tenant_gateway(environment), protocol="https", tls_secret="demo-tls"), field: payload}
    if field.startswith("annotations-0-") and field.endswith("value"):
        data["annotations-0-key"] = "example.com/note"
    for extra in ({}, {"HTTP_HX_REQUEST": "true"}):
        response = operator_client.post(create_url(environment), data, **extra)
        assert response.status_code in (200, 302)
        if response.status_code == 200:
            _assert_escaped(response.content.decode(), payload)
        preview = operator_client.post(action_url(environment, "preview"), data, **extra)
        _assert_escaped(preview.content.decode(), payload)
    for url in [
        reverse("routes:list", args=[environment.pk]),
        reverse("routes:list", args=[environment.pk]) + "?q=" + payload,
    ]:
        _assert_escaped(operator_client.get(url).content.decode(), payload)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_stored_annotation_is_escaped_on_every_page(payload, operator_client, environment):
    data = route_data(
        tenant_gateway(environment), **{"annotations-0-key": "example.com/note", "annotations-0-value": payload}
    )
    assert operator_client.post(create_url(environment), data).status_code == 302
    for name in ["routes:detail", "routes:edit", "routes:delete"]:
        body = operator_client.get(reverse(name, args=[environment.pk, "shop"])).content.decode()
        _assert_escaped(body, payload)
        if name != "routes:delete":  # the confirmation does not show annotations
            assert "&lt;" in body


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_name_is_escaped_in_the_secret_cert_manager_would_write(payload, operator_client, environment):
    gateway = tenant_gateway(environment)
    gateway.cluster_issuer = "letsencrypt"
    gateway.save()
    data = route_data(gateway, name=payload, protocol="https", tls_source="cert-manager")
    for action in ("certificate", "secret", "preview"):
        for extra in ({}, {"HTTP_HX_REQUEST": "true"}):
            body = operator_client.post(action_url(environment, action), data, **extra).content.decode()
            _assert_escaped(body, payload)
    _assert_escaped(operator_client.post(create_url(environment), data).content.decode(), payload)
