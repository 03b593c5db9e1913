"""YAML in and out in a real browser: a refused paste says why on the paste field and keeps what was typed;
a manifest fills the form, which saves the object; the route's page downloads it back.

In English and Chinese, at desktop (1440 px) and phone (390 px) width.
"""

from __future__ import annotations

import re

import pytest
import yaml
from playwright.sync_api import expect

from kubegems_routes.kube.client import KubeClient
from kubegems_routes.routes import drift
from kubegems_routes.tenancy.models import Environment
from tests.e2e.conftest import VIEWPORTS, Page

pytestmark = pytest.mark.django_db(transaction=True)

FILLED = {"en-US": "The form below is filled from Ingress pasted.", "zh-CN": "下方表单已按 Ingress pasted 填写。"}
NOT_YAML = {"en-US": "This is not valid YAML (line 2, column 1)", "zh-CN": "这不是有效的 YAML（第 2 行，第 1 列）"}


@pytest.fixture
def olivia(operator):
    operator.set_password("pw")
    operator.save()
    return operator


def _manifest(environment: Environment) -> str:
    """An Ingress as kubectl shows it, written for another namespace, with a label the form has no place for."""
    return f"""apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: pasted
  namespace: staging
  labels:
    team: shop
  annotations:
    nginx.org/proxy-read-timeout: "120s"
spec:
  ingressClassName: public-{environment.namespace}
  rules:
  - host: pasted.acme.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: web
            port:
              number: 80
      - path: /api
        pathType: Exact
        backend:
          service:
            name: api
            port:
              number: 8080
"""


def _fill(p: Page, text: str) -> None:
    p.page.fill("#id_manifest", text)
    p.page.click("#paste-fill")
    p.settled()


@pytest.mark.parametrize("viewport", ["en-1440", "zh-390"])
def test_a_paste_is_the_first_thing_on_a_fresh_form(viewport, make_page, olivia, environment: Environment):
    """Nothing typed yet: the route form's required Name, which the paste posts along, must not stop it."""
    locale, width, height = VIEWPORTS[viewport]
    p = make_page(locale, f"paste-first-{viewport}", width=width, height=height)
    p.log_in()
    p.page.goto(f"/workbench/environments/{environment.pk}/routes/-/new/")
    p.page.click("#paste-panel summary")
    _fill(p, _manifest(environment))
    expect(p.page.locator("#paste-result")).to_contain_text(FILLED[locale])
    expect(p.page.locator("#id_name")).to_have_value("pasted")
    p.check_accessibility()
    p.shot("filled")


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_a_pasted_manifest_fills_the_form_and_a_download_gives_it_back(
    viewport, make_page, olivia, environment: Environment, kube: KubeClient
):
    locale, width, height = VIEWPORTS[viewport]
    p = make_page(locale, f"paste-{viewport}", width=width, height=height)
    p.log_in()
    p.page.goto(f"/workbench/environments/{environment.pk}/routes/-/new/")
    p.page.fill("#id_name", "typed")
    p.page.click("#paste-panel summary")
    expect(p.page.locator("#id_manifest")).to_be_visible()

    _fill(p, "kind: Ingress\n\tspec: {}\n")
    expect(p.page.locator("#id_manifest")).to_have_attribute("aria-invalid", "true")
    expect(p.page.locator("#paste-panel .invalid-feedback")).to_contain_text(NOT_YAML[locale])
    expect(p.page.locator("#id_manifest")).to_be_focused()
    expect(p.page.locator("#id_manifest")).to_have_value("kind: Ingress\n\tspec: {}\n")
    expect(p.page.locator("#id_name")).to_have_value("typed")  # the form as it was typed
    p.check_accessibility()
    p.shot("refused")

    _fill(p, _manifest(environment))
    expect(p.page.locator("#paste-result")).to_contain_text(FILLED[locale])
    expect(p.page.locator("#paste-result li")).to_have_count(2)  # another namespace; the label is dropped
    expect(p.page.locator("#paste-result")).to_contain_text("metadata.labels.team")
    expect(p.page.locator("#id_name")).to_have_value("pasted")
    expect(p.page.locator("#id_host")).to_have_value("pasted.acme.example.com")
    expect(p.page.locator("#id_paths-1-path")).to_have_value("/api")
    expect(p.page.locator("#id_paths-1-port")).to_have_value("8080")
    # As an edit shows it: the behaviour in its field under Behaviour, not a row of annotations.
    expect(p.page.locator("#id_read_timeout")).to_have_value("120s")
    expect(p.page.locator("#annotations-field .route-row")).to_have_count(0)
    p.page.wait_for_timeout(650)
    p.settled()
    previewed = yaml.safe_load(p.page.inner_text("#preview-yaml"))
    assert previewed["metadata"]["namespace"] == environment.namespace
    p.check_accessibility()
    p.shot("filled")

    p.page.click("button.btn-primary[value=save]")
    expect(p.page).to_have_url(re.compile(r"/routes/pasted/$"))
    live = kube.get_ingress(environment.namespace, "pasted")
    assert drift.managed_view(previewed) == drift.managed_view(live)
    assert "team" not in live["metadata"]["labels"]

    with p.page.expect_download() as download:
        p.page.click("#download-yaml")
    assert download.value.suggested_filename == "pasted.yaml"
    downloaded = yaml.safe_load(open(download.value.path(), encoding="utf-8").read())
    assert drift.managed_view(downloaded) == drift.managed_view(live)
    p.check_accessibility()
    p.shot("saved")

    p.page.goto(f"/workbench/environments/{environment.pk}/routes/pasted/history/")
    with p.page.expect_download() as download:
        p.page.click("#version-1 a[download]")
    assert download.value.suggested_filename == "pasted-v1.yaml"
    version = yaml.safe_load(open(download.value.path(), encoding="utf-8").read())
    assert drift.managed_view(version) == drift.managed_view(live)
    p.check_accessibility()
    p.shot("history")
