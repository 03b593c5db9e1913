"""Every URL of the console, as every kind of user: the status of each cell."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kubegems_routes.routes.models import AuditEntry, Route
from kubegems_routes.tenancy.models import EnvironmentMember, ProjectMember, Tenant, TenantMember
from tests.helpers import action_url, create_url, ingress, route_data, tenant_gateway

pytestmark = pytest.mark.django_db

# (name, method): expected status for anonymous, outsider (another tenant's admin), reader, operator
MATRIX = {
    ("environments", "GET"): (302, 200, 200, 200),
    ("environment", "GET"): (302, 404, 200, 200),
    ("list", "GET"): (302, 404, 200, 200),
    ("detail", "GET"): (302, 404, 200, 200),
    ("as-gateway-api", "GET"): (302, 404, 200, 200),
    # Without a Gateway API gateway to move to (the route's own is an NGINX one), the operator's move is a 400;
    # tests/test_route_move.py moves one.
    ("move", "POST"): (302, 404, 403, 400),
    # No move under way: the operator is sent to the route's page.
    ("move-status", "GET"): (302, 404, 403, 302),
    ("move-status", "POST"): (302, 404, 403, 302),
    ("create", "GET"): (302, 404, 403, 200),
    ("create", "POST"): (302, 404, 403, 302),
    ("edit", "GET"): (302, 404, 403, 200),
    ("edit", "POST"): (302, 404, 403, 302),
    ("delete", "GET"): (302, 404, 403, 200),
    ("delete", "POST"): (302, 404, 403, 302),
    ("service", "POST"): (302, 404, 403, 200),
    ("preview", "POST"): (302, 404, 403, 200),
    ("secrets", "GET"): (302, 404, 403, 200),
    ("audit", "GET"): (302, 404, 403, 200),
    ("reapply", "POST"): (302, 404, 403, 302),
    ("takeover", "POST"): (302, 404, 403, 302),
    ("import", "POST"): (302, 404, 403, 302),
    ("history", "GET"): (302, 404, 200, 200),
    ("manifest", "GET"): (302, 404, 200, 200),
    ("version-manifest", "GET"): (302, 404, 200, 200),
    ("paste", "POST"): (302, 404, 403, 200),
    ("revert", "GET"): (302, 404, 403, 200),
    ("revert", "POST"): (302, 404, 403, 302),
    ("review", "POST"): (302, 404, 403, 200),
}
ROLES = ("anonymous", "outsider", "reader", "operator")


def _url(name, environment):
    env = environment.pk
    return {
        "environments": reverse("workbench:environments"),
        "environment": reverse("workbench:environment", args=[env]),
        "list": reverse("routes:list", args=[env]),
        "detail": reverse("routes:detail", args=[env, "shop"]),
        "as-gateway-api": reverse("routes:as-gateway-api", args=[env, "shop"]),
        "move": reverse("routes:move", args=[env, "shop"]),
        "move-status": reverse("routes:move-status", args=[env, "shop"]),
        "create": create_url(environment),
        "edit": reverse("routes:edit", args=[env, "shop"]),
        "delete": reverse("routes:delete", args=[env, "shop"]),
        "service": action_url(environment, "service"),
        "preview": action_url(environment, "preview", "shop"),
        "secrets": reverse("routes:secrets", args=[env]),
        "audit": reverse("routes:audit", args=[env]),
        "reapply": reverse("routes:reapply", args=[env, "shop"]),
        "takeover": reverse("routes:takeover", args=[env, "shop"]),
        "import": reverse("routes:import", args=[env]),
        "history": reverse("routes:history", args=[env, "shop"]),
        "manifest": reverse("routes:manifest", args=[env, "shop"]),
        "version-manifest": reverse("routes:version-manifest", args=[env, "shop", 1]),
        "paste": action_url(environment, "paste"),
        "revert": reverse("routes:revert", args=[env, "shop", 1]),
        "review": reverse("routes:edit", args=[env, "shop"]),
    }[name]


# What each write must have done when it was allowed, and must not have done when it was refused:
# a status alone says little, since these views also redirect when they fail.
OUTCOMES = {
    "create": lambda env: Route.objects.filter(environment=env, name="matrix-new").exists(),
    "edit": lambda env: AuditEntry.objects.filter(environment=env, action=AuditEntry.Action.UPDATE).exists(),
    "delete": lambda env: not Route.objects.filter(environment=env, name="shop").exists(),
    "reapply": lambda env: AuditEntry.objects.filter(environment=env, action=AuditEntry.Action.REAPPLY).exists(),
    "takeover": lambda env: AuditEntry.objects.filter(environment=env, action=AuditEntry.Action.TAKE_OVER).exists(),
    "import": lambda env: Route.objects.filter(environment=env, name="legacy").exists(),
    "revert": lambda env: AuditEntry.objects.filter(environment=env, action=AuditEntry.Action.REVERT).exists(),
}


@pytest.fixture
def route(operator_client, environment, kube):
    response = operator_client.post(create_url(environment), route_data(tenant_gateway(environment)))
    assert response.status_code == 302
    # An Ingress the console did not make, for the import cell.
    legacy = ingress(
        environment.namespace,
        name="legacy",
        host="legacy.acme.example.com",
        ingress_class=tenant_gateway(environment).ingress_class,
    )
    kube.create_ingress(environment.namespace, legacy)
    operator_client.logout()


def _as(role, client, django_user_model, environment, operator):
    if role == "anonymous":
        return client
    if role == "operator":
        client.force_login(operator)
        return client
    user = django_user_model.objects.create_user(role, password="pw")
    if role == "outsider":
        TenantMember.objects.create(tenant=Tenant.objects.create(name="other"), user=user, role="admin")
    else:
        EnvironmentMember.objects.create(environment=environment, user=user, role="reader")
    client.force_login(user)
    return client


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "method"), list(MATRIX))
def test_access_matrix(name, method, role, client, django_user_model, environment, operator, route):
    client = _as(role, client, django_user_model, environment, operator)
    url = _url(name, environment)
    if method == "GET":
        response = client.get(url)
    else:
        data = {
            "create": route_data(tenant_gateway(environment), name="matrix-new", host="new.acme.example.com"),
            "edit": route_data(tenant_gateway(environment), host="edited.acme.example.com"),
            "import": {"name": "legacy"},
            "paste": {"manifest": "kind: Ingress"},
            "service": route_data(tenant_gateway(environment), row="0"),
            "preview": route_data(tenant_gateway(environment)),
            "review": route_data(tenant_gateway(environment), _action="review", **{"paths-0-path": "/r"}),
        }.get(name, {})
        response = client.post(url, data)
    expected = MATRIX[(name, method)][ROLES.index(role)]
    assert response.status_code == expected, response.content.decode()[:800]
    if expected == 302 and role == "anonymous":
        assert response["Location"].startswith(reverse("login"))
    if method == "POST" and name in OUTCOMES:
        assert OUTCOMES[name](environment) is (role == "operator"), f"{name} as {role}"


@pytest.mark.parametrize(
    ("kind", "role", "can_write"),
    [
        ("tenant", "admin", True),
        ("tenant", "member", False),
        ("project", "admin", True),
        ("project", "ops", True),
        ("project", "dev", False),
        ("project", "test", False),
        ("environment", "operator", True),
        ("environment", "reader", False),
    ],
)
def test_who_may_write_routes(kind, role, can_write, client, django_user_model, environment):
    user = django_user_model.objects.create_user("u", password="pw")
    if kind == "tenant":
        TenantMember.objects.create(tenant=environment.project.tenant, user=user, role=role)
    elif kind == "project":
        ProjectMember.objects.create(project=environment.project, user=user, role=role)
    else:
        EnvironmentMember.objects.create(environment=environment, user=user, role=role)
    client.force_login(user)
    assert client.get(reverse("routes:list", args=[environment.pk])).status_code == 200
    assert client.get(create_url(environment)).status_code == (200 if can_write else 403)
    assert ("Create route" in client.get(reverse("routes:list", args=[environment.pk])).content.decode()) is can_write


def test_staff_sees_every_environment(client, django_user_model, environment):
    client.force_login(django_user_model.objects.create_user("sysadmin", password="pw", is_staff=True))
    assert client.get(create_url(environment)).status_code == 200
