"""The route form's behaviour fields: each a view over the nginx.org/* annotation it writes (pure).

A behaviour set through its field and the same annotation typed by hand are one thing: the route stores the
annotation; the form shows it in its field (``split``), and a row typed with its key counts as the field when
the field is empty. The path rows' rewrites are one annotation, ``nginx.org/rewrites``, which NGINX reads per
Service (``rewrites_by_service``, ``rewrites_value``). On a Gateway API gateway the same annotations are
translated by ``gateway_behaviour``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise as Promise

from kubegems_routes.routes.gateway_behaviour import headers, rewrites

REWRITES = "nginx.org/rewrites"
SSL_REDIRECT = "nginx.org/ssl-redirect"
RATE = "nginx.org/limit-req-rate"


@dataclass(frozen=True)
class Behaviour:
    name: str  # the form field
    key: str  # the annotation it writes
    label: Promise
    help: Promise
    default: str  # what the controller does without it (ConfigMap defaults, internal/configs/config_params.go)
    example: str = ""


BEHAVIOURS: tuple[Behaviour, ...] = (
    Behaviour(
        "https_redirect",
        SSL_REDIRECT,
        _("HTTP to HTTPS"),
        _("TLS routes only: whether plain HTTP requests are redirected to HTTPS (301) or served as well."),
        "true",
    ),
    Behaviour(
        "connect_timeout",
        "nginx.org/proxy-connect-timeout",
        _("Connect timeout"),
        _("How long to wait for the backend to accept a connection, such as 5s."),
        "60s",
    ),
    Behaviour(
        "read_timeout",
        "nginx.org/proxy-read-timeout",
        _("Read timeout"),
        _("How long the backend may be silent while answering, such as 120s; past it the client gets 504."),
        "60s",
    ),
    Behaviour(
        "send_timeout",
        "nginx.org/proxy-send-timeout",
        _("Send timeout"),
        _("How long the backend may take to read the request, such as 120s."),
        "60s",
    ),
    Behaviour(
        "max_body_size",
        "nginx.org/client-max-body-size",
        _("Largest request body"),
        _("Such as 10m or 512k (0: no limit); a larger upload gets 413."),
        "1m",
    ),
    Behaviour(
        "rate_limit",
        RATE,
        _("Rate limit per client address"),
        _("Requests each client address may send, such as 10r/s or 600r/m; past it requests are refused."),
        "",
        "10r/s",
    ),
    Behaviour(
        "rate_burst",
        "nginx.org/limit-req-burst",
        _("Burst"),
        _("Requests over the rate that are let through at once before refusing (with a rate limit)."),
        "0",
    ),
    Behaviour(
        "rate_reject_code",
        "nginx.org/limit-req-reject-code",
        _("Refused with status"),
        _("The status a refused request gets, from 400 to 599 (with a rate limit)."),
        "429",
    ),
    Behaviour(
        "response_headers",
        "nginx.org/add-header",
        _("Extra response headers"),
        _("Name:value, separated by commas, such as X-Frame-Options:DENY,X-Team:shop."),
        "",
        "X-Frame-Options:DENY",
    ),
)
BY_KEY = {b.key: b for b in BEHAVIOURS}
BY_NAME = {b.name: b for b in BEHAVIOURS}
RATE_COMPANIONS = ("rate_burst", "rate_reject_code")


# The redirect is a choice: another spelling the controller reads ("True", "1") stays a row of its own.
CHOICES = {"https_redirect": ("true", "false")}


def field_takes(name: str, value: str) -> bool:
    """Whether the field ``name`` shows ``value``; else it stays a row of its own. The response headers field
    asks for name:value: the controller also takes a name alone, for which NGINX adds nothing."""
    if name in CHOICES:
        return value in CHOICES[name]
    if name == "response_headers":
        return headers(value, 3) is not None
    return True


def split(annotations: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """A route's annotations as its behaviour fields (name -> value) and the rest (key -> value)."""
    fields: dict[str, str] = {}
    rest: dict[str, str] = {}
    for key, value in annotations.items():
        found = BY_KEY.get(key)
        if found is not None and field_takes(found.name, value):
            fields[found.name] = value
        else:
            rest[key] = value
    return fields, rest


def rewrites_by_service(value: str, services: Iterable[str]) -> dict[str, str] | None:
    """nginx.org/rewrites as each path row's rewrite (service -> path), when every Service it names is one of
    ``services``; None when the rows cannot show it (it stays a row of its own)."""
    found = rewrites(value)
    if found is None or not set(found) <= set(services):
        return None
    return found


def rewrites_value(rows: Iterable[tuple[str, str]]) -> str:
    """The (service, rewrite) of the path rows as nginx.org/rewrites, each Service once, in order."""
    found: dict[str, str] = {}
    for service, path in rows:
        if service and path and service not in found:
            found[service] = path
    return ";".join(f"serviceName={s} rewrite={p}" for s, p in found.items())
