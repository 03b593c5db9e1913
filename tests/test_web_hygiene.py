"""Security headers, CSRF on HTMX posts, login rate limit, and a clean deploy check."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from tests.helpers import create_url, route_data, tenant_gateway

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent


def test_pages_carry_the_security_headers(operator_client, environment):
    response = operator_client.get(reverse("routes:list", args=[environment.pk]))
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "HX-Request" in response["Vary"]


def test_pages_have_no_inline_script_or_style(operator_client, environment):
    for url in [
        reverse("workbench:environments"),
        reverse("routes:list", args=[environment.pk]),
        create_url(environment),
    ]:
        body = operator_client.get(url).content.decode()
        assert "<script>" not in body and " style=" not in body and "<style" not in body


def test_htmx_post_needs_the_csrf_token_from_hx_headers(operator, environment):
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    page = client.get(create_url(environment))
    token = page.context["csrf_token"]
    assert f'hx-headers=\'{{"X-CSRFToken": "{token}"}}\'' in page.content.decode()
    data = route_data(tenant_gateway(environment))
    assert client.post(create_url(environment), data, HTTP_HX_REQUEST="true").status_code == 403
    ok = client.post(create_url(environment), data, HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN=str(token))
    assert ok.status_code == 200


def test_login_is_locked_after_five_failures(client, django_user_model):
    django_user_model.objects.create_user("victim", password="right-password")
    for _ in range(4):
        assert client.post(reverse("login"), {"username": "victim", "password": "wrong"}).status_code == 200
    assert client.post(reverse("login"), {"username": "victim", "password": "wrong"}).status_code == 429
    # Locked: even the right password is refused until the cool-off ends.
    locked = client.post(reverse("login"), {"username": "victim", "password": "right-password"})
    assert locked.status_code == 429
    assert "Too many failed log-in attempts" in locked.content.decode()


def test_deploy_check_is_clean_with_production_settings():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kubegems_routes.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "x" * 20 + "production-like-secret-key-for-the-check-0123456789",
        "DJANGO_ALLOWED_HOSTS": "console.example.com",
        "DATABASE_URL": "sqlite:///:memory:",
    }
    # Test-only switches set by other tests' fixtures (the browser tests) are not production.
    for name in [
        "DJANGO_SECURE_SSL_REDIRECT",
        "DJANGO_SECURE_COOKIES",
        "DJANGO_SECURE_HSTS_SECONDS",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
    ]:
        env.pop(name, None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues (0 silenced)" in result.stdout


def test_settings_refuse_a_missing_secret_key_without_debug():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "kubegems_routes.settings", "DJANGO_DEBUG": "0"}
    env.pop("DJANGO_SECRET_KEY", None)
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0 and "DJANGO_SECRET_KEY" in result.stderr
