"""A gateway's default annotations, typed in Django admin, checked as the controller will see them on every route;
and a gateway-wide re-apply that will not spread a bad default stored before."""

from __future__ import annotations

from html import unescape

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from kubegems_routes.gateways.models import Gateway, GatewayAnnotation
from kubegems_routes.routes import gateway_defaults, manifest
from kubegems_routes.routes.models import AuditEntry, Route
from kubegems_routes.routes.saving import save_route
from kubegems_routes.routes.values import RouteValues
from tests.helpers import default_gateway, tenant_gateway

pytestmark = pytest.mark.django_db


def _rows(*rows: tuple[str, str], initial: int = 0, **fields: str) -> dict[str, str]:
    data = {
        "annotations-TOTAL_FORMS": str(len(rows)),
        "annotations-INITIAL_FORMS": str(initial),
        "annotations-MIN_NUM_FORMS": "0",
        "annotations-MAX_NUM_FORMS": "1000",
    }
    for i, (key, value) in enumerate(rows):
        data |= {f"annotations-{i}-key": key, f"annotations-{i}-value": value}
    return data | fields


def _gateway_form(environment, *rows: tuple[str, str], **fields: str) -> dict[str, str]:
    return {
        "cluster": str(environment.cluster.pk),
        "tenant": str(environment.project.tenant.pk),
        "name": "edge",
        "kind": "ingress",
        "ingress_class": "",
        "default_domain": "*.edge.io",
        "http2": "on",
        **_rows(*rows),
        **fields,
    }


def _add(admin_client, environment, *rows: tuple[str, str], follow: bool = False, **fields: str):
    data = _gateway_form(environment, *rows, **fields)
    return admin_client.post(reverse("admin:gateways_gateway_add"), data, follow=follow)


def _row_errors(response) -> list[dict[str, list[str]]]:
    return [dict(form.errors) for form in response.context["inline_admin_formsets"][0].formset.forms]


@pytest.mark.parametrize(
    ("key", "value", "field", "reason"),
    [
        ("nginx.org/proxy-read-timeout", "banana", "value", "Must be a time such as 60s"),
        ("nginx.org/redirect-to-https", "maybe", "value", "Must be true or false."),
        ("nginx.org/client-max-body-size", "", "value", "The controller needs a value here."),
        ("nginx.org/hsts-max-age", "31536000", "value", "Needs nginx.org/hsts set to true or false as well."),
        ("nginx.org/mergeable-ingress-type", "minion", "value", "Routes with TLS (https, wss, grpc) on this gateway"),
        ("nginx.org/rewrites", "serviceName=web rewrite=/", "key", "This names Services of one route"),
        ("nginx.org/websocket-services", "web", "key", "This names Services of one route"),
    ],
)
def test_a_bad_default_is_refused_on_its_row_with_the_reason_and_nothing_is_saved(
    key, value, field, reason, admin_client, environment
):
    response = _add(admin_client, environment, ("example.com/team", "edge"), (key, value))
    assert response.status_code == 200
    assert not Gateway.objects.filter(name="edge").exists()
    assert not GatewayAnnotation.objects.filter(key="example.com/team").exists()
    errors = _row_errors(response)
    assert errors[0] == {}
    assert list(errors[1]) == [field] and reason in errors[1][field][0], errors
    page = unescape(response.content.decode())
    assert reason in page
    # What the admin typed stays in the row, to be corrected.
    row = response.context["inline_admin_formsets"][0].formset.forms[1]
    assert (row["key"].value(), row["value"].value()) == (key, value)


def test_a_good_default_saves_and_a_bad_change_leaves_it_as_it_was(admin_client, environment):
    response = _add(admin_client, environment, ("nginx.org/proxy-read-timeout", "30s"), ("nginx.org/hsts", "true"))
    assert response.status_code == 302, response.content.decode()[-3000:]
    gateway = Gateway.objects.get(name="edge")
    assert gateway.annotation_dict() == {"nginx.org/proxy-read-timeout": "30s", "nginx.org/hsts": "true"}

    stored = {a.key: a for a in gateway.annotations.all()}
    change = _gateway_form(
        environment,
        ("nginx.org/hsts", "true"),
        ("nginx.org/proxy-read-timeout", "banana"),
        ("nginx.org/hsts-max-age", "3600"),
        ingress_class=gateway.ingress_class,
        **{"annotations-INITIAL_FORMS": "2"},
    )
    for i, key in enumerate(["nginx.org/hsts", "nginx.org/proxy-read-timeout"]):
        change |= {f"annotations-{i}-id": str(stored[key].pk), f"annotations-{i}-gateway": str(gateway.pk)}
    url = reverse("admin:gateways_gateway_change", args=[gateway.pk])
    response = admin_client.post(url, change)
    assert response.status_code == 200
    assert [list(e) for e in _row_errors(response)] == [[], ["value"], []]
    assert gateway.annotation_dict() == {"nginx.org/proxy-read-timeout": "30s", "nginx.org/hsts": "true"}

    # A companion among the defaults counts: hsts-max-age with hsts set.
    response = admin_client.post(url, {**change, "annotations-1-value": "2m"})
    assert response.status_code == 302, _row_errors(response)
    assert gateway.annotation_dict() == {
        "nginx.org/hsts": "true",
        "nginx.org/proxy-read-timeout": "2m",
        "nginx.org/hsts-max-age": "3600",
    }


def test_removing_a_companion_refuses_the_default_that_needs_it(admin_client, environment):
    response = _add(admin_client, environment, ("nginx.org/hsts", "true"), ("nginx.org/hsts-max-age", "3600"))
    assert response.status_code == 302
    gateway = Gateway.objects.get(name="edge")
    stored = {a.key: a for a in gateway.annotations.all()}
    change = _gateway_form(
        environment,
        ("nginx.org/hsts", "true"),
        ("nginx.org/hsts-max-age", "3600"),
        ingress_class=gateway.ingress_class,
        **{"annotations-INITIAL_FORMS": "2", "annotations-0-DELETE": "on"},
    )
    for i, key in enumerate(["nginx.org/hsts", "nginx.org/hsts-max-age"]):
        change |= {f"annotations-{i}-id": str(stored[key].pk), f"annotations-{i}-gateway": str(gateway.pk)}
    response = admin_client.post(reverse("admin:gateways_gateway_change", args=[gateway.pk]), change)
    assert response.status_code == 200
    assert [list(e) for e in _row_errors(response)] == [[], ["value"]]
    assert len(gateway.annotation_dict()) == 2


def test_an_unknown_key_warns_with_the_nearest_known_key_and_is_kept(admin_client, environment):
    response = _add(admin_client, environment, ("nginx.org/proxy-read-timout", "banana"), follow=True)
    assert response.redirect_chain, _row_errors(response)
    assert Gateway.objects.get(name="edge").annotation_dict() == {"nginx.org/proxy-read-timout": "banana"}
    shown = [str(m) for m in response.context["messages"] if m.level_tag == "warning"]
    assert shown == [
        "The NGINX Ingress Controller does not read nginx.org/proxy-read-timout: did you mean "
        "nginx.org/proxy-read-timeout? It was kept as typed; the controller ignores it."
    ]


def test_the_refusal_speaks_chinese(admin_client, environment):
    admin_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-CN,zh;q=0.9"
    response = _add(admin_client, environment, ("nginx.org/rewrites", "serviceName=web rewrite=/"))
    assert response.status_code == 200
    message = _row_errors(response)[0]["key"][0]
    assert "This names" not in message and "路由" in message, message


def test_a_gateway_api_gateways_defaults_are_not_read_by_nginx_and_not_checked(admin_client, environment):
    response = _add(
        admin_client,
        environment,
        ("nginx.org/proxy-read-timeout", "banana"),
        name="mesh",
        kind="gateway-api",
        gateway_namespace="platform",
        gateway_name="mesh",
    )
    assert response.status_code == 302, _row_errors(response)


def test_only_the_syntax_of_a_sticky_cookie_default_is_checked():
    # The controller checks sticky-cookie-services' syntax, not that the Services exist.
    assert gateway_defaults.refusals({"nginx.org/sticky-cookie-services": "serviceName=web srv_id expires=1h"}) == []
    assert [r.field for r in gateway_defaults.refusals({"nginx.org/sticky-cookie-services": "web"})] == ["value"]


# -- re-apply -----------------------------------------------------------------------------------------------


def test_reapply_spreads_no_bad_default_stored_before_and_reapplies_the_other_gateways(
    admin_client, operator, environment, kube
):
    gateway = tenant_gateway(environment)
    GatewayAnnotation.objects.create(gateway=gateway, key="nginx.org/proxy-read-timeout", value="60s")
    for name in ("a", "b"):
        values = RouteValues(
            gateway=gateway,
            host=f"{name}.acme.example.com",
            protocol="http",
            tls_secret="",
            backends=(manifest.Backend(path="/", service="web", port="80"),),
        )
        save_route(Route(environment=environment, name=name), values, operator)
    # Written around admin's check (or stored before it existed).
    GatewayAnnotation.objects.filter(gateway=gateway).update(value="banana")
    changelist = reverse("admin:gateways_gateway_changelist")
    reapplied = AuditEntry.objects.filter(environment=environment, action=AuditEntry.Action.GATEWAY_REAPPLY)

    response = admin_client.post(changelist, {"action": "reapply_routes", "_selected_action": [gateway.pk]})
    assert response.status_code == 302
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert len(said) == 1 and f"The routes of gateway {gateway.name} were not re-applied" in said[0]
    assert "nginx.org/proxy-read-timeout: Must be a time" in said[0]
    assert reapplied.count() == 0
    for name in ("a", "b"):
        assert kube.get_ingress(environment.namespace, name)["metadata"]["annotations"] == {
            "nginx.org/proxy-read-timeout": "60s"
        }

    # With a gateway whose defaults are fine, that one is re-applied and the refusal is said on its page.
    other = default_gateway(environment)
    response = admin_client.post(changelist, {"action": "reapply_routes", "_selected_action": [gateway.pk, other.pk]})
    assert response.status_code == 200 and response.streaming
    body = unescape(b"".join(response.streaming_content).decode())
    assert f"The routes of gateway {gateway.name} were not re-applied" in body
    assert f"Gateway {other.name}" in body and f"Gateway {gateway.name}<" not in body
    assert reapplied.count() == 0
