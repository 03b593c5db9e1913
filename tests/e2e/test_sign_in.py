"""Sign-in in a real browser: the console's login page, Keycloak's own login page, back in the workbench.

In English and Chinese, 1440 and 390 px wide: the user lands in the workbench with exactly the environments
their Keycloak groups give, and logging out ends Keycloak's session too (the next sign-in asks again).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from kubegems_routes.identity.models import GroupRole
from kubegems_routes.tenancy.models import Cluster, Environment, Project, Tenant
from tests.e2e.conftest import VIEWPORTS

pytestmark = pytest.mark.django_db(transaction=True)

WORDS = {
    "en-US": {"sign in": "Sign in with Keycloak", "log out": "Log out", "keycloak button": "Sign In"},
    "zh-CN": {"sign in": "使用 Keycloak 登录", "log out": "退出登录", "keycloak button": "登录"},
}


@pytest.mark.keycloak
@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_sign_in_on_keycloaks_page_lands_in_the_workbench_with_the_groups_environments(make_page, oidc, viewport):
    language, width, height = VIEWPORTS[viewport]
    cluster = Cluster.objects.create(name="local", in_cluster=True)
    shop = Project.objects.create(tenant=Tenant.objects.create(name="acme"), name="shop")
    dev = Environment.objects.create(project=shop, cluster=cluster, name="dev", namespace="shop-dev")
    Environment.objects.create(project=shop, cluster=cluster, name="prod", namespace="shop-prod")
    GroupRole.objects.create(group="shop-devs", role=GroupRole.Role.ENVIRONMENT_OPERATOR, environment=dev)
    words = WORDS[language]

    page = make_page(language, f"{language[:2]}/sign-in-{width}", width, height)
    page.page.goto("/login/")
    button = page.page.get_by_role("link", name=words["sign in"])
    expect(button).to_be_visible()
    page.check_accessibility()
    page.shot("console-login")

    button.click()
    expect(page.page).to_have_url(re.compile(re.escape(oidc.issuer)))
    page.page.fill("#username", "alice")
    page.page.fill("#password", "alice-password")
    page.shot("keycloak-login")
    page.page.click("#kc-login")

    expect(page.page).to_have_url(re.compile(r"/workbench/$"))
    main = page.page.locator("main")
    expect(main.get_by_role("heading", name=re.compile(r"^dev\b"))).to_be_visible()
    expect(main.get_by_role("heading", name=re.compile(r"^prod\b"))).to_have_count(0)
    page.check_accessibility()
    page.shot("workbench")

    page.page.get_by_role("button", name=words["log out"]).click()
    expect(page.page).to_have_url(re.compile(r"/login/$"))
    # Keycloak's session ended too: signing in again shows its login form.
    page.page.get_by_role("link", name=words["sign in"]).click()
    expect(page.page.locator("#username")).to_be_visible()
    page.shot("keycloak-asks-again")


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_an_unreachable_provider_is_said_and_local_login_is_open(make_page, settings, viewport):
    from kubegems_routes.demo.keycloak import free_port
    from kubegems_routes.identity import provider

    language, width, height = VIEWPORTS[viewport]
    settings.OIDC_ISSUER = f"http://127.0.0.1:{free_port()}/realms/gone"
    settings.OIDC_PROVIDER_NAME = "Keycloak"
    provider.forget()
    page = make_page(language, f"{language[:2]}/sign-in-unreachable-{width}", width, height)
    page.page.goto("/login/")
    expect(page.page.locator("#provider-problem")).to_be_visible()
    expect(page.page.locator("#id_password")).to_be_visible()
    page.check_accessibility()
    page.shot("provider-unreachable")
    provider.forget()
