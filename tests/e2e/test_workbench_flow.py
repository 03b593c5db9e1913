"""The whole workbench path in a real browser, in English and in Chinese, checked against the cluster."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from kubegems_routes.kube.client import KubeClient
from kubegems_routes.routes import manifest
from kubegems_routes.routes.models import Route
from kubegems_routes.tenancy.models import Environment
from tests.e2e.conftest import VIEWPORTS

pytestmark = pytest.mark.django_db(transaction=True)

SAVE = "button.btn-primary[value=save]"  # the visible Save (a hidden one first makes Enter save)
CREATE = {"en-US": "Create route", "zh-CN": "创建路由"}
GENERATED = {
    "http": None,
    "https": None,
    "ws": manifest.WEBSOCKET_SERVICES,
    "wss": manifest.WEBSOCKET_SERVICES,
    "grpc": manifest.GRPC_SERVICES,
}


def _log_in(p, user: str = "olivia", password: str = "pw") -> None:
    page = p.page
    page.goto("/workbench/")
    expect(page).to_have_url(re.compile(r"/login/"))
    p.check_accessibility()
    p.shot("login")
    p.log_in(user, password, url=page.url)  # the log-in page it was sent to, which leads back here
    expect(page).to_have_url(re.compile(r"/workbench/$"))


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_create_edit_delete_a_route_through_the_workbench(
    viewport: str, make_page, operator, environment: Environment, kube: KubeClient
):
    locale, width, height = VIEWPORTS[viewport]
    create_label = CREATE[locale]
    operator.set_password("pw")
    operator.save()
    p = make_page(locale, viewport, width, height)
    page = p.page
    _log_in(p)

    # Workbench -> environment -> Runtime > Routes -> Create route
    page.click("nav[aria-label] a[href='/workbench/']")
    p.check_accessibility()
    p.shot("workbench")
    page.click(f"main a[href='/workbench/environments/{environment.pk}/']")
    p.check_accessibility()
    p.shot("environment")
    page.click(f"nav.sidebar a[href='/workbench/environments/{environment.pk}/routes/']")
    expect(page.locator("main")).to_contain_text(create_label)
    p.check_accessibility()
    p.shot("routes-empty")
    page.locator("main a[href$='/routes/-/new/']").first.click()
    expect(page.locator("h1")).to_have_text(create_label)
    p.check_accessibility()
    p.shot("create-form")

    page.evaluate("window.__sameDocument = true")
    page.fill("#id_name", "shop")
    # A service offers its ports (and names the service the protocols' annotations list).
    page.select_option("#id_paths-0-service", "api")
    p.settled()
    expect(page.locator("#id_paths-0-port option[value='50051']")).to_have_count(1)
    page.select_option("#id_paths-0-port", "8080")
    p.shot("service-ports")

    # Each protocol: the secret field appears or disappears and the preview changes, without a page load.
    for protocol, generated in GENERATED.items():
        page.select_option("#id_protocol", protocol)
        p.settled()
        secret = page.locator("#id_tls_secret")
        if manifest.needs_tls(protocol):
            expect(secret).to_be_visible()
        else:
            expect(secret).to_have_count(0)
        preview = page.locator("#preview")
        for key in (manifest.WEBSOCKET_SERVICES, manifest.GRPC_SERVICES):
            if key == generated:
                expect(preview).to_contain_text(key)
            else:
                expect(preview).not_to_contain_text(key)
        p.shot(f"protocol-{protocol}")
    assert page.evaluate("window.__sameDocument") is True

    # Random host from the gateway's default domain.
    page.select_option("#id_gateway", label="public (*.acme.example.com)")
    p.settled()  # the gateway's own swap of the host field first, then Random's
    page.click("#random-host")
    p.settled()
    expect(page.locator("#id_host")).to_have_value(re.compile(r"^[a-z]{5}\.acme\.example\.com$"))
    host = page.input_value("#id_host")
    p.shot("random-host")

    # A second path.
    page.click("#add-path")
    p.settled()
    page.fill("#id_paths-1-path", "/web")
    page.select_option("#id_paths-1-service", "web")
    p.settled()
    expect(page.locator("select#id_paths-1-port")).to_have_count(1)  # the service's ports have arrived
    page.select_option("#id_paths-1-port", "80")
    page.select_option("#id_protocol", "wss")
    p.settled()
    page.fill("#id_tls_secret", "demo-tls")
    p.settled()
    expect(page.locator("#preview")).to_contain_text("secretName: demo-tls")
    preview_yaml = page.inner_text("#preview pre")
    p.check_accessibility()
    p.shot("filled-form")

    page.click(SAVE)
    expect(page).to_have_url(re.compile(r"/routes/shop/$"))
    p.check_accessibility()
    p.shot("detail")

    # The cluster holds what the page and the preview showed.
    stored = kube.get_ingress(environment.namespace, "shop")
    assert stored["spec"]["rules"][0]["host"] == host
    assert [x["path"] for x in stored["spec"]["rules"][0]["http"]["paths"]] == ["/", "/web"]
    assert stored["metadata"]["annotations"][manifest.WEBSOCKET_SERVICES] == "api,web"
    assert f"host: {host}" in preview_yaml
    expect(page.locator("main")).to_contain_text(f"https://{host}/web")

    # Edit: add an annotation.
    page.click("main a[href$='/shop/edit/']")
    page.click("#add-annotation")
    p.settled()
    page.fill("#id_annotations-0-key", "nginx.org/proxy-read-timeout")
    page.fill("#id_annotations-0-value", "120s")
    p.shot("edit")
    page.click(SAVE)
    expect(page).to_have_url(re.compile(r"/routes/shop/$"))
    annotations = kube.get_ingress(environment.namespace, "shop")["metadata"]["annotations"]
    assert annotations["nginx.org/proxy-read-timeout"] == "120s"

    # Delete, after the confirmation.
    page.click("main a[href$='/shop/delete/']")
    p.check_accessibility()
    p.shot("delete-confirmation")
    page.click("main form button[type=submit]")
    expect(page).to_have_url(re.compile(rf"/environments/{environment.pk}/routes/$"))
    p.shot("deleted")
    assert kube.list_ingresses(environment.namespace) == []
    assert not Route.objects.exists()


def test_errors_after_an_htmx_swap_are_announced(make_page, operator, environment):
    operator.set_password("pw")
    operator.save()
    p = make_page("en-US", "errors")
    _log_in(p)
    page = p.page
    page.goto(f"/workbench/environments/{environment.pk}/routes/-/new/")
    page.fill("#id_name", "Not A Name")
    page.select_option("#id_protocol", "https")
    p.settled()
    page.click(SAVE)
    p.settled()
    live = page.locator("#form-errors[aria-live]")
    expect(live).to_contain_text("not saved")
    expect(page.locator("#id_name")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_name")).to_have_value("Not A Name")  # input kept
    p.check_accessibility()
    p.shot("errors")


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_the_flow_works_with_the_keyboard_alone(viewport, make_page, operator, environment, kube):
    operator.set_password("pw")
    operator.save()
    locale, width, height = VIEWPORTS[viewport]
    p = make_page(locale, f"keyboard-{viewport}", width, height)
    page = p.page
    page.goto("/login/")

    def tab_to(selector: str, limit: int = 80) -> None:
        page.wait_for_load_state()
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate("(s) => document.activeElement.matches(s)", selector):
                return
        raise AssertionError(f"{selector} cannot be reached with Tab")

    def enter_and_wait(url: str) -> None:
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(url))

    tab_to("#id_username")
    page.keyboard.type("olivia")
    tab_to("#id_password")
    page.keyboard.type("pw")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/workbench/$"))
    tab_to(f"main a[href='/workbench/environments/{environment.pk}/']")
    enter_and_wait(rf"/environments/{environment.pk}/$")
    tab_to("nav.sidebar a[href$='/routes/']")
    enter_and_wait(r"/routes/$")
    tab_to("main a[href$='/routes/-/new/']")
    enter_and_wait(r"/routes/-/new/$")
    expect(page.locator("h1")).to_have_text(CREATE[locale])
    tab_to("#id_name")
    page.keyboard.type("keys")
    tab_to("#id_gateway")
    page.keyboard.press("ArrowDown")  # the tenant's gateway "public", after the default one
    p.settled()
    expect(page.locator("#id_gateway option:checked")).to_have_text("public (*.acme.example.com)")
    tab_to("#id_host")
    page.keyboard.type("keys.acme.example.com")
    tab_to("#id_paths-0-service")
    page.keyboard.press("ArrowDown")  # the first service, "api"
    p.settled()
    tab_to("#id_paths-0-port")
    tab_to(SAVE)
    p.shot("keyboard-form")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/routes/keys/$"))
    assert kube.get_ingress(environment.namespace, "keys")["spec"]["rules"][0]["host"] == "keys.acme.example.com"


@pytest.mark.parametrize("locale", list(CREATE))
def test_pages_are_readable_on_a_phone(locale, make_page, operator, environment):
    operator.set_password("pw")
    operator.save()
    p = make_page(locale, f"phone-{locale}", width=390, height=844)
    _log_in(p)
    for path in [
        "/workbench/",
        f"/workbench/environments/{environment.pk}/routes/",
        f"/workbench/environments/{environment.pk}/routes/-/new/",
    ]:
        p.page.goto(path)
        overflow = p.page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 390px"
        p.shot(path.strip("/").replace("/", "-") or "home")
