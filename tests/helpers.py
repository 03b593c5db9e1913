from __future__ import annotations

import time
from collections.abc import Callable

from django.urls import reverse

from kubegems_routes.gateways.models import Gateway
from kubegems_routes.routes import manifest
from kubegems_routes.routes.models import Route
from kubegems_routes.tenancy.models import Environment


def route_data(gateway: Gateway | int | str, **overrides: str) -> dict[str, str]:
    """A create-form POST as the browser sends it, one path row, one annotation row."""
    data = {
        "name": "shop",
        "gateway": str(getattr(gateway, "pk", gateway)),
        "host": "shop.acme.example.com",
        "protocol": "http",
        "tls_secret": "",
        "paths-TOTAL_FORMS": "1",
        "paths-INITIAL_FORMS": "0",
        "paths-MIN_NUM_FORMS": "1",
        "paths-MAX_NUM_FORMS": "50",
        "paths-0-path": "/",
        "paths-0-path_type": "Prefix",
        "paths-0-service": "web",
        "paths-0-port": "80",
        "annotations-TOTAL_FORMS": "1",
        "annotations-INITIAL_FORMS": "0",
        "annotations-MIN_NUM_FORMS": "0",
        "annotations-MAX_NUM_FORMS": "100",
        "annotations-0-key": "",
        "annotations-0-value": "",
        "_action": "save",
    }
    data.update(overrides)
    return data


def create_url(environment: Environment) -> str:
    return reverse("routes:create", args=[environment.pk])


def action_url(environment: Environment, action: str, route: str = "") -> str:
    """Where the form posts a row action or asks for a live fragment (preview, secret, port...)."""
    if route:
        return reverse("routes:edit-action", args=[environment.pk, route, action])
    return reverse("routes:create-action", args=[environment.pk, action])


def create_route(client, environment: Environment, **overrides: str) -> Route:
    """Create a route through the form, as a user does; fails the test with the page if it was not saved."""
    response = client.post(create_url(environment), route_data(tenant_gateway(environment), **overrides))
    assert response.status_code == 302, response.content.decode()[:1500]
    return Route.objects.get(environment=environment, name=overrides.get("name", "shop"))


def tenant_gateway(environment: Environment) -> Gateway:
    return Gateway.objects.get(cluster=environment.cluster, tenant=environment.project.tenant)


def default_gateway(environment: Environment) -> Gateway:
    return Gateway.objects.get(cluster=environment.cluster, tenant=None)


def ingress(namespace: str, **overrides: object) -> dict:
    """An Ingress manifest built by the project's own builder, for creating objects directly."""
    values: dict = {
        "name": "shop",
        "namespace": namespace,
        "host": "x.example.com",
        "protocol": "http",
        "ingress_class": "other",
        "backends": (manifest.Backend(path="/", service="web", port="80"),),
    }
    values.update(overrides)
    return manifest.build_ingress(manifest.RouteSpec(**values))


def until(condition: Callable[[], bool], timeout: float = 5) -> None:
    """Wait for the API server's watch cache to show a write (the console reads some lists from it)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the watch cache did not catch up within the timeout")
        time.sleep(0.01)
