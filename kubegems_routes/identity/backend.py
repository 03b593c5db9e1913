"""The authentication backend of provider sign-in: mozilla-django-oidc's, stricter.

The library runs the authorization code flow (state, nonce and PKCE kept in the session, each state used once).
This backend adds what a console needs on top: endpoints from discovery, read only when a sign-in comes back
(Django builds every backend for each local log-in, which must work with the provider down); the ID token
checked for issuer, audience, expiry and signature (keys read from the JWKS at each sign-in, so rotated keys
are picked up); users found by the provider account (issuer and subject), never by e-mail; and every refusal
a ``SignInRefused`` in words, shown by the callback view, with nothing created.
"""

from __future__ import annotations

from typing import Any

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from kubegems_routes.identity.models import SignInAccount
from kubegems_routes.identity.provider import Provider, ProviderUnavailable, discover, enabled
from kubegems_routes.identity.roles import apply_groups

# Asymmetric algorithms only: a token "signed" with the client secret (HS256) or not at all is refused.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]
# Clocks of the console and the provider may differ by this many seconds.
LEEWAY_SECONDS = 30


class SignInRefused(Exception):
    """Why a sign-in through the provider was refused, in words for the person signing in."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ProviderBackend(OIDCAuthenticationBackend):
    def __init__(self) -> None:
        # No call to the provider here (see the module's docstring).
        self.UserModel = get_user_model()
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = "RS256"
        self.OIDC_RP_IDP_SIGN_KEY = None

    def authenticate(
        self, request: HttpRequest | None, nonce: str | None = None, code_verifier: str | None = None
    ) -> User | None:
        if request is None or not enabled() or nonce is None:
            return None
        try:
            self.provider: Provider = discover()
        except ProviderUnavailable as exc:
            raise SignInRefused(_("The sign-in provider cannot be reached: %(why)s") % {"why": exc}) from exc
        self.OIDC_OP_TOKEN_ENDPOINT = self.provider.token_endpoint
        self.OIDC_OP_JWKS_ENDPOINT = self.provider.jwks_uri
        try:
            user: User | None = super().authenticate(request, nonce=nonce, code_verifier=code_verifier)
        except requests.HTTPError as exc:
            raise SignInRefused(
                _("The provider refused to exchange the sign-in code (it may have been used already).")
            ) from exc
        except requests.RequestException as exc:
            raise SignInRefused(_("The sign-in provider stopped answering during the sign-in.")) from exc
        return user

    def verify_token(self, token: str | None, **kwargs: Any) -> dict[str, Any]:
        if not token:
            raise SignInRefused(_("The provider sent no ID token."))
        try:
            key = self.retrieve_matching_jwk(token)
        except (jwt.DecodeError, KeyError) as exc:
            raise SignInRefused(_("The provider's answer is not a signed ID token.")) from exc
        except SuspiciousOperation as exc:
            raise SignInRefused(_("The ID token is signed with a key the provider does not publish.")) from exc
        except requests.RequestException as exc:
            raise SignInRefused(_("The provider's signing keys could not be read.")) from exc
        try:
            payload: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=self.provider.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise SignInRefused(
                _("The ID token has expired. Check the clocks of the console and the provider.")
            ) from exc
        except jwt.InvalidIssuerError as exc:
            raise SignInRefused(_("The ID token was issued by another provider than the one configured.")) from exc
        except jwt.InvalidAudienceError as exc:
            raise SignInRefused(_("The ID token was issued for another application, not this console.")) from exc
        except jwt.InvalidSignatureError as exc:
            raise SignInRefused(_("The ID token's signature is not valid.")) from exc
        except jwt.InvalidTokenError as exc:
            raise SignInRefused(_("The ID token is not valid: %(why)s") % {"why": exc}) from exc
        audiences = payload["aud"] if isinstance(payload["aud"], list) else [payload["aud"]]
        if len(audiences) > 1 and payload.get("azp") != self.OIDC_RP_CLIENT_ID:
            # OpenID Connect Core 3.1.3.7: with several audiences, the token was issued to the party in azp.
            raise SignInRefused(_("The ID token was issued for another application, not this console."))
        if payload.get("nonce") != kwargs.get("nonce"):
            raise SignInRefused(_("The ID token belongs to another sign-in (its nonce does not match)."))
        return payload

    def get_userinfo(self, access_token: str, id_token: str, payload: dict[str, Any]) -> dict[str, Any]:
        # The ID token's claims, checked above, carry all the console reads: no userinfo call.
        return payload

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        if not claims.get("preferred_username"):
            raise SignInRefused(_("The provider sent no user name (the preferred_username claim)."))
        return True

    def filter_users_by_claims(self, claims: dict[str, Any]) -> Any:
        return self.UserModel.objects.filter(
            sign_in_account__issuer=self.provider.issuer, sign_in_account__subject=claims["sub"]
        )

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict[str, Any]) -> User | None:
        # A refusal half-way (a name taken) leaves nothing behind.
        with transaction.atomic():
            user: User | None = super().get_or_create_user(access_token, id_token, payload)
            return user

    def create_user(self, claims: dict[str, Any]) -> User:
        username = str(claims["preferred_username"])
        if self.UserModel.objects.filter(username=username).exists():
            raise SignInRefused(
                _(
                    "The console already has a user named %(name)s who did not sign in through the provider. "
                    "An admin must rename or remove that user first."
                )
                % {"name": username}
            )
        user: User = self.UserModel.objects.create_user(username)
        user.set_unusable_password()
        SignInAccount.objects.create(user=user, issuer=self.provider.issuer, subject=str(claims["sub"]))
        return self.update_user(user, claims)

    def update_user(self, user: User, claims: dict[str, Any]) -> User:
        user.email = str(claims.get("email") or "")
        user.first_name = str(claims.get("given_name") or claims.get("name") or "")[:150]
        user.last_name = str(claims.get("family_name") or "")[:150]
        groups = claims.get(settings.OIDC_GROUPS_CLAIM)
        if not isinstance(groups, list):
            self.request.sign_in_without_groups = True
            groups = []
        account = SignInAccount.objects.select_for_update().get(user=user)
        account.last_sign_in = timezone.now()
        apply_groups(user, account, [str(group) for group in groups])
        return user
