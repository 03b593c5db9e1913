"""Django admin in Chinese: model names, app headers, field labels and filters all translated.

Every page of every model admin shows (Django's, django-axes' and the console's).
"""

from __future__ import annotations

import html
import re

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from kubegems_routes.gateways.models import TenantDomain
from kubegems_routes.identity.models import GroupRole, SignInAccount
from kubegems_routes.tenancy.models import EnvironmentMember, ProjectMember
from tests.helpers import create_url, route_data, tenant_gateway

pytestmark = pytest.mark.django_db
OURS = ("kubegems_routes.",)
# Words that stay as they are in Chinese: product and protocol names, Kubernetes kinds.
KEPT = {
    "KubeGems", "Ingress", "IngressClass", "HTTP", "HTTP/2", "HTTPS", "TLS", "gRPC", "NGINX", "kubeconfig",
    "Prefix", "Exact", "ImplementationSpecific", "YAML", "Secret", "ws", "wss", "WebSocket", "Django",
    "Kubeconfig", "snippet", "IP", "GET", "POST", "Accept", "sha", "API", "Gateway", "HTTPRoute", "GRPCRoute",
    "cert", "manager", "ClusterIssuer",  # cert-manager and its kind
}  # fmt: skip


@pytest.fixture
def admin_zh(client, django_user_model, operator_client, environment):
    operator_client.post(create_url(environment), route_data(tenant_gateway(environment)))  # a route, an audit entry
    TenantDomain.objects.create(cluster=environment.cluster, tenant=environment.project.tenant, domain="acme.example")
    admin_user = django_user_model.objects.create_superuser("root", password="pw")
    ProjectMember.objects.create(project=environment.project, user=admin_user)
    EnvironmentMember.objects.create(environment=environment, user=admin_user)
    GroupRole.objects.create(group="shop-devs", role=GroupRole.Role.ENVIRONMENT_OPERATOR, environment=environment)
    SignInAccount.objects.create(user=admin_user, issuer="https://sso.example.com/realms/acme", subject="root-1")
    client.post(reverse("login"), {"username": "root", "password": "wrong"})  # an axes access attempt and failure
    client.force_login(admin_user)  # an axes access log
    client.user = admin_user
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-CN,zh;q=0.9"
    return client


def _labels(body: str) -> list[str]:
    """What admin shows as names of things: headings, labels, column headers, filter titles, captions, links."""
    parts = re.findall(
        r"<(h1|h2|h3|label|th|caption|summary|legend)\b[^>]*>(.*?)</\1>|<a [^>]*>([^<]*)</a>", body, re.S | re.I
    )
    texts = []
    for _tag, inner, link in parts:
        text = html.unescape(re.sub(r"<[^>]+>", " ", inner or link))
        texts.append(re.sub(r"\s+", " ", text).strip())
    return [t for t in texts if t]


def _english(text: str) -> list[str]:
    words = re.findall(r"[A-Za-z]+(?:/2)?", text)
    return [w for w in words if w not in KEPT]


def _admin_pages(user) -> list[str]:
    urls = [reverse("admin:index")]
    request = RequestFactory().get("/")
    request.user = user
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        if model_admin.has_add_permission(request):  # routes and the audit log are read-only here
            urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_add"))
        obj = model.objects.first()
        if obj is not None or model.__module__.startswith(OURS):
            assert obj is not None, f"no {meta.model_name} to open in admin"
            urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk]))
    for app in {m._meta.app_label for m in admin.site._registry}:
        urls.append(reverse("admin:app_list", args=[app]))
    return urls


def test_every_model_has_a_translated_plural(admin_zh):
    for model in apps.get_models():
        if model.__module__.startswith(OURS):
            # Django's default plural glues an English "s" to the translated name (网关s).
            assert "verbose_name_plural" in model._meta.original_attrs, f"{model.__name__} has no verbose_name_plural"
    index = admin_zh.get(reverse("admin:index")).content.decode()
    for plural in ["网关", "路由", "集群", "租户", "项目", "环境", "审计日志"]:
        assert f">{plural}</a>" in index, plural
    assert not re.search(r"[\u4e00-\u9fff][sS]\b", index), "an English plural 's' glued to a Chinese name"
    for header in ["网关", "路由", "租户与项目", "登录锁定"]:
        assert re.search(rf"<caption>\s*<a [^>]*>{header}</a>", index), header


def test_every_admin_page_of_the_console_speaks_chinese(admin_zh):
    data = _data_words()
    leaks = {}
    for url in _admin_pages(admin_zh.user):
        response = admin_zh.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert 'lang="zh-hans"' in body
        # Names of objects (acme, shop, olivia...) are data, not interface.
        found = [t for t in _labels(body) if set(_english(t)) - data]
        if found or re.search(r"[\u4e00-\u9fff][sS]\b", body):
            leaks[url] = found
    assert leaks == {}, leaks


def test_change_form_labels_cluster_and_tenant(admin_zh, environment):
    gateway = tenant_gateway(environment)
    body = admin_zh.get(reverse("admin:gateways_gateway_change", args=[gateway.pk])).content.decode()
    assert re.search(r"<label[^>]*>集群[:：]</label>", body) and re.search(r"<label[^>]*>租户[:：]</label>", body)
    assert "Cluster:" not in body and "Tenant:" not in body
    assert "默认注解" in body and "默认注解s" not in body.lower()


def _data_words() -> set[str]:
    words: set[str] = set()
    for model in admin.site._registry:
        for obj in model.objects.all():
            for field in model._meta.concrete_fields:
                if field.get_internal_type() in {"CharField", "TextField"}:
                    words.update(_english(str(getattr(obj, field.attname) or "")))
    return words
