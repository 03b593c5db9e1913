"""The path row's port choices, from the chosen Service's ports: pure, no cluster."""

from __future__ import annotations

from django.utils import translation

from kubegems_routes.kube.client import Service, ServicePort
from kubegems_routes.routes.forms import PathForm

WEB = Service("web", (ServicePort("http", 80, "TCP"), ServicePort("metrics", 9090, "TCP")))


def _port_choices(port: str) -> list[tuple[str, str]]:
    form = PathForm(
        data={"p-path": "/", "p-path_type": "Prefix", "p-service": "web", "p-port": port},
        prefix="p",
        services={"web": WEB},
    )
    return [(str(value), str(label)) for value, label in form.fields["port"].widget.choices]


def test_a_port_kept_by_name_is_offered_once_and_said_to_be_by_name():
    with translation.override("en"):
        choices = _port_choices("http")
    assert choices == [("80", "http (80/TCP)"), ("9090", "metrics (9090/TCP)"), ("http", "http (80/TCP), by name")]


def test_a_port_the_service_does_not_have_is_offered_as_typed():
    assert _port_choices("8443")[-1] == ("8443", "8443")


def test_a_port_chosen_by_number_adds_nothing():
    assert _port_choices("80") == [("80", "http (80/TCP)"), ("9090", "metrics (9090/TCP)")]
