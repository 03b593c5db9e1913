"""Does a TLS route's Secret exist, and does it cover the host? From Secrets' metadata only, never their data.

A missing Secret is not refused (cert-manager may create it a moment later),
but the host is not served over HTTPS until it exists, so the save warns and
the list and detail pages say "secret missing". Where cert-manager wrote the
names a certificate covers (``cert-manager.io/alt-names``), a host outside
them is warned about too. With ``KGR_SECRET_PICKER=false`` the console never
lists Secrets, so it cannot tell, and says nothing.
"""

from __future__ import annotations

import enum
import logging

from django.conf import settings
from django.utils.translation import gettext as _

from kubegems_routes.kube.client import SecretMeta
from kubegems_routes.kube.errors import KubeError
from kubegems_routes.lib.hosts import in_domain
from kubegems_routes.tenancy.models import Environment

logger = logging.getLogger(__name__)


class TlsState(enum.StrEnum):
    OK = ""
    MISSING = "secret-missing"
    UNCOVERED = "host-not-covered"


def secrets_of(environment: Environment) -> dict[str, SecretMeta] | None:
    """The namespace's TLS Secrets by name, or None when the console may not or cannot tell."""
    if not settings.SECRET_PICKER:
        return None
    try:
        found = environment.cluster.client().list_tls_secrets(environment.namespace)
    except KubeError as exc:
        logger.warning("listing TLS secrets of %s failed: %s", environment.namespace, exc.message)
        return None
    return {secret.name: secret for secret in found}


def tls_state(secrets: dict[str, SecretMeta] | None, secret: str, host: str) -> TlsState:
    if secrets is None or not secret:
        return TlsState.OK
    found = secrets.get(secret)
    if found is None:
        return TlsState.MISSING
    if found.alt_names is not None and host and not any(in_domain(host, name) for name in found.alt_names):
        return TlsState.UNCOVERED
    return TlsState.OK


def tls_warning(secrets: dict[str, SecretMeta] | None, secret: str, host: str) -> str:
    """What a user should know after saving, or ''."""
    state = tls_state(secrets, secret, host)
    if state == TlsState.MISSING:
        return _(
            "TLS secret %(secret)s does not exist in this namespace yet: %(host)s is not served over HTTPS "
            "until it does (cert-manager may create it)."
        ) % {"secret": secret, "host": host}
    if state == TlsState.UNCOVERED and secrets is not None:
        return _("TLS secret %(secret)s is for %(names)s, not %(host)s: clients will refuse its certificate.") % {
            "secret": secret,
            "names": ", ".join(secrets[secret].alt_names or ()),
            "host": host,
        }
    return ""
