"""The route form checks nginx.org/* values as the controller would, on the row, before anything is written."""

from __future__ import annotations

import pytest

from kubegems_routes.kube.client import KubeClient
from kubegems_routes.kube.errors import NotFound
from kubegems_routes.routes.models import Route
from tests.helpers import create_url, gateway_api_gateway, route_data, tenant_gateway

pytestmark = pytest.mark.django_db


def _rows(**annotations: str) -> dict[str, str]:
    data = {"annotations-TOTAL_FORMS": str(len(annotations))}
    for i, (key, value) in enumerate(annotations.items()):
        data |= {f"annotations-{i}-key": key, f"annotations-{i}-value": value}
    return data


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("nginx.org/proxy-read-timeout", "banana", "time"),
        ("nginx.org/lb-method", "fastest", "least_conn"),
        ("nginx.org/redirect-to-https", "maybe", "true or false"),
        ("nginx.org/client-max-body-size", "10mb", "size"),
        ("nginx.org/limit-req-rate", "10r/h", "rate"),
        ("nginx.org/max-fails", "lots", "whole number"),
        ("nginx.org/websocket-services", "shop", "'shop'"),
        ("nginx.org/rewrites", "serviceName=shop rewrite=/", "'shop'"),
    ],
)
def test_a_value_the_controller_would_refuse_is_refused_on_its_row(
    key, value, words, operator_client, environment, kube: KubeClient
):
    gateway = tenant_gateway(environment)
    data = route_data(gateway, name="checked", **_rows(**{"nginx.org/proxy-connect-timeout": "5s", key: value}))
    response = operator_client.post(create_url(environment), data)
    assert response.status_code == 200
    rows = response.context["editor"].annotations.forms
    assert rows[0].errors == {}
    assert words in rows[1].errors["value"][0], rows[1].errors
    page = response.content.decode()
    assert f'value="{value}"' in page  # the input is kept
    assert not Route.objects.filter(name="checked").exists()
    with pytest.raises(NotFound):
        kube.get_ingress(environment.namespace, "checked")


def test_values_the_controller_accepts_are_saved(operator_client, environment, kube: KubeClient):
    gateway = tenant_gateway(environment)
    rows = _rows(
        **{
            "nginx.org/proxy-read-timeout": "1m 30s",
            "nginx.org/lb-method": "hash $request_uri consistent",
            "nginx.org/redirect-to-https": "True",
            "nginx.org/rewrites": "serviceName=web rewrite=/v1",
        }
    )
    response = operator_client.post(create_url(environment), route_data(gateway, name="fine", **rows))
    assert response.status_code == 302, response.content.decode()[:2000]
    stored = kube.get_ingress(environment.namespace, "fine")["metadata"]["annotations"]
    assert stored["nginx.org/lb-method"] == "hash $request_uri consistent"


def test_the_gateways_defaults_are_not_refused_and_count_as_companions(operator_client, environment):
    gateway = tenant_gateway(environment)
    gateway.annotations.create(key="nginx.org/proxy-read-timeout", value="banana")  # an admin's, not the user's
    gateway.annotations.create(key="nginx.org/hsts", value="true")
    data = route_data(gateway, name="defaults", **_rows(**{"nginx.org/hsts-max-age": "600"}))
    response = operator_client.post(create_url(environment), data)
    assert response.status_code == 302, response.content.decode()[:2000]


def test_an_unknown_nginx_key_is_warned_of_with_the_nearest_known_one(operator_client, environment):
    gateway = tenant_gateway(environment)
    data = route_data(gateway, name="typo", **_rows(**{"nginx.org/proxy-read-timeot": "60s"}))
    page = operator_client.post(create_url(environment) + "add-annotation/", data).content.decode()
    assert "did you mean nginx.org/proxy-read-timeout?" in page  # on the row, while the form is filled in
    assert 'aria-describedby="id_annotations-0-key-warning"' in page and 'id="id_annotations-0-key-warning"' in page
    response = operator_client.post(create_url(environment), data)
    assert response.status_code == 302  # a warning, not an error


def test_the_row_error_is_in_the_users_language(operator_client, environment):
    data = route_data(tenant_gateway(environment), name="zh", **_rows(**{"nginx.org/proxy-read-timeout": "banana"}))
    response = operator_client.post(create_url(environment), data, HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert "必须是时间" in response.content.decode()
    page = operator_client.post(
        create_url(environment) + "add-annotation/",
        route_data(tenant_gateway(environment), **_rows(**{"nginx.org/lbmethod": "least_conn"})),
        HTTP_ACCEPT_LANGUAGE="zh-CN",
    ).content.decode()
    assert "NGINX Ingress Controller 不读取 nginx.org/lbmethod：您是想写 nginx.org/lb-method 吗？" in page


def test_a_gateway_api_gateway_keeps_annotations_as_metadata_unchecked(operator_client, environment, gateway_api, kube):
    gateway = gateway_api_gateway(environment, kube)
    data = route_data(gateway, name="gw", **_rows(**{"nginx.org/lb-method": "fastest"}))
    response = operator_client.post(create_url(environment), data)
    assert response.status_code == 302, response.content.decode()[:2000]
