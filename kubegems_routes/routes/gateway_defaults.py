"""A gateway's default annotations checked as the NGINX Ingress Controller will see them on every route (pure).

Every route on an ingress-class gateway carries its defaults, so one bad default (``proxy-read-timeout:
banana``) gets every route's Ingress rejected. A default must pass ``annotation_values.check`` on its own: a
route that sets no annotation of its own carries the defaults alone, so the companions a default needs
(``hsts`` for ``hsts-max-age``) must be defaults too. A default that names Services (``annotation_values.
NAMES_SERVICES``) cannot be right for every route and is refused.

Gateway API gateways are not checked: no NGINX reads the annotations there, and each behaviour's annotation
is translated into Gateway API's fields or dropped (``gateway_behaviour``), as for a route's own rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.utils.translation import gettext as _

from kubegems_routes.routes import annotation_values


@dataclass(frozen=True)
class Refusal:
    """Why one default cannot be a default, and which of the row's fields says it."""

    key: str
    field: str  # "key" or "value"
    message: str


def refusal(key: str, value: str, defaults: Mapping[str, str]) -> Refusal | None:
    """What the controller would say of this default on every route of the gateway, or None."""
    if key in annotation_values.NAMES_SERVICES:
        return Refusal(
            key,
            "key",
            _(
                "This names Services of one route: as a default, the controller would reject every route on "
                "this gateway whose paths lack them. Set it on those routes instead."
            ),
        )
    # A route's protocol decides whether its Ingress has TLS (only a minion cares): the default must do for both.
    plain = annotation_values.Context(annotations=defaults, tls=False)
    if error := annotation_values.check(key, value, plain):
        return Refusal(key, "value", error)
    if error := annotation_values.check(key, value, annotation_values.Context(annotations=defaults, tls=True)):
        return Refusal(
            key,
            "value",
            _("Routes with TLS (https, wss, grpc) on this gateway would be rejected: %(error)s") % {"error": error},
        )
    return None


def refusals(defaults: Mapping[str, str]) -> list[Refusal]:
    """Each default the controller would reject on the gateway's routes, in key order."""
    return [found for key in sorted(defaults) if (found := refusal(key, defaults[key], defaults))]


def warnings(defaults: Mapping[str, str]) -> list[str]:
    """Each nginx.org/* default the controller does not read, with the nearest key it does."""
    return [found for key in sorted(defaults) if (found := annotation_values.unknown_key_warning(key))]
