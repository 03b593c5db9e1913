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
from kubegems_routes.routes import manifest
from kubegems_routes.routes.models import Route
from kubegems_routes.tenancy.models import Environment

logger = logging.getLogger(__name__)


class TlsState(enum.StrEnum):
    OK = ""
    MISSING = "secret-missing"
    UNCOVERED = "host-not-covered"
    WAITING = "waiting-for-cert-manager"  # cert-manager has yet to write (or rewrite) the route's Secret


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


def tls_state(secrets: dict[str, SecretMeta] | None, secret: str, host: str, *, certificate: bool = False) -> TlsState:
    """``certificate``: cert-manager writes the Secret, so a missing or outdated one is awaited, not wrong."""
    if secrets is None or not secret:
        return TlsState.OK
    found = secrets.get(secret)
    if found is None:
        return TlsState.WAITING if certificate else TlsState.MISSING
    if found.alt_names is not None and host and not any(in_domain(host, name) for name in found.alt_names):
        return TlsState.WAITING if certificate else TlsState.UNCOVERED
    return TlsState.OK


def tls_warning(secrets: dict[str, SecretMeta] | None, secret: str, host: str, *, certificate: bool = False) -> str:
    """What a user should know after saving, or ''."""
    state = tls_state(secrets, secret, host, certificate=certificate)
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


def certificate_conflict(route: Route, secrets: dict[str, SecretMeta] | None) -> str:
    """Why cert-manager may not write this route's certificate into the Secret named after it, or ''.

    Another route of the environment that chose that Secret would be served this route's certificate,
    and a Secret cert-manager did not issue for this route (made by hand, or another Certificate's)
    would be overwritten. ``secrets`` None: the Secrets are not known (only routes are checked).
    """
    secret = manifest.certificate_secret_name(route.name)
    others = Route.objects.filter(
        environment_id=route.environment_id,
        tls_secret=secret,
        tls_source=manifest.TLS_FROM_SECRET,
        protocol__in=manifest.TLS_PROTOCOLS,
    ).exclude(name=route.name)
    other = others.values_list("name", flat=True).first()
    if other is not None:
        return _(
            "Route %(other)s uses Secret %(secret)s, where cert-manager would write this route's certificate: "
            "choose a TLS secret for this route, or give %(other)s another secret first."
        ) % {"other": other, "secret": secret}
    found = (secrets or {}).get(secret)
    if found is not None and found.certificate != secret:
        return _(
            "Secret %(secret)s already exists and cert-manager did not issue it for this route: "
            "cert-manager would overwrite it. Choose it (or another secret) as the TLS secret instead."
        ) % {"secret": secret}
    return ""
