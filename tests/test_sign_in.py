"""Sign-in through a real Keycloak (tests/keycloak_realm.json): first sign-in, groups onto roles, log-out.

The person's browser is a requests session that fills in Keycloak's own login form; the console is Django's
test client. Keycloak redirects back to http://testserver/oidc/callback/, which the test client then opens.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from kubegems_routes.identity.models import GroupRole, SignInAccount
from kubegems_routes.tenancy.models import (
    Cluster,
    Environment,
    EnvironmentMember,
    Project,
    ProjectMember,
    Tenant,
    TenantMember,
)
from tests.oidc import Browser, KeycloakAdmin, has_keycloak_session, keycloak_login, query_of

pytestmark = [pytest.mark.keycloak, pytest.mark.django_db]


@pytest.fixture
def places(db) -> dict[str, object]:
    cluster = Cluster.objects.create(name="local", in_cluster=True)
    acme = Tenant.objects.create(name="acme")
    shop = Project.objects.create(tenant=acme, name="shop")
    dev = Environment.objects.create(project=shop, cluster=cluster, name="dev", namespace="shop-dev")
    prod = Environment.objects.create(project=shop, cluster=cluster, name="prod", namespace="shop-prod")
    other = Tenant.objects.create(name="globex")
    GroupRole.objects.create(group="shop-devs", role=GroupRole.Role.ENVIRONMENT_OPERATOR, environment=dev)
    GroupRole.objects.create(group="shop-ops", role=GroupRole.Role.PROJECT_OPS, project=shop)
    GroupRole.objects.create(group="auditors", role=GroupRole.Role.ENVIRONMENT_READER, environment=prod)
    GroupRole.objects.create(group="platform-admins", role=GroupRole.Role.STAFF)
    return {"acme": acme, "shop": shop, "dev": dev, "prod": prod, "globex": other}


@pytest.fixture
def groups_restored(keycloak_admin: KeycloakAdmin) -> Iterator[KeycloakAdmin]:
    """Keycloak lives for the session: put back the groups a test changes."""
    before = {name: keycloak_admin.groups_of(name) for name in ("alice", "bob")}
    yield keycloak_admin
    for name, groups in before.items():
        now = keycloak_admin.groups_of(name)
        for group in set(now) - set(groups):
            keycloak_admin.leave(name, group)
        for group in set(groups) - set(now):
            keycloak_admin.join(name, group)


def start(client: Client) -> str:
    response = client.get(reverse("oidc_authentication_init"))
    assert response.status_code == 302
    return str(response["Location"])


def sign_in(client: Client, browser: Browser, username: str) -> tuple[str, object]:
    """The whole round trip; the callback URL Keycloak sent back and the console's answer to it."""
    back = keycloak_login(browser, start(client), username)
    parts = urlsplit(back)
    assert parts.path == reverse("oidc_authentication_callback"), back
    return back, client.get(f"{parts.path}?{parts.query}")


def environments_seen(client: Client) -> list[Environment]:
    page = client.get(reverse("workbench:environments"))
    assert page.status_code == 200
    return [env for _tenant, projects in page.context["tenants"] for _project, envs in projects for env in envs]


def test_authorization_request_carries_state_nonce_and_pkce(client, oidc):
    query = query_of(start(client))
    assert query["response_type"] == "code"
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43  # base64url of a SHA-256
    assert len(query["state"]) == 32 and len(query["nonce"]) == 32
    assert query["scope"] == "openid email profile"
    assert query["redirect_uri"] == "http://testserver/oidc/callback/"


def test_first_sign_in_creates_the_user_with_the_roles_of_their_groups(client, oidc, places):
    _back, response = sign_in(client, Browser(), "alice")

    assert response.status_code == 302 and response["Location"] == reverse("workbench:environments")
    alice = User.objects.get(username="alice")
    assert (alice.email, alice.first_name, alice.last_name) == ("alice@example.com", "Alice", "Liddell")
    assert not alice.has_usable_password()
    account = SignInAccount.objects.get(user=alice)
    assert account.issuer == oidc.issuer and account.groups == ["shop-devs"]
    member = EnvironmentMember.objects.get(user=alice)
    assert (member.environment, member.role, member.granted_by_sign_in) == (places["dev"], "operator", True)
    assert not alice.is_staff

    assert environments_seen(client) == [places["dev"]]


def test_a_group_changed_in_keycloak_changes_the_roles_at_the_next_sign_in(client, oidc, places, groups_restored):
    admin = groups_restored
    sign_in(client, Browser(), "bob")
    bob = User.objects.get(username="bob")
    assert ProjectMember.objects.get(user=bob).role == "ops"
    assert EnvironmentMember.objects.get(user=bob).environment == places["prod"]
    # Given by hand in admin: no sign-in touches it.
    TenantMember.objects.create(tenant=places["globex"], user=bob, role=TenantMember.Role.MEMBER)

    admin.leave("bob", "shop-ops")
    admin.join("bob", "shop-devs")
    client.post(reverse("logout"))
    sign_in(client, Browser(), "bob")

    assert not ProjectMember.objects.filter(user=bob).exists()
    granted = {(m.environment.name, m.role) for m in EnvironmentMember.objects.filter(user=bob)}
    assert granted == {("dev", "operator"), ("prod", "reader")}
    assert SignInAccount.objects.get(user=bob).groups == ["auditors", "shop-devs"]
    hand_given = TenantMember.objects.get(user=bob)
    assert (hand_given.tenant, hand_given.granted_by_sign_in) == (places["globex"], False)

    admin.leave("bob", "shop-devs")
    admin.leave("bob", "auditors")
    client.post(reverse("logout"))
    sign_in(client, Browser(), "bob")
    assert not EnvironmentMember.objects.filter(user=bob).exists()
    assert TenantMember.objects.filter(user=bob, tenant=places["globex"]).exists()
    assert environments_seen(client) == []


def test_a_hand_given_role_on_the_same_place_wins_and_survives(client, oidc, places):
    alice = User.objects.create_user("alice")
    alice.set_unusable_password()
    EnvironmentMember.objects.create(environment=places["dev"], user=alice, role=EnvironmentMember.Role.READER)
    SignInAccount.objects.create(user=alice, issuer=oidc.issuer, subject=_subject_of(oidc, "alice"))

    sign_in(client, Browser(), "alice")

    member = EnvironmentMember.objects.get(user=alice)
    assert (member.role, member.granted_by_sign_in) == ("reader", False)


def _subject_of(keycloak, username: str) -> str:
    return KeycloakAdmin(keycloak).user_id(username)


def test_the_staff_group_makes_a_system_admin_and_leaving_it_unmakes_one(client, oidc, places, keycloak_admin):
    sign_in(client, Browser(), "root")
    root = User.objects.get(username="root")
    assert root.is_staff and root.is_superuser and SignInAccount.objects.get(user=root).staff_granted
    assert client.get(reverse("admin:index")).status_code == 200

    keycloak_admin.leave("root", "platform-admins")
    try:
        client.post(reverse("logout"))
        sign_in(client, Browser(), "root")
    finally:
        keycloak_admin.join("root", "platform-admins")
    root.refresh_from_db()
    assert not root.is_staff and not root.is_superuser


def test_staff_given_by_hand_is_kept_when_no_group_grants_it(client, oidc, places):
    alice = User.objects.create_user("alice", is_staff=True, is_superuser=True)
    SignInAccount.objects.create(user=alice, issuer=oidc.issuer, subject=_subject_of(oidc, "alice"))
    sign_in(client, Browser(), "alice")
    alice.refresh_from_db()
    assert alice.is_staff and alice.is_superuser


def test_log_out_ends_the_console_session_and_keycloaks(client, oidc, places, keycloak_admin):
    browser = Browser()
    earlier = {session["id"] for session in keycloak_admin.sessions_of("alice")}  # other tests' browsers
    sign_in(client, browser, "alice")
    ours = {session["id"] for session in keycloak_admin.sessions_of("alice")} - earlier
    assert len(ours) == 1
    assert has_keycloak_session(browser, start(Client()))

    response = client.post(reverse("logout"))

    assert response.status_code == 302
    end_session = response["Location"]
    assert end_session.startswith(f"{oidc.issuer}/protocol/openid-connect/logout?")
    query = query_of(end_session)
    assert query["post_logout_redirect_uri"] == "http://testserver/login/" and query["id_token_hint"]
    back = browser.get(end_session, allow_redirects=False, timeout=30)
    assert back.status_code == 302 and back.headers["Location"] == "http://testserver/login/"
    assert not ours & {session["id"] for session in keycloak_admin.sessions_of("alice")}
    assert not has_keycloak_session(browser, start(Client()))
    assert client.get(reverse("workbench:environments")).status_code == 302


def test_a_replayed_callback_is_refused_and_changes_nothing(client, oidc, places):
    back, response = sign_in(client, Browser(), "alice")
    assert response.status_code == 302
    alice = User.objects.get(username="alice")
    client.post(reverse("logout"))
    alice.environment_roles.all().delete()

    parts = urlsplit(back)
    for replayer in (client, Client()):
        refused = replayer.get(f"{parts.path}?{parts.query}")
        assert refused.status_code == 403
        assert "already used or was not started here" in refused.content.decode()
        assert not refused.wsgi_request.user.is_authenticated
    assert not alice.environment_roles.exists()


def test_without_the_groups_claim_the_user_signs_in_with_no_roles_and_is_told_why(client, oidc, places, settings):
    settings.OIDC_GROUPS_CLAIM = "kgr_groups"  # Keycloak's mapper writes "groups"
    _back, response = sign_in(client, Browser(), "alice")

    assert response.status_code == 302
    page = client.get(response["Location"])
    assert "The provider sent no groups (the kgr_groups claim)" in page.content.decode()
    alice = User.objects.get(username="alice")
    assert not alice.environment_roles.exists() and SignInAccount.objects.get(user=alice).groups == []


def test_a_local_user_of_the_same_name_is_never_taken_over(client, oidc, places):
    User.objects.create_user("alice", password="local-password")
    _back, response = sign_in(client, Browser(), "alice")

    assert response.status_code == 403
    assert "already has a user named alice" in response.content.decode()
    assert not SignInAccount.objects.exists() and not EnvironmentMember.objects.exists()
    assert User.objects.count() == 1


def test_the_login_page_offers_the_provider_first(client, oidc):
    page = client.get(reverse("login")).content.decode()
    assert page.index("Sign in with Keycloak") < page.index('name="password"')
