"""Requests the console cannot read answer 400 before any view or CSRF check runs.

Django raises BadRequest for a form body in another charset than UTF-8 (or a
broken multipart body) where the CSRF middleware first reads request.POST, and
again when its 400 and 500 handlers run the same CSRF check: the client sees a
500. Reading the body once here, in front of the CSRF middleware, turns every
such failure into one plain 400. NUL characters in the path or query string are
refused too: PostgreSQL cannot compare text with them, and no name or search
the console serves contains one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.core.exceptions import BadRequest, SuspiciousOperation
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _

logger = logging.getLogger("kubegems_routes.requests")

UNREADABLE = (BadRequest, SuspiciousOperation, MultiPartParserError, UnicodeDecodeError, LookupError, ValueError)


class RejectUnreadableRequestMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            if "\x00" in request.path or any("\x00" in value for value in request.GET.values()):
                return _bad_request(request, "NUL character in the path or query string")
            if request.method == "POST":
                request.POST  # noqa: B018 - parse now, where a failure can still become a 400
        except UNREADABLE as exc:
            return _bad_request(request, f"{exc.__class__.__name__}: {exc}")
        return self.get_response(request)


def _bad_request(request: HttpRequest, reason: str) -> HttpResponse:
    logger.warning("bad request %s %s: %s", request.method, request.path[:200], reason[:200])
    return HttpResponseBadRequest(_("Bad request: the console cannot read what was sent."), content_type="text/plain")
