"""HTMX helpers every app uses: the typed request, "is this a fragment request", a live control."""

from __future__ import annotations

import json

from django.contrib.auth.models import User
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class AuthenticatedHttpRequest(HttpRequest):
    """What views behind login_required receive (django-htmx's middleware adds ``htmx``)."""

    user: User
    htmx: HtmxDetails


def wants_fragment(request: HttpRequest) -> bool:
    # Boosted requests navigate: they get the whole page, like a normal click.
    htmx: HtmxDetails | None = getattr(request, "htmx", None)
    return htmx is not None and bool(htmx) and not htmx.boosted


def live(url: str, target: str, **vals: str) -> dict[str, str]:
    """Attributes of a control whose change posts the enclosing form to ``url`` and swaps ``target`` with the
    answer (NetBox's HTMXSelect). The control carries the request: the part it re-renders is replaced, the
    control is not, so no change is lost while the new part settles."""
    attrs = {"hx-post": url, "hx-trigger": "change", "hx-target": target, "hx-swap": "outerHTML"}
    if vals:
        attrs["hx-vals"] = json.dumps(vals)
    return attrs
