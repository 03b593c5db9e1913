"""Sign-ins refused with a page saying why, nothing created: forged ID tokens, an unreachable provider.

The ID tokens come from the forging provider of tests/oidc.py (real HTTP, the test's own keys); the console's
whole path runs: the authorization request, the state and nonce in the session, the code exchange, the checks.
"""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from kubegems_routes.demo.keycloak import free_port
from kubegems_routes.identity.models import GroupRole, SignInAccount
from kubegems_routes.tenancy.models import Tenant, TenantMember
from tests.oidc import CLIENT_SECRET, ForgingProvider, SigningKey, query_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(db) -> Tenant:
    tenant = Tenant.objects.create(name="acme")
    GroupRole.objects.create(group="shop-devs", role=GroupRole.Role.TENANT_MEMBER, tenant=tenant)
    return tenant


def sign_in_with(client: Client, provider: ForgingProvider, make_token) -> object:
    """Start a sign-in, let the provider answer the code with make_token(nonce), come back with the code."""
    start = client.get(reverse("oidc_authentication_init"))
    assert start.status_code == 302
    query = query_of(start["Location"])
    provider.id_token = make_token(query["nonce"])
    return client.get(reverse("oidc_authentication_callback"), {"code": "the-code", "state": query["state"]})


def assert_refused(response, words: str) -> None:
    assert response.status_code == 403
    text = response.content.decode()
    assert "Sign-in refused" in text and words in text, text
    assert not response.wsgi_request.user.is_authenticated
    assert not User.objects.exists() and not SignInAccount.objects.exists() and not TenantMember.objects.exists()


def test_a_well_formed_token_signs_in(client, forging_provider, acme):
    provider = forging_provider
    response = sign_in_with(client, provider, lambda nonce: provider.keys[0].sign(provider.claims(nonce)))

    assert response.status_code == 302
    assert TenantMember.objects.get(user__username="mallory").granted_by_sign_in
    exchange = provider.token_requests[-1]
    assert exchange["grant_type"] == "authorization_code" and exchange["client_secret"] == CLIENT_SECRET
    assert len(exchange["code_verifier"]) == 64


def test_a_token_of_another_issuer_is_refused(client, forging_provider, acme):
    provider = forging_provider
    token = lambda nonce: provider.keys[0].sign(provider.claims(nonce, iss="https://evil.example.com/realms/x"))  # noqa: E731
    assert_refused(sign_in_with(client, provider, token), "issued by another provider")


def test_a_token_for_another_audience_is_refused(client, forging_provider, acme):
    provider = forging_provider
    token = lambda nonce: provider.keys[0].sign(provider.claims(nonce, aud="another-app"))  # noqa: E731
    assert_refused(sign_in_with(client, provider, token), "issued for another application")


def test_a_token_for_several_audiences_needs_this_console_as_its_authorized_party(client, forging_provider, acme):
    provider = forging_provider
    both = ["another-app", "kubegems-routes"]
    token = lambda nonce: provider.keys[0].sign(provider.claims(nonce, aud=both, azp="another-app"))  # noqa: E731
    assert_refused(sign_in_with(client, provider, token), "issued for another application")
    token = lambda nonce: provider.keys[0].sign(provider.claims(nonce, aud=both, azp="kubegems-routes"))  # noqa: E731
    assert sign_in_with(client, provider, token).status_code == 302


def test_an_expired_token_is_refused(client, forging_provider, acme):
    provider = forging_provider
    hour_ago = int(time.time()) - 3600
    token = lambda nonce: provider.keys[0].sign(provider.claims(nonce, iat=hour_ago - 300, exp=hour_ago))  # noqa: E731
    assert_refused(sign_in_with(client, provider, token), "has expired")


def test_a_token_signed_with_another_key_under_the_providers_key_id_is_refused(client, forging_provider, acme):
    provider = forging_provider
    impostor = SigningKey("key-1")
    token = lambda nonce: impostor.sign(provider.claims(nonce))  # noqa: E731
    assert_refused(sign_in_with(client, provider, token), "signature is not valid")


def test_a_token_signed_with_an_unpublished_key_is_refused(client, forging_provider, acme):
    provider = forging_provider
    token = lambda nonce: SigningKey("key-9").sign(provider.claims(nonce))  # noqa: E731
    assert_refused(sign_in_with(client, provider, token), "a key the provider does not publish")


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_a_token_signed_with_the_client_secret_is_refused(client, forging_provider, acme):
    import jwt

    provider = forging_provider
    token = lambda nonce: jwt.encode(  # noqa: E731
        provider.claims(nonce), CLIENT_SECRET, algorithm="HS256", headers={"kid": "key-1"}
    )
    # No published key is an HS256 key: the client secret is never taken for one.
    assert_refused(sign_in_with(client, provider, token), "a key the provider does not publish")


def test_rotated_keys_are_picked_up_from_the_jwks(client, forging_provider, acme):
    provider = forging_provider
    assert sign_in_with(client, provider, lambda n: provider.keys[0].sign(provider.claims(n))).status_code == 302
    client.post(reverse("logout"))

    provider.keys = [SigningKey("key-2")]  # the provider rotated: key-1 is gone
    old = SigningKey("key-1")
    assert sign_in_with(client, provider, lambda n: provider.keys[0].sign(provider.claims(n))).status_code == 302
    client.post(reverse("logout"))
    refused = sign_in_with(Client(), provider, lambda n: old.sign(provider.claims(n)))
    assert refused.status_code == 403 and "does not publish" in refused.content.decode()


def test_a_token_of_another_sign_in_is_refused(client, forging_provider, acme):
    provider = forging_provider
    token = lambda nonce: provider.keys[0].sign(provider.claims("nonce-of-another-sign-in"))  # noqa: E731
    assert_refused(sign_in_with(client, provider, token), "belongs to another sign-in")


def test_a_token_without_a_user_name_is_refused(client, forging_provider, acme):
    provider = forging_provider
    token = lambda nonce: provider.keys[0].sign(provider.claims(nonce, preferred_username=None))  # noqa: E731
    assert_refused(sign_in_with(client, provider, token), "no user name")


def test_a_callback_with_an_unknown_state_is_refused(client, forging_provider, acme):
    client.get(reverse("oidc_authentication_init"))
    response = client.get(reverse("oidc_authentication_callback"), {"code": "c", "state": "made-up"})
    assert_refused(response, "already used or was not started here")


def test_the_provider_saying_no_is_shown(client, forging_provider, acme):
    start = client.get(reverse("oidc_authentication_init"))
    state = query_of(start["Location"])["state"]
    response = client.get(reverse("oidc_authentication_callback"), {"error": "access_denied", "state": state})
    assert_refused(response, "did not sign you in (access_denied)")
    # That state is spent.
    response = client.get(reverse("oidc_authentication_callback"), {"code": "c", "state": state})
    assert_refused(response, "already used or was not started here")


def test_an_unreachable_provider_is_said_on_the_login_page_and_local_login_still_works(client, settings):
    settings.OIDC_ISSUER = f"http://127.0.0.1:{free_port()}/realms/gone"
    settings.OIDC_RP_CLIENT_ID, settings.OIDC_RP_CLIENT_SECRET = "kubegems-routes", CLIENT_SECRET
    settings.OIDC_PROVIDER_NAME = "Keycloak"
    from kubegems_routes.identity import provider

    provider.forget()
    User.objects.create_user("breakglass", password="local-password")

    page = client.get(reverse("login"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Sign-in with Keycloak is unavailable: the provider cannot be reached." in text
    assert "connection refused" in text

    start = client.get(reverse("oidc_authentication_init"))
    assert start.status_code == 503 and "cannot be reached" in start.content.decode()

    logged_in = client.post(reverse("login"), {"username": "breakglass", "password": "local-password"})
    assert logged_in.status_code == 302 and logged_in.wsgi_request.user.username == "breakglass"
    assert client.post(reverse("logout"))["Location"] == "http://testserver/login/"


def test_local_login_can_be_switched_off(client, forging_provider, settings):
    settings.LOCAL_LOGIN = False
    User.objects.create_user("breakglass", password="local-password")
    page = client.get(reverse("login")).content.decode()
    assert 'name="password"' not in page and "Sign in with Keycloak" in page

    refused = client.post(reverse("login"), {"username": "breakglass", "password": "local-password"})
    assert refused.status_code == 403 and "Local log-in is switched off." in refused.content.decode()
    assert not refused.wsgi_request.user.is_authenticated


def test_without_a_provider_the_login_page_is_the_local_one(client, settings):
    settings.OIDC_ISSUER = ""
    page = client.get(reverse("login")).content.decode()
    assert 'name="password"' in page and "Sign in with" not in page
    assert client.get(reverse("oidc_authentication_init"))["Location"] == reverse("login")


def test_with_a_provider_admins_log_in_is_the_consoles(client, forging_provider, settings):
    settings.LOCAL_LOGIN = False
    response = client.get("/admin/login/?next=/admin/identity/grouprole/")
    assert response["Location"] == "/login/?next=%2Fadmin%2Fidentity%2Fgrouprole%2F"
    User.objects.create_superuser("breakglass", password="local-password")
    refused = client.post("/admin/login/", {"username": "breakglass", "password": "local-password"})
    assert refused.status_code == 302 and not refused.wsgi_request.user.is_authenticated


def test_without_a_provider_admins_log_in_is_its_own(client, settings):
    settings.OIDC_ISSUER = ""
    assert client.get("/admin/login/").status_code == 200


def test_admins_log_out_is_the_consoles(client, forging_provider, acme):
    provider = forging_provider
    sign_in_with(client, provider, lambda nonce: provider.keys[0].sign(provider.claims(nonce)))
    response = client.post("/admin/logout/")
    assert response["Location"].startswith(f"http://127.0.0.1:{provider.server.server_address[1]}/logout?")
    assert "id_token_hint" in query_of(response["Location"])
    assert not client.get(reverse("workbench:environments")).wsgi_request.user.is_authenticated


def test_a_sign_in_returns_to_the_page_asked_for(client, forging_provider, acme):
    provider = forging_provider
    login = client.get(reverse("login"), {"next": "/workbench/?page=2"}).content.decode()
    assert 'href="/oidc/authenticate/?next=/workbench/%3Fpage%3D2"' in login
    start = client.get(reverse("oidc_authentication_init"), {"next": "/workbench/?page=2"})
    query = query_of(start["Location"])
    provider.id_token = provider.keys[0].sign(provider.claims(query["nonce"]))
    back = client.get(reverse("oidc_authentication_callback"), {"code": "c", "state": query["state"]})
    assert back["Location"] == "/workbench/?page=2"


def test_a_disabled_user_is_refused(client, forging_provider, acme):
    provider = forging_provider
    sign_in_with(client, provider, lambda nonce: provider.keys[0].sign(provider.claims(nonce)))
    client.post(reverse("logout"))
    User.objects.filter(username="mallory").update(is_active=False)

    response = sign_in_with(client, provider, lambda nonce: provider.keys[0].sign(provider.claims(nonce)))
    assert response.status_code == 403 and "Your account in the console is disabled." in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated
