"""The why panel against the real NGINX data plane: a Service scaled to zero endpoints is what stops the
route, the panel puts it first, and the Test button's request through nginx shows the 502/503 it causes."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.test_traffic import (  # noqa: F401  (fixtures)
    WEB,
    Console,
    _failed_with,
    _press_test,
    _served,
    addressed,
    console,
    traffic_ca,
)
from tests.test_why_panel import _panel
from tests.traffic import eventually

pytestmark = pytest.mark.django_db


def _put_endpoints(console: Console, endpoints: list[dict]) -> None:  # noqa: F811
    """Web's Pods scaled: its EndpointSlice (as the data plane wrote it) rewritten as the controller would."""
    path = f"/apis/discovery.k8s.io/v1/namespaces/{console.namespace}/endpointslices/web-1"
    current = console.kube.request("GET", path)
    console.kube.request("PUT", path, body={**current, "endpoints": endpoints})


def test_a_service_scaled_to_zero_is_first_in_the_panel_and_the_test_shows_why(addressed: Console):  # noqa: F811
    path = f"/apis/discovery.k8s.io/v1/namespaces/{addressed.namespace}/endpointslices/web-1"
    serving = addressed.kube.request("GET", path)["endpoints"]
    name, _host = addressed.create("http", WEB)  # the controller serves it (its AddedOrUpdated Event)
    eventually(lambda: _served(_press_test(addressed, name)))

    _put_endpoints(addressed, [])  # scaled to zero: the controller keeps the slice, empty
    _causes, found, _text = eventually(lambda: _first_is_backend(addressed, name))
    assert found[0].startswith("Backend No ready endpoint behind web:80 (0 ready, 0 not ready)")
    tested = eventually(lambda: _failed_with(_press_test(addressed, name), {502, 503}), timeout=20)
    assert "backend" in tested.hint
    page = addressed.client.get(reverse("routes:detail", args=[addressed.environment.pk, name])).content.decode()
    assert 'id="test-route"' in page

    # Scaled up again: nothing stops it, and the request through nginx answers.
    _put_endpoints(addressed, serving)
    eventually(lambda: _served(_press_test(addressed, name)), timeout=20)
    assert _panel(addressed.client, addressed.environment, name)[0] == []


def _first_is_backend(console: Console, name: str):  # noqa: F811
    found = _panel(console.client, console.environment, name)
    assert found[0] == ["backend"], found
    return found
