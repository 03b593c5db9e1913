"""The OpenID Connect provider, as its discovery document describes it.

Read from ``<issuer>/.well-known/openid-configuration`` when first needed and kept for a few minutes, so that a
provider that was down is found again without a restart; an unreachable provider is an error the login page
shows, never a 500, and local log-in keeps working.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import requests
from django.conf import settings
from django.utils.translation import gettext as _

_KEPT_SECONDS = 300.0
# A provider that did not answer is not asked again for this long: the login page stays quick while it is down.
_FAILURE_KEPT_SECONDS = 15.0


class ProviderUnavailable(Exception):
    """The provider could not be asked (down, or its discovery document is not one); said in words."""


@dataclass(frozen=True)
class Provider:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    end_session_endpoint: str | None


_lock = threading.Lock()
_cached: tuple[float, str, Provider] | None = None
_failed: tuple[float, str, str] | None = None


def enabled() -> bool:
    return bool(settings.OIDC_ISSUER)


def discover() -> Provider:
    """The configured provider's endpoints; raises ProviderUnavailable."""
    global _cached
    issuer = settings.OIDC_ISSUER
    with _lock:
        if _cached and _cached[1] == issuer and time.monotonic() - _cached[0] < _KEPT_SECONDS:
            return _cached[2]
    provider = _fetch(issuer)
    with _lock:
        _cached = (time.monotonic(), issuer, provider)
    return provider


def forget() -> None:
    """Read the discovery document again on next use (tests, and after a failed sign-in)."""
    global _cached
    with _lock:
        _cached = None


def _fetch(issuer: str) -> Provider:
    url = f"{issuer.rstrip('/')}/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except requests.RequestException as exc:
        raise ProviderUnavailable(_("%(url)s did not answer: %(why)s") % {"url": url, "why": _short(exc)}) from exc
    except ValueError as exc:
        raise ProviderUnavailable(_("%(url)s did not answer JSON.") % {"url": url}) from exc
    if not isinstance(document, dict):
        raise ProviderUnavailable(_("%(url)s did not answer JSON.") % {"url": url})
    if document.get("issuer") != issuer:
        raise ProviderUnavailable(
            _("The provider calls itself %(found)s, not %(issuer)s.")
            % {"found": document.get("issuer"), "issuer": issuer}
        )
    try:
        return Provider(
            issuer=issuer,
            authorization_endpoint=str(document["authorization_endpoint"]),
            token_endpoint=str(document["token_endpoint"]),
            jwks_uri=str(document["jwks_uri"]),
            end_session_endpoint=document.get("end_session_endpoint"),
        )
    except KeyError as exc:
        raise ProviderUnavailable(
            _("%(url)s lacks %(key)s.") % {"url": url, "key": exc.args[0]},
        ) from exc


def _short(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.ConnectionError):
        return _("connection refused or no route")
    if isinstance(exc, requests.Timeout):
        return _("no answer in time")
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return _("HTTP status %(status)s") % {"status": exc.response.status_code}
    return exc.__class__.__name__
