"""HTMX helpers every app uses: the typed request, "is this a fragment request", a live select."""

from __future__ import annotations

import json
from typing import Any

from django import forms
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


class HtmxSelect(forms.Select):
    """A select whose change posts the enclosing form to ``url`` and swaps ``target`` (NetBox's HTMXSelect)."""

    def __init__(self, url: str, target: str, *, vals: dict[str, Any] | None = None, **kwargs: Any) -> None:
        attrs = {"hx-post": url, "hx-trigger": "change", "hx-target": target, "hx-swap": "outerHTML"}
        if vals:
            attrs["hx-vals"] = json.dumps(vals)
        super().__init__(attrs={**attrs, **kwargs.pop("attrs", {})}, **kwargs)
