"""The types of the fields readback reads, checked by field for a pasted object (pure: no database, no cluster)."""

from __future__ import annotations

import pytest

from kubegems_routes.routes import manifest, shapes
from tests.helpers import ingress


def _route(**spec: object) -> dict:
    return {"kind": "HTTPRoute", "metadata": {"name": "shop"}, "spec": spec}


def test_objects_the_builder_writes_have_the_shape():
    shapes.check(ingress("ns", protocol="https", tls_secret="tls"), shapes.INGRESS)
    spec = manifest.RouteSpec(
        name="shop",
        namespace="ns",
        host="shop.example.com",
        protocol="grpc",
        ingress_class="",
        backends=(manifest.Backend(path="/pkg.Svc/Get", service="api", port="50051"),),
        parent=manifest.GatewayParent("platform", "edge", "http", "https"),
    )
    shapes.check(manifest.build(spec), shapes.GATEWAY_ROUTE)


@pytest.mark.parametrize(
    ("obj", "said"),
    [
        (_route(rules={"backendRefs": []}), "spec.rules must be a list."),
        (_route(rules=[None]), "spec.rules[0] must be a mapping."),
        (
            _route(rules=[{"backendRefs": [{"port": True}]}]),
            "spec.rules[0].backendRefs[0].port must be a whole number.",
        ),
        (_route(hostnames=["a", 7]), "spec.hostnames[1] must be a string: quote it."),
        ({"metadata": {"labels": {"team": 1}}}, "metadata.labels.team must be a string: quote it."),
        ({"metadata": {"annotations": {2: "x"}}}, "metadata.annotations.2 must be a string: quote it."),
        ({"metadata": {"annotations": ["x"]}}, "metadata.annotations must be a mapping."),
        ({"spec": "x"}, "spec must be a mapping."),
    ],
)
def test_the_first_field_of_the_wrong_type_is_named(obj, said):
    with pytest.raises(shapes.WrongType) as wrong:
        shapes.check(obj, shapes.GATEWAY_ROUTE)
    assert str(wrong.value) == said


def test_absent_and_null_fields_are_left_to_readback():
    shapes.check(_route(rules=None, hostnames=[]), shapes.GATEWAY_ROUTE)
    shapes.check({"metadata": None}, shapes.INGRESS)
