"""The create form in a real browser: the preview is what saving writes, Enter saves, errors are found.

Every scenario runs in English and Chinese, at desktop (1440 px) and phone (390 px) width.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import yaml
from playwright.sync_api import expect

from kubegems_routes.kube.client import KubeClient
from kubegems_routes.routes import drift
from kubegems_routes.routes.models import Route
from kubegems_routes.tenancy.models import Environment
from tests.e2e.conftest import VIEWPORTS, Page

pytestmark = pytest.mark.django_db(transaction=True)

SAVE = "button.btn-primary[value=save]"


def _settle_preview(p: Page) -> None:
    """The preview follows typing after 500 ms and row actions after their swap: wait for both."""
    p.page.wait_for_timeout(650)
    p.settled()
    p.page.wait_for_timeout(100)
    p.settled()


def _preview(p: Page) -> dict:
    return yaml.safe_load(p.page.inner_text("#preview-yaml"))


def _choose_service(p: Page, row: int, service: str) -> None:
    p.page.select_option(f"#id_paths-{row}-service", service)
    p.settled()
    expect(p.page.locator(f"select#id_paths-{row}-port")).to_have_count(1)


def _save(p: Page, name: str, why: str) -> None:
    p.page.click(SAVE)
    try:
        expect(p.page).to_have_url(re.compile(rf"/routes/{name}/$"))
    except AssertionError:
        errors = p.page.locator("#error-summary")
        raise AssertionError(f"{why}: not saved: {errors.inner_text() if errors.count() else '?'}") from None


# Each kind of change a user makes, after the name is typed and path 1 points at service "web".
def _protocol(p: Page) -> None:
    p.page.select_option("#id_protocol", "ws")


def _secret(p: Page) -> None:
    p.page.select_option("#id_protocol", "wss")
    p.settled()
    p.page.fill("#id_tls_secret", "demo-tls")


def _public(p: Page) -> None:
    p.page.select_option("#id_gateway", label="public (*.acme.example.com)")
    p.settled()


def _gateway(p: Page) -> None:
    _public(p)
    p.page.click("#random-host")
    p.settled()
    p.page.select_option("#id_gateway", index=0)  # the default gateway, another domain
    p.settled()
    expect(p.page.locator("#id_host")).to_have_value(re.compile(r"^[a-z]{5}\.kubegems\.io$"))


def _random(p: Page) -> None:
    _public(p)
    p.page.click("#random-host")
    p.settled()
    expect(p.page.locator("#id_host")).to_have_value(re.compile(r"^[a-z]{5}\.acme\.example\.com$"))
    expect(p.page.locator("#id_host")).to_be_focused()


def _service(p: Page) -> None:
    _choose_service(p, 0, "api")


def _port(p: Page) -> None:
    _choose_service(p, 0, "api")
    p.page.select_option("#id_paths-0-port", "8080")


def _add_path(p: Page) -> None:
    p.page.click("#add-path")
    p.settled()
    expect(p.page.locator("#id_paths-1-path")).to_be_focused()
    p.page.fill("#id_paths-1-path", "/two")
    _choose_service(p, 1, "api")


def _remove_path(p: Page) -> None:
    _add_path(p)
    _settle_preview(p)
    p.page.click("button[formaction$='/remove-path/'][value='0']")
    p.settled()
    expect(p.page.locator("#id_paths-0-path")).to_be_focused()


def _add_annotation(p: Page) -> None:
    p.page.click("#add-annotation")
    p.settled()
    p.page.fill("#id_annotations-0-key", "nginx.org/proxy-read-timeout")
    p.page.fill("#id_annotations-0-value", "120s")


def _remove_annotation(p: Page) -> None:
    _add_annotation(p)
    _settle_preview(p)
    expect(p.page.locator("#preview")).to_contain_text("proxy-read-timeout")
    p.page.click("button[formaction$='/remove-annotation/'][value='0']")
    p.settled()
    expect(p.page.locator("#add-annotation")).to_be_focused()


def _typing(p: Page) -> None:
    p.page.fill("#id_host", "typed.acme.example.com")


CHANGES: dict[str, Callable[[Page], None]] = {
    "protocol": _protocol,
    "secret": _secret,
    "gateway": _gateway,
    "random": _random,
    "service": _service,
    "port": _port,
    "add-path": _add_path,
    "remove-path": _remove_path,
    "add-annotation": _add_annotation,
    "remove-annotation": _remove_annotation,
    "typing": _typing,
}


@pytest.fixture
def olivia(operator):
    operator.set_password("pw")
    operator.save()
    return operator


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_the_preview_is_what_saving_writes_after_every_kind_of_change(
    viewport, make_page, olivia, environment: Environment, kube: KubeClient
):
    locale, width, height = VIEWPORTS[viewport]
    p = make_page(locale, f"preview-{viewport}", width=width, height=height)
    p.log_in()
    for kind, change in CHANGES.items():
        name = f"r-{kind}"
        p.page.goto(f"/workbench/environments/{environment.pk}/routes/-/new/")
        p.page.fill("#id_name", name)
        # The tenant's gateway: its ingress class is this test's own (the default gateway's is shared by all tests).
        _public(p)
        _choose_service(p, 0, "web")
        change(p)
        _settle_preview(p)
        previewed = _preview(p)
        _save(p, name, kind)
        live = kube.get_ingress(environment.namespace, name)
        assert drift.managed_view(previewed) == drift.managed_view(live), f"after '{kind}' the preview was stale"
        if kind == "remove-annotation":
            assert "nginx.org/proxy-read-timeout" not in (live["metadata"].get("annotations") or {})
    p.shot("last-saved")


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_enter_in_a_text_field_saves(viewport, javascript, make_page, olivia, environment, kube):
    locale, width, height = VIEWPORTS[viewport]
    p = make_page(locale, f"enter-{viewport}-{'js' if javascript else 'nojs'}", width, height, javascript=javascript)
    p.log_in()
    p.page.goto(f"/workbench/environments/{environment.pk}/routes/-/new/")
    p.page.fill("#id_name", "entered")
    # The tenant's gateway: its ingress class is this test's own (the default gateway's is shared by all tests).
    p.page.select_option("#id_gateway", label="public (*.acme.example.com)")
    if javascript:
        p.settled()
    p.page.fill("#id_host", "entered.acme.example.com")
    p.page.select_option("#id_paths-0-service", "web")
    if javascript:
        p.settled()
        p.page.select_option("#id_paths-0-port", "80")
    else:
        p.page.fill("#id_paths-0-port", "80")
    p.page.focus("#id_host")
    p.page.keyboard.press("Enter")
    expect(p.page).to_have_url(re.compile(r"/routes/entered/$"))
    # Enter pressed Save, not Random: the typed host is the one saved.
    assert kube.get_ingress(environment.namespace, "entered")["spec"]["rules"][0]["host"] == "entered.acme.example.com"


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_a_failed_save_shows_and_focuses_its_errors(viewport, make_page, olivia, environment):
    locale, width, height = VIEWPORTS[viewport]
    p = make_page(locale, f"failed-save-{viewport}", width=width, height=height)
    p.log_in()
    page = p.page
    page.goto(f"/workbench/environments/{environment.pk}/routes/-/new/")
    page.fill("#id_name", "Not A Name")
    page.select_option("#id_protocol", "https")
    p.settled()
    page.click("#add-annotation")
    p.settled()
    page.fill("#id_annotations-0-key", "nginx.org/server-snippets")
    page.fill("#id_annotations-0-value", "return 200;")
    page.locator(SAVE).scroll_into_view_if_needed()
    page.click(SAVE)
    p.settled()
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_be_in_viewport()
    # Every error in one round, each linked to its field: the name, the missing secret, the snippet.
    links = summary.locator("a")
    targets = {links.nth(i).get_attribute("href") for i in range(links.count())}
    assert {"#id_name", "#id_tls_secret", "#id_annotations-0-key"} <= targets
    expect(page.locator("#id_name")).to_have_value("Not A Name")  # input kept
    p.check_accessibility()
    p.shot("failed-save")
    assert not Route.objects.exists()


# htmx wires up what it swapped in when it settles, a timer after the swap (20 ms; late on a busy machine).
SLOW_SETTLE = "document.addEventListener('DOMContentLoaded', () => { htmx.config.defaultSettleDelay = 400 })"


@pytest.mark.parametrize("viewport", ["en-1440", "zh-390"])
def test_buttons_clicked_before_htmx_settles_them_keep_the_form_whole(viewport, make_page, olivia, environment, kube):
    """On a busy client a user can click a button htmx swapped in but has not yet wired up: the browser
    then submits the form with the button's formaction, and the answer must be the whole form, not the
    one field the button's own request would have replaced (the whole form was once replaced by it)."""
    locale, width, height = VIEWPORTS[viewport]
    p = make_page(locale, f"early-click-{viewport}", width=width, height=height)
    p.page.context.add_init_script(SLOW_SETTLE)
    p.log_in()
    page = p.page
    page.goto(f"/workbench/environments/{environment.pk}/routes/-/new/")
    page.fill("#id_name", "early")
    _public(p)
    for _ in range(2):  # the second click meets the Random button the first one swapped in
        page.click("#host-field button")
        page.wait_for_function("() => !document.querySelector('.htmx-request')")
    expect(page.locator("#id_host")).to_have_value(re.compile(r"^[a-z]{5}\.acme\.example\.com$"))
    for _ in range(2):  # the same for Add path, whose whole fieldset is swapped in
        page.click("#add-path")
        page.wait_for_function("() => !document.querySelector('.htmx-request')")
    p.settled()
    expect(page.locator("#paths-field .route-row")).to_have_count(3)
    for part in ("#id_name", "#id_gateway", "#id_protocol", "#annotations-field", "#preview"):
        expect(page.locator(part)).to_have_count(1)
    expect(page.locator("#id_name")).to_have_value("early")
    p.shot("whole-form")
