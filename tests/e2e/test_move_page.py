"""A move to Gateway API that no controller answers (as on make run's demo Gateway), in a real browser, in
English and Chinese at desktop and phone width: the move's page says what it waits for and polls with htmx
under the Content-Security-Policy, then the time-out brings the user back to the Gateway API page saying why;
the route's page shows the move while it waits, its tests apart from its history, and the History a version 1
recorded when history began."""

from __future__ import annotations

import importlib
import re

import pytest
from django.apps import apps
from playwright.sync_api import expect

from kubegems_routes.routes.models import AuditEntry, RouteVersion
from tests.e2e.conftest import VIEWPORTS
from tests.e2e.test_gateway_pages import _fits, _route
from tests.helpers import gateway_api_gateway

pytestmark = pytest.mark.django_db(transaction=True)

backfill = importlib.import_module("kubegems_routes.routes.migrations.0013_route_versions_backfill")

# Headers broken inside a word (a header of one word, or Chinese, over two lines).
BROKEN_OVER_LINES = """ths => ths.filter(t => !t.textContent.trim().includes(' ')).filter(t => {
  const range = document.createRange();
  range.selectNodeContents(t);
  return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size > 1;
}).map(t => t.textContent.trim())"""

WORDS = {
    "en": {
        "crumb": "Move to Gateway API",
        "waiting": "no controller of the Gateway has answered yet",
        "kept": "accepted HTTPRoute shop within 12 seconds",
        "banner": "Moving to gateway edge",
        "tests": "Tested 2 times through its gateway",
        "recorded": "recorded when history began",
    },
    "zh": {
        "crumb": "迁移到 Gateway API",
        "waiting": "Gateway 的控制器尚未响应",
        "kept": "秒内没有接受 HTTPRoute shop",
        "banner": "正在迁移到网关 edge",
        "tests": "已通过其网关测试 2 次",
        "recorded": "开始记录历史时记下",
    },
}


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_a_move_no_controller_answers_waits_on_its_page_then_keeps_the_ingress(
    viewport, make_page, operator, environment, kube, gateway_api, settings
):
    locale, width, height = VIEWPORTS[viewport]
    words = WORDS["zh" if locale.startswith("zh") else "en"]
    settings.MOVE_ACCEPT_SECONDS = 12
    operator.set_password("pw")
    operator.save()
    route = _route(environment, operator, "shop")
    for outcome in ["http://shop.acme.example.com/ via 127.0.0.9:80: connect failed", "ok"]:
        AuditEntry.objects.create(
            environment=environment, route_name="shop", action=AuditEntry.Action.TEST, user=operator, note=outcome
        )
    gateway_api_gateway(environment, kube)
    base = f"/workbench/environments/{environment.pk}/routes/shop/"
    p = make_page(locale, f"move-{viewport}", width=width, height=height)
    page = p.page
    p.log_in()

    page.goto(base + "gateway-api/")
    page.locator("#move button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/gateway-api/move/status/$"))
    expect(page.locator("#move-progress")).to_contain_text(words["waiting"])
    expect(page.locator("nav ol.breadcrumb li").last).to_have_text(words["crumb"])
    p.settled()
    p.shot("waiting")
    _fits(p, f"the move's page at {width}px")
    p.check_accessibility()

    # Meanwhile the route's page says so; its tests are apart from its history, collapsed.
    other = page.context.new_page()
    other.goto(base)
    expect(other.locator("#move-under-way")).to_contain_text(words["banner"])
    expect(other.locator("#route-tests summary")).to_have_text(words["tests"])
    other.locator("#route-tests summary").click()
    # Column headers break between words only, in Chinese at 390 px too (路径, not 路 over 径).
    broken = other.eval_on_selector_all("main .table th", BROKEN_OVER_LINES)
    assert broken == [], f"headers broken over lines: {broken}"
    other.screenshot(path=str(p.folder / "01b-detail-while-moving.png"), full_page=True)
    other.close()

    # htmx polls until the deadline, then the Gateway API page says why; the Ingress still serves.
    expect(page).to_have_url(re.compile(r"/gateway-api/\?gateway=\d+$"), timeout=30_000)
    expect(page.get_by_text(words["kept"])).to_be_visible()
    p.shot("kept")
    _fits(p, f"the Gateway API page after a move at {width}px")
    assert kube.get_ingress(environment.namespace, "shop")["metadata"]["name"] == "shop"

    # A route from before versions were recorded: its History starts with version 1, marked as such.
    RouteVersion.objects.filter(route=route).delete()
    backfill.record_first_versions(apps, None)
    page.goto(base + "history/")
    expect(page.locator("#version-1")).to_contain_text(words["recorded"])
    p.shot("history-recorded")
    _fits(p, f"the History at {width}px")
    p.check_accessibility()
    assert p.problems == [], "\n".join(p.problems)
