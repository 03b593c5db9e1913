"""The route list with long names, the route pages' helpers, and Django admin in Chinese, in a real browser.

At 1440 px (desktop) and 390 px (phone), in English and Chinese: nothing
scrolls sideways, the table never drops under the sidebar, every column of
every route is on screen, and no select cuts its label.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from kubegems_routes.routes.models import Route, RoutePath
from kubegems_routes.tenancy.models import Environment
from tests.helpers import tenant_gateway

pytestmark = pytest.mark.django_db(transaction=True)

LANGUAGES = {"en-US": "en", "zh-CN": "zh"}
WIDTHS = {1440: 900, 390: 844}
LONG_NAME = "checkout-" + "x" * 45 + "-service"  # 63 characters, the longest valid name
UNBROKEN_NAME = "a" * 63  # no dash to break at
LONG_HOST = ".".join(["b" * 63, "c" * 63, "d" * 40, "acme", "example", "com"])

# Everything that scrolls sideways, cells whose content spills out, and controls too narrow for their label.
OVERFLOW = """() => {
  const page = document.documentElement.scrollWidth - document.documentElement.clientWidth;
  const spills = [...document.querySelectorAll('main td, main th, main dd, main li, main h1')]
    .filter(e => e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === 'visible')
    .map(e => e.tagName + ': ' + e.textContent.trim().slice(0, 60));
  return {page, spills};
}"""
CLIPPED_CONTROLS = """() => {
  const canvas = document.createElement('canvas').getContext('2d');
  const room = (e, style) => e.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  // A search box's placeholder is its only visible label; other fields have a label of their own.
  const shown = [...document.querySelectorAll('select, input[type=search][placeholder], button, .btn')]
    // Screen-reader-only controls (the form's hidden default Save button) are meant to be 1 px wide.
    .filter(e => e.offsetParent !== null && !e.closest('.visually-hidden'));
  return shown.flatMap(e => {
    const style = getComputedStyle(e);
    canvas.font = style.font;
    const texts = e.tagName === 'SELECT' ? [...e.options].map(o => o.text)
      : e.tagName === 'INPUT' ? [e.placeholder] : [];
    const cut = texts.filter(t => canvas.measureText(t).width > room(e, style) + 1)
      .map(t => `${e.name || e.id}: "${t}" needs ${Math.ceil(canvas.measureText(t).width)}px, has ${room(e, style)}px`);
    if (e.tagName !== 'SELECT' && e.tagName !== 'INPUT') {
      // A button's label is cut, or broken over lines (CJK text breaks between any two characters).
      const lines = e.clientHeight / parseFloat(style.lineHeight || '0');
      if (e.scrollWidth > e.clientWidth + 1 || lines >= 2) {
        cut.push(`button "${e.textContent.trim()}" is cut or broken over lines`);
      }
    }
    return cut;
  });
}"""


def _long_routes(environment: Environment) -> None:
    gateway = tenant_gateway(environment)
    for name, host, protocol in [
        (LONG_NAME, LONG_HOST, "wss"),
        (UNBROKEN_NAME, "*." + "e" * 60 + ".acme.example.com", "grpc"),
        ("shop", "shop.acme.example.com", "http"),
    ]:
        route = Route.objects.create(environment=environment, gateway=gateway, name=name, host=host, protocol=protocol)
        for position, path in enumerate(["/", "/api/v1/" + "orders/" * 8]):
            RoutePath.objects.create(route=route, position=position, path=path, service="web", port="80")


def _assert_fits(p, what: str) -> None:
    result = p.page.evaluate(OVERFLOW)
    assert result["page"] <= 0, f"{what} scrolls sideways by {result['page']}px"
    assert result["spills"] == [], f"{what}: content spills out of its box: {result['spills']}"
    assert p.page.evaluate(CLIPPED_CONTROLS) == [], f"{what}: clipped controls"


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("locale", list(LANGUAGES))
def test_route_list_with_long_names_shows_every_column(locale, width, make_page, operator, environment):
    operator.set_password("pw")
    operator.save()
    _long_routes(environment)
    p = make_page(locale, f"list-{LANGUAGES[locale]}-{width}", width=width, height=WIDTHS[width])
    page = p.page
    p.log_in()
    page.goto(f"/workbench/environments/{environment.pk}/routes/")
    expect(page.locator("main table")).to_be_visible()
    p.shot("long-names")
    _assert_fits(p, f"the route list at {width}px")

    main = page.locator("main").bounding_box()
    sidebar = page.locator("nav.sidebar").bounding_box()
    if width >= 768:
        # Beside the sidebar, not pushed under it.
        assert main["x"] >= sidebar["x"] + sidebar["width"] - 1 and main["y"] < sidebar["y"] + 50
    # Every cell of every row (name, URLs, gateway, protocol, state, gateway status, created, actions) is on screen.
    rows = page.locator("main tbody tr")
    expect(rows).to_have_count(3)
    for index in range(3):
        cells = rows.nth(index).locator("td")
        expect(cells).to_have_count(8)
        for cell in range(8):
            box = cells.nth(cell).bounding_box()
            # Shown, and not squeezed to a letter per line by its neighbours.
            assert box and box["width"] >= 48, f"row {index} column {cell} is not shown or squeezed ({box})"
            assert box["x"] >= main["x"] - 1 and box["x"] + box["width"] <= main["x"] + main["width"] + 1, (
                f"row {index} column {cell} is outside the page ({box})"
            )
        for action in ["edit", "delete"]:
            button = cells.nth(7).locator(f"a[href$='/{action}/']")
            expect(button).to_be_visible()
            box = button.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= width, f"row {index}: {action} is off screen"
    expect(page.locator(f"main a[href$='/{LONG_NAME}/']").first).to_have_text(LONG_NAME)
    expect(page.locator(f"main a[href$='/{UNBROKEN_NAME}/']").first).to_have_text(UNBROKEN_NAME)
    p.check_accessibility()
    assert p.problems == [], "\n".join(p.problems)


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("locale", list(LANGUAGES))
def test_route_pages_fit_and_no_select_cuts_its_label(locale, width, make_page, operator, environment):
    operator.set_password("pw")
    operator.save()
    _long_routes(environment)
    p = make_page(locale, f"pages-{LANGUAGES[locale]}-{width}", width=width, height=WIDTHS[width])
    page = p.page
    p.log_in()
    base = f"/workbench/environments/{environment.pk}/routes/"
    for path in [f"{LONG_NAME}/", f"{LONG_NAME}/edit/", f"{LONG_NAME}/delete/", "-/new/"]:
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        if path.endswith("new/"):
            # Service and port pickers with their longest labels.
            page.select_option("#id_paths-0-path_type", "ImplementationSpecific")
            page.select_option("#id_paths-0-service", "api")
            p.settled()
            expect(page.locator("select#id_paths-0-port")).to_be_visible()
        p.shot(path.strip("/").replace("/", "-").replace(LONG_NAME, "long"))
        _assert_fits(p, f"{path} at {width}px")
    assert p.problems == [], "\n".join(p.problems)


def test_breadcrumbs_and_copy_buttons_work(make_page, operator, environment):
    operator.set_password("pw")
    operator.save()
    _long_routes(environment)
    p = make_page("zh-CN", "copy")
    page = p.page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    p.log_in()
    page.goto(f"/workbench/environments/{environment.pk}/routes/{LONG_NAME}/edit/")
    crumbs = page.locator("nav[aria-label] ol.breadcrumb li")
    expect(crumbs).to_have_text([environment.name, "路由", LONG_NAME, "编辑"])
    crumbs.nth(2).locator("a").click()
    expect(page).to_have_url(re.compile(rf"/routes/{LONG_NAME}/$"))

    copy_host = page.locator(f"button[data-copy='{LONG_HOST}']")
    expect(copy_host).to_be_visible()
    copy_host.click()
    expect(copy_host).to_contain_text("已复制")
    assert page.evaluate("navigator.clipboard.readText()") == LONG_HOST
    page.locator("button[data-copy^='https://']").first.click()
    assert page.evaluate("navigator.clipboard.readText()") == f"https://{LONG_HOST}/"
    # The Ingress as YAML, once the route is in the cluster.
    page.locator("form[action$='/reapply/'] button").click()
    page.locator("button[data-copy-target='#ingress-yaml']").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == page.inner_text("#ingress-yaml") and f"name: {LONG_NAME}" in copied
    # A wildcard host's URL is text, not a link.
    page.goto(f"/workbench/environments/{environment.pk}/routes/{UNBROKEN_NAME}/")
    expect(page.locator("main a[href*='*']")).to_have_count(0)
    expect(page.locator("main code", has_text="*.eeee")).not_to_have_count(0)
    p.shot("detail-wildcard")
    p.check_accessibility()
    assert p.problems == [], "\n".join(p.problems)


@pytest.mark.parametrize("width", list(WIDTHS))
def test_admin_in_chinese(width, make_page, django_user_model, operator, environment):
    django_user_model.objects.create_superuser("root", password="pw")
    _long_routes(environment)
    p = make_page("zh-CN", f"admin-zh-{width}", width=width, height=WIDTHS[width])
    page = p.page
    p.log_in("root", "pw", "/admin/login/")
    gateway = tenant_gateway(environment)
    for path, name in [
        ("/admin/", "index"),
        ("/admin/gateways/gateway/", "gateways"),
        (f"/admin/gateways/gateway/{gateway.pk}/change/", "gateway"),
        ("/admin/routes/route/", "routes"),
        (f"/admin/routes/route/{Route.objects.get(name=LONG_NAME).pk}/change/", "route"),
        ("/admin/tenancy/tenant/", "tenants"),
        (f"/admin/tenancy/environment/{environment.pk}/change/", "environment"),
    ]:
        page.goto(path)
        expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
        body = page.inner_text("body")
        assert not re.search(r"[\u4e00-\u9fff][sS]\b", body), f"{path}: an English plural on a Chinese name"
        for english in ["Cluster:", "Tenant:", "Gateways", "Routes", "Tenancy", "Default annotation"]:
            assert english not in body, f"{path} shows {english!r}"
        p.shot(name)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at {width}px"
        assert p.page.evaluate(CLIPPED_CONTROLS) == [], f"{path}: clipped controls"
