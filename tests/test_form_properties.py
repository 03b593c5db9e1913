"""Property: whatever text lands in the create form, no response is a server error, and every
route that is accepted round-trips unchanged through the API server."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from kubegems_routes.routes import manifest
from kubegems_routes.routes.models import Route
from tests.helpers import create_url, route_data, tenant_gateway

pytestmark = pytest.mark.django_db

anything = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)


valid_fields = {
    "name": st.from_regex(r"[a-z][a-z0-9-]{0,20}[a-z0-9]", fullmatch=True),
    "host": st.one_of(st.just(""), st.from_regex(r"([a-z]{1,8}\.){1,3}[a-z]{2,5}", fullmatch=True)),
    "protocol": st.sampled_from(manifest.PROTOCOLS),
    "tls_secret": st.just("demo-tls"),
    "tls_source": st.sampled_from(["secret", "cert-manager"]),
    "paths-0-path": st.from_regex(r"/[A-Za-z0-9/_.~-]{0,20}", fullmatch=True),
    "paths-0-path_type": st.sampled_from(manifest.PATH_TYPES),
    # Service "web" has ports 80 (http) and 9090 (metrics), as the demo seeds it.
    "paths-0-service": st.just("web"),
    "paths-0-port": st.sampled_from(["80", "9090", "http", "metrics"]),
    "annotations-0-key": st.one_of(st.just(""), st.from_regex(r"example\.com/[a-z][a-z0-9-]{0,10}", fullmatch=True)),
    "annotations-0-value": anything,
}


@st.composite
def fields(draw: st.DrawFn) -> dict[str, str]:
    """Plausible values, with any number of fields (often one, sometimes all) replaced by arbitrary text."""
    values = draw(st.fixed_dictionaries(valid_fields))
    for key in draw(st.lists(st.sampled_from(sorted(valid_fields)), max_size=len(valid_fields), unique=True)):
        values[key] = draw(anything)
    return values


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(values=fields())
def test_any_input_is_refused_cleanly_or_round_trips(values, operator_client, environment, kube):
    gateway = tenant_gateway(environment)
    if not gateway.cluster_issuer:  # so that asking cert-manager for a certificate can be accepted
        gateway.cluster_issuer = "letsencrypt"
        gateway.save()
    data = {**route_data(gateway), **values}
    response = operator_client.post(create_url(environment), data)  # a server error raises here
    assert response.status_code in (200, 302)
    event("accepted" if response.status_code == 302 else "refused")
    if response.status_code != 302:
        return
    route = Route.objects.get(environment=environment, name=values["name"])
    expected = manifest.build_ingress(route.spec())
    stored = kube.get_ingress(environment.namespace, route.name)
    assert stored["spec"] == expected["spec"]
    assert stored["metadata"].get("annotations", {}) == expected["metadata"].get("annotations", {})
    assert stored["metadata"]["labels"] == expected["metadata"]["labels"]
    # Like every text field, key and value lose surrounding whitespace (str.strip: \x1c-\x1f count too).
    key, value = values["annotations-0-key"].strip(), values["annotations-0-value"].strip()
    assert route.annotations == ({key: value} if key else {})
