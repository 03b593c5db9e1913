"""A real browser (Debian's Chromium driven by Playwright) against a live Django server.

Playwright's own browser download does not work on these machines; `make
setup` installs Debian's chromium and this uses it. Missing, the run fails
and says what to install.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

# Playwright's sync API runs an event loop in the test thread; the tests only
# touch the ORM between browser steps, never concurrently with it.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# Expectations wait up to 10 s (Playwright's default is 5): CI runs the suite on 2 busy cores.
expect.set_options(timeout=10_000)

ROOT = Path(__file__).resolve().parent.parent.parent
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
AXE = Path(__file__).with_name("vendor") / "axe.min.js"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Every scenario runs in both languages, at desktop and at phone width: (locale, width, height).
VIEWPORTS = {
    "en-1440": ("en-US", 1440, 900),
    "zh-1440": ("zh-CN", 1440, 900),
    "en-390": ("en-US", 390, 844),
    "zh-390": ("zh-CN", 390, 844),
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail("Debian's chromium is needed for the browser tests: run `make setup` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                # Without these Chromium calls home, and this network refuses it.
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


class Page:
    """A Playwright page that records CSP violations, runs axe and takes numbered screenshots."""

    def __init__(self, page, folder: Path, *, javascript: bool = True) -> None:
        self.page = page
        self.folder = folder
        self.javascript = javascript
        self.step = 0
        self.problems: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))

    def _console(self, message) -> None:
        # htmx logs a refresh it cancelled for a newer one (hx-sync replace) as an error; that is by design.
        expected = ("htmx:sendAbort", "htmx:afterRequest")
        if message.type == "error" and not message.text.startswith(expected):
            # An inline style or script has no URL of its own: name the page it is on.
            where = (message.location.get("url", "") if message.location else "") or self.page.url
            self.problems.append(f"console error: {message.text} ({where})")

    def shot(self, name: str) -> Path:
        self.step += 1
        path = self.folder / f"{self.step:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def check_accessibility(self) -> None:
        """axe-core in the page; no serious or critical violation. (evaluate is not subject to the CSP.)"""
        # Without JavaScript, Playwright's evaluate waits for ever (it has no timeout).
        assert self.javascript, "axe is a script: it cannot run in a page without JavaScript"
        self.page.wait_for_load_state()  # a click that navigates: judge the new page, not the one unloading
        before = len(self.problems)
        self.page.evaluate(AXE.read_text())
        result = self.page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        # axe injects a <style> of its own for some checks (Django admin's pages), which the page's
        # CSP rightly refuses: that refusal is axe's, not the page's.
        self.page.evaluate("() => new Promise(requestAnimationFrame)")  # its console messages are in
        self.problems[before:] = [p for p in self.problems[before:] if "Applying inline style violates" not in p]
        bad = [
            f"{v['id']} ({v['impact']}): {v['help']} at "
            + "; ".join(f"{n['target']}: {n.get('failureSummary', '')}" for n in v["nodes"][:3])
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert bad == [], f"accessibility violations on {self.page.url}:\n" + json.dumps(bad, indent=1)

    def log_in(self, user: str = "olivia", password: str = "pw", url: str = "/login/") -> None:
        """Through the log-in form at ``url`` (the console's, or admin's at /admin/login/)."""
        from playwright.sync_api import expect

        self.page.goto(url)
        self.page.fill("#id_username", user)
        self.page.fill("#id_password", password)
        # The console's log-in button is in <main>; admin's log-in form has its own id.
        self.page.click("main button[type=submit], #login-form [type=submit]")
        expect(self.page).not_to_have_url(re.compile(r"/login/"))

    def settled(self) -> None:
        """Wait until htmx has no request in flight and has settled what it swapped in.

        Not only the request: htmx wires up swapped-in content (its hx-* attributes) when it settles, a
        timer after the swap. A select changed in between fires its change before htmx listens, and no
        request follows; on a busy machine that timer runs late, and a test that chose a service there
        waited for ports that were never asked for.
        """
        self.page.wait_for_function(
            "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"
        )


@pytest.fixture(scope="session")
def live_server(django_db_setup, live_server):
    """pytest-django's live server, started once the test database is set up.

    Started first, it hands its thread the SQLite in-memory connection of the
    settings it found, and on the PostgreSQL run (KGR_TEST_DATABASE=postgres)
    the console it serves would stay on SQLite ("no such table") whenever a
    browser test is the session's first to use the database.
    """
    return live_server


@pytest.fixture
def make_page(browser, live_server):
    """Pages of a test; on teardown, any CSP violation, console error or page error of any of them fails it."""
    contexts = []
    pages: list[Page] = []

    def make(language: str, folder: str, width: int = 1280, height: int = 900, *, javascript: bool = True) -> Page:
        context = browser.new_context(
            base_url=live_server.url,
            java_script_enabled=javascript,
            locale=language,
            viewport={"width": width, "height": height},
            # No CSS transitions: axe must see final colours, not a button halfway through a hover fade.
            reduced_motion="reduce",
        )
        contexts.append(context)
        target = SCREENSHOTS / folder
        target.mkdir(parents=True, exist_ok=True)
        for old in target.glob("*.png"):
            old.unlink()
        page = Page(context.new_page(), target, javascript=javascript)
        pages.append(page)
        return page

    yield make
    for context in contexts:
        context.close()
    problems = [problem for page in pages for problem in page.problems]
    assert problems == [], "\n".join(problems)
