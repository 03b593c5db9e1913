"""Routes saved before versions were recorded (migration 0010) get a version 1 from migration 0013: their
values as stored, the object the audit log last says was applied, marked as recorded when history began."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.urls import reverse

from kubegems_routes.routes.models import AuditEntry, Route, RouteVersion
from tests.helpers import create_route, route_data, tenant_gateway

pytestmark = pytest.mark.django_db

backfill = importlib.import_module("kubegems_routes.routes.migrations.0013_route_versions_backfill")


def _before_versions(route: Route) -> None:
    """The route as a console before 0010 left it: audit entries, no version."""
    RouteVersion.objects.filter(route=route).delete()


def test_a_route_from_before_versions_gets_version_1_from_its_values_and_last_applied_object(
    operator_client, operator, environment
):
    route = create_route(operator_client, environment, **{"paths-0-path": "/shop"})
    applied = AuditEntry.objects.get(environment=environment, route_name="shop").manifest
    AuditEntry.objects.create(environment=environment, route_name="shop", action=AuditEntry.Action.TEST, user=operator)
    _before_versions(route)

    backfill.record_first_versions(apps, None)

    (v1,) = RouteVersion.objects.filter(route=route)
    route.refresh_from_db()
    assert (v1.number, v1.action, v1.user, v1.reverted_to) == (1, AuditEntry.Action.RECORDED, operator, None)
    assert v1.created_at == route.updated_at
    assert v1.values["host"] == route.host and v1.values["annotations"] == {}
    assert v1.values["backends"] == [{"path": "/shop", "path_type": "Prefix", "service": "web", "port": "80"}]
    assert v1.manifest == applied and v1.manifest["kind"] == "Ingress"
    page = operator_client.get(reverse("routes:history", args=[environment.pk, "shop"])).content.decode()
    assert 'id="version-1"' in page and "recorded when history began" in page
    assert "The route as it was when the console began to record versions" in page

    # Running it again adds nothing; the next save is version 2, compared with version 1.
    backfill.record_first_versions(apps, None)
    assert RouteVersion.objects.filter(route=route).count() == 1
    edited = operator_client.post(
        reverse("routes:edit", args=[environment.pk, "shop"]),
        route_data(tenant_gateway(environment), **{"paths-0-path": "/store"}),
    )
    assert edited.status_code == 302
    page = operator_client.get(reverse("routes:history", args=[environment.pk, "shop"])).content.decode()
    assert 'id="version-2"' in page and "-        path: /shop\n+        path: /store" in page


def test_a_route_without_an_applied_object_in_the_audit_log_says_so(operator_client, environment):
    route = create_route(operator_client, environment)
    AuditEntry.objects.filter(environment=environment).delete()
    _before_versions(route)

    backfill.record_first_versions(apps, None)

    (v1,) = RouteVersion.objects.filter(route=route)
    assert v1.manifest == {} and v1.values["backends"][0]["service"] == "web"
    page = operator_client.get(reverse("routes:history", args=[environment.pk, "shop"])).content.decode()
    assert "Not recorded: the audit log holds no object applied for it." in page
