"""Asking cert-manager for a certificate in a real browser, in English and Chinese, at desktop and phone width:
the choice swaps the secret field for the Secret cert-manager writes, the preview follows, saving writes it,
and the route's page says it waits for cert-manager. axe-core on each page."""

from __future__ import annotations

import re

import pytest
import yaml
from playwright.sync_api import expect

from kubegems_routes.kube.client import KubeClient
from kubegems_routes.routes import drift
from kubegems_routes.tenancy.models import Environment
from tests.e2e.conftest import VIEWPORTS
from tests.helpers import tenant_gateway

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def olivia(operator):
    operator.set_password("pw")
    operator.save()
    return operator


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_a_certificate_from_cert_manager_is_chosen_previewed_and_saved(
    viewport, make_page, olivia, environment: Environment, kube: KubeClient
):
    gateway = tenant_gateway(environment)
    gateway.cluster_issuer = "letsencrypt"
    gateway.save()
    locale, width, height = VIEWPORTS[viewport]
    p = make_page(locale, f"certificate-{viewport}", width=width, height=height)
    p.log_in()
    p.page.goto(f"/workbench/environments/{environment.pk}/routes/-/new/")
    p.page.fill("#id_name", "shop")
    p.page.select_option("#id_gateway", label="public (*.acme.example.com)")
    p.settled()
    p.page.fill("#id_host", "shop.acme.example.com")
    p.page.select_option("#id_paths-0-service", "web")
    p.settled()
    p.page.select_option("#id_protocol", "https")
    p.settled()
    expect(p.page.locator("#id_tls_secret")).to_be_visible()

    p.page.check("#id_tls_source_1")
    p.settled()
    expect(p.page.locator("#certificate-secret")).to_contain_text("shop-tls")
    expect(p.page.locator("#id_tls_secret")).to_have_count(0)
    expect(p.page.locator("#id_tls_source_1")).to_be_focused()  # only what is under the choice was swapped
    p.page.wait_for_timeout(650)
    p.settled()
    previewed = yaml.safe_load(p.page.inner_text("#preview-yaml"))
    assert previewed["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt"
    assert previewed["spec"]["tls"][0]["secretName"] == "shop-tls"
    p.check_accessibility()
    p.shot("certificate-chosen")

    p.page.click("button.btn-primary[value=save]")
    expect(p.page).to_have_url(re.compile(r"/routes/shop/$"))
    live = kube.get_ingress(environment.namespace, "shop")
    assert drift.managed_view(previewed) == drift.managed_view(live)
    expect(p.page.locator("#tls-secret .badge")).to_be_visible()  # waiting for cert-manager
    assert "shop-tls" in p.page.inner_text("#tls-secret")
    p.check_accessibility()
    p.shot("route-waiting-for-cert-manager")
