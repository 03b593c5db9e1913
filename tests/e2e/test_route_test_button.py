"""A route's Test button in a real browser, in English and Chinese, at desktop and phone width.

The gateway's address here is a loopback address nothing listens on, so the
test fails at its first step: what a user sees when a gateway does not answer.
Through the real NGINX data plane each protocol's success is proven in
tests/test_traffic.py; this is about the page: the swap, the words, the focus,
accessibility, the no-JavaScript fallback.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from kubegems_routes.routes.models import AuditEntry
from tests.e2e.conftest import VIEWPORTS
from tests.e2e.test_gateway_pages import _fits, _route
from tests.helpers import tenant_gateway

pytestmark = pytest.mark.django_db(transaction=True)

NOBODY = "127.0.0.9"  # loopback: connecting fails at once, and never leaves the machine

WORDS = {
    "en": {"test": "Test", "failed": "Failed to connect to the gateway.", "request": "Request"},
    "zh": {"test": "测试", "failed": "连接网关失败。", "request": "请求"},
}


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_the_test_button_shows_where_a_route_fails_in_place(viewport, make_page, operator, environment):
    locale, width, height = VIEWPORTS[viewport]
    words = WORDS["zh" if locale.startswith("zh") else "en"]
    operator.set_password("pw")
    operator.save()
    gateway = tenant_gateway(environment)
    gateway.address = NOBODY
    gateway.save()
    _route(environment, operator, "shop")

    p = make_page(locale, f"test-button-{viewport}", width=width, height=height)
    page = p.page
    p.log_in()
    page.goto(f"/workbench/environments/{environment.pk}/routes/shop/")
    button = page.locator("#test-route")
    expect(button).to_have_text(words["test"])
    button.click()
    p.settled()
    outcome = page.locator("#probe-outcome")
    expect(outcome).to_contain_text(words["failed"])
    expect(outcome).to_contain_text(NOBODY)
    expect(page.locator("#probe-details")).to_contain_text(words["request"])
    expect(page.locator("#probe-details")).to_contain_text("http://shop.acme.example.com/")
    # Swapped into the page, which stays where it was (no navigation), and announced (aria-live).
    expect(page).to_have_url(re.compile(r"/routes/shop/$"))
    assert page.locator("#probe-result").get_attribute("aria-live") == "polite"
    assert AuditEntry.objects.filter(route_name="shop", action=AuditEntry.Action.TEST).count() == 1
    _fits(p, "the route page with a test result")
    p.check_accessibility()
    p.shot("tested")


def test_without_javascript_the_test_button_answers_with_a_page(make_page, operator, environment):
    operator.set_password("pw")
    operator.save()
    gateway = tenant_gateway(environment)
    gateway.address = NOBODY
    gateway.save()
    _route(environment, operator, "shop")

    p = make_page("en-US", "test-button-no-js", javascript=False)
    page = p.page
    p.log_in()
    page.goto(f"/workbench/environments/{environment.pk}/routes/shop/")
    page.click("#test-route")
    expect(page).to_have_url(re.compile(r"/routes/shop/test/$"))
    expect(page.locator("#probe-outcome")).to_contain_text(WORDS["en"]["failed"])
    page.click("text=Back to the route")
    expect(page).to_have_url(re.compile(r"/routes/shop/$"))
    # No axe here: it is a script, and this page runs none (the same templates pass it with JavaScript).
