"""The Behaviour part of the create form in a real browser: a refused value shown on its field with the input
kept, the preview showing what the fields write, and the saved Ingress carrying it. English and Chinese, at
desktop (1440 px) and phone (390 px) width."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from kubegems_routes.kube.client import KubeClient
from kubegems_routes.routes.models import Route
from tests.e2e.conftest import VIEWPORTS
from tests.e2e.test_route_form import SAVE, _choose_service, _public, _save, _settle_preview, olivia  # noqa: F401
from tests.helpers import gateway_api_gateway

pytestmark = pytest.mark.django_db(transaction=True)

# Whether the longest choice of a select fits in it beside its arrow (Bootstrap's padding on the right).
FITS = """selector => {
    const select = document.querySelector(selector);
    const style = getComputedStyle(select);
    const context = document.createElement("canvas").getContext("2d");
    context.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
    const widest = Math.max(...[...select.options].map(o => context.measureText(o.text).width));
    const room = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    return widest <= room;
}"""


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_behaviour_fields_are_checked_previewed_and_saved(
    viewport,
    make_page,
    olivia,  # noqa: F811
    environment,
    kube: KubeClient,
):
    locale, width, height = VIEWPORTS[viewport]
    p = make_page(locale, f"behaviour-{viewport}", width=width, height=height)
    p.log_in()
    page = p.page
    page.goto(f"/workbench/environments/{environment.pk}/routes/-/new/")
    page.fill("#id_name", "slow")
    _public(p)
    _choose_service(p, 0, "web")
    page.fill("#id_paths-0-path", "/shop/")
    page.fill("#id_paths-0-rewrite", "/")
    page.fill("#id_read_timeout", "banana")
    page.fill("#id_max_body_size", "10m")
    page.locator(SAVE).scroll_into_view_if_needed()
    page.click(SAVE)
    p.settled()
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary.locator("a[href='#id_read_timeout']")).to_have_count(1)
    expect(page.locator("#id_read_timeout")).to_have_value("banana")  # input kept
    expect(page.locator("#id_read_timeout")).to_have_class(re.compile(r"is-invalid"))
    p.check_accessibility()
    page.locator("#behaviour-field").scroll_into_view_if_needed()
    p.shot("refused-on-its-field")
    # Each choice reads whole in its select, not cut off at the arrow (three columns at 1440 px cut it).
    assert page.evaluate(FITS, "#id_https_redirect"), "the redirect's choice is cut off"

    page.fill("#id_read_timeout", "120s")
    _settle_preview(p)
    expect(page.locator("#preview")).to_contain_text("nginx.org/proxy-read-timeout: 120s")
    expect(page.locator("#preview")).to_contain_text("nginx.org/rewrites: serviceName=web rewrite=/")
    p.shot("previewed")
    _save(p, "slow", "behaviour")
    annotations = kube.get_ingress(environment.namespace, "slow")["metadata"]["annotations"]
    assert annotations["nginx.org/proxy-read-timeout"] == "120s"
    assert annotations["nginx.org/client-max-body-size"] == "10m"
    assert annotations["nginx.org/rewrites"] == "serviceName=web rewrite=/"
    assert Route.objects.get(name="slow").annotations["nginx.org/rewrites"] == "serviceName=web rewrite=/"

    page.goto(f"/workbench/environments/{environment.pk}/routes/slow/edit/")
    expect(page.locator("#id_read_timeout")).to_have_value("120s")
    expect(page.locator("#id_paths-0-rewrite")).to_have_value("/")
    expect(page.locator("#annotations-field .route-row")).to_have_count(0)
    p.check_accessibility()
    page.locator("#behaviour-field").scroll_into_view_if_needed()
    p.shot("edit")


@pytest.mark.parametrize("viewport", ["en-1440", "zh-390"])
def test_on_a_gateway_api_gateway_the_behaviours_it_cannot_have_say_why(
    viewport,
    make_page,
    olivia,  # noqa: F811
    environment,
    gateway_api,
    kube: KubeClient,
):
    edge = gateway_api_gateway(environment, kube)
    locale, width, height = VIEWPORTS[viewport]
    p = make_page(locale, f"behaviour-gateway-api-{viewport}", width=width, height=height)
    p.log_in()
    page = p.page
    page.goto(f"/workbench/environments/{environment.pk}/routes/-/new/")
    page.select_option("#id_gateway", label=f"{edge.name} ({edge.default_domain})")
    p.settled()
    expect(page.locator("#id_connect_timeout_gateway_api")).to_be_visible()
    expect(page.locator("#id_read_timeout_gateway_api")).to_have_count(0)
    page.select_option("#id_protocol", "grpc")
    p.settled()
    expect(page.locator("#id_read_timeout_gateway_api")).to_be_visible()  # a GRPCRoute has no timeouts
    p.check_accessibility()
    page.locator("#behaviour-field").scroll_into_view_if_needed()
    p.shot("gateway-api-notes")
