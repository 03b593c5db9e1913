"""NGINX annotations as what an HTTPRoute or GRPCRoute understands: the one translation (pure).

A route's behaviours (timeouts, rewrites, headers, ...) are stored as the nginx.org/* annotations the NGINX
Ingress Controller reads. On a Gateway API gateway the same annotations are translated here into Gateway API's
standard fields: ``manifest.build_gateway_route`` writes what this returns into the rules, "Show as Gateway API"
and Move list each annotation's outcome from it, and the form refuses a behaviour field whose annotation has no
equivalent, with the reason given here. One function, so what is said to carry over is what is written.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _

if TYPE_CHECKING:  # manifest imports this module to build the rules
    from kubegems_routes.routes.manifest import Backend

HTTP_ROUTE = "HTTPRoute"  # as manifest.HTTP_ROUTE
WEBSOCKET_SERVICES = "nginx.org/websocket-services"
GRPC_SERVICES = "nginx.org/grpc-services"
CERTIFICATE_KEYS = ("cert-manager.io/cluster-issuer", "cert-manager.io/issuer")
REDIRECT_KEYS = ("nginx.org/ssl-redirect", "nginx.org/redirect-to-https", "ingress.kubernetes.io/ssl-redirect")


FILTER_ORDER = ("RequestHeaderModifier", "ResponseHeaderModifier", "URLRewrite")


class Outcome(enum.StrEnum):
    BECOMES = "becomes"  # a field of the new object
    NOT_NEEDED = "not-needed"  # the new object does it without (the protocol, the listener's certificate)
    DROPPED = "dropped"  # no equivalent: the behaviour is lost


@dataclass(frozen=True)
class Carried:
    key: str
    value: str
    outcome: Outcome
    what: str  # what it becomes, or why it is dropped


@dataclass(frozen=True)
class Translation:
    """Per backend (one rule each), the fields to add to its rule; and each annotation's outcome."""

    rules: list[dict[str, Any]]
    carried: list[Carried] = field(default_factory=list)

    def outcome(self, key: str) -> Carried | None:
        return next((c for c in self.carried if c.key == key), None)


_DURATION = re.compile(r"^([0-9]{1,5})(ms|s|m|h)?$")
# Gateway API's header names (HTTPHeaderName): RFC 7230 tokens.
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$")


def duration(value: str) -> str | None:
    """An NGINX time ("60", "60s", "2m") as a Gateway API Duration, or None."""
    found = _DURATION.fullmatch(value.strip())
    if not found:
        return None
    return f"{found.group(1)}{found.group(2) or 's'}"


def rewrites(value: str) -> dict[str, str] | None:
    """nginx.org/rewrites "serviceName=web rewrite=/;serviceName=api rewrite=/v1" as service -> path."""
    found: dict[str, str] = {}
    for item in value.split(";"):
        if not item.strip():
            continue
        fields = dict(part.split("=", 1) for part in item.split() if "=" in part)
        if "serviceName" not in fields or "rewrite" not in fields:
            return None
        found[fields["serviceName"]] = fields["rewrite"]
    return found or None


def headers(value: str, parts: int = 2) -> list[dict[str, str]] | None:
    """ "X-A: 1,X-B: two" (nginx.org/proxy-set-headers; nginx.org/add-header with ``parts`` 3, which may end in
    ":always") as Gateway API header values. A header without a value has no equivalent (None)."""
    found = []
    for item in value.split(","):
        pieces = item.split(":", parts - 1)
        if len(pieces) < 2 or not pieces[0].strip() or not pieces[1].strip():
            return None
        name = pieces[0].strip()
        if not _HEADER_NAME.fullmatch(name):
            return None
        found.append({"name": name, "value": pieces[1].strip()})
    return found or None


def translate(annotations: Mapping[str, str], kind: str, backends: Sequence[Backend]) -> Translation:
    """``annotations`` (the route's, later ones winning) on a ``kind`` (HTTPRoute or GRPCRoute) whose rules are
    one per backend, in order: what each rule gains, and the outcome of each annotation."""
    rules: list[dict[str, Any]] = [{} for _backend in backends]
    carried = [_carry(key, value, kind, rules, backends) for key, value in annotations.items()]
    for rule in rules:
        # In one order whatever the annotations' (PostgreSQL's jsonb keeps keys in an order of its own), so the
        # same route always builds the same object.
        rule.get("filters", []).sort(key=lambda f: FILTER_ORDER.index(f["type"]))
    return Translation(rules, carried)


def _filter(rule: dict[str, Any], kind: str, body: dict[str, Any]) -> None:
    rule.setdefault("filters", []).append({"type": kind, **body})


def _carry(key: str, value: str, kind: str, rules: list[dict[str, Any]], backends: Sequence[Backend]) -> Carried:
    http = kind == HTTP_ROUTE
    if key in (WEBSOCKET_SERVICES, GRPC_SERVICES):
        what = _("an HTTPRoute passes WebSocket upgrades") if http else _("a GRPCRoute speaks gRPC (HTTP/2)")
        return Carried(key, value, Outcome.NOT_NEEDED, what)
    if key in CERTIFICATE_KEYS:
        return Carried(key, value, Outcome.NOT_NEEDED, _("the Gateway's HTTPS listener holds the certificate"))
    if key == "nginx.org/proxy-read-timeout":
        if not http:
            return Carried(key, value, Outcome.DROPPED, _("a GRPCRoute has no timeouts"))
        found = duration(value)
        if found is None:
            return Carried(
                key, value, Outcome.DROPPED, _("only a single time such as 90s, 2m or 500ms is a Gateway API timeout")
            )
        for rule in rules:
            rule["timeouts"] = {"backendRequest": found}
        return Carried(key, value, Outcome.BECOMES, f"rules[].timeouts.backendRequest: {found}")
    if key in ("nginx.org/proxy-connect-timeout", "nginx.org/proxy-send-timeout"):
        return Carried(
            key, value, Outcome.DROPPED, _("Gateway API has a request and a backend timeout, no connect or send one")
        )
    if key == "nginx.org/rewrites":
        return _carry_rewrites(key, value, http, rules, backends)
    if key == "nginx.org/proxy-set-headers" and (found_headers := headers(value)) is not None:
        for rule in rules:
            _filter(rule, "RequestHeaderModifier", {"requestHeaderModifier": {"set": found_headers}})
        return Carried(key, value, Outcome.BECOMES, _("a RequestHeaderModifier filter (set) on each rule"))
    if key == "nginx.org/add-header":
        found_headers = headers(value, parts=3)
        if found_headers is None:
            return Carried(key, value, Outcome.DROPPED, _("each header needs a name and a value on Gateway API"))
        for rule in rules:
            _filter(rule, "ResponseHeaderModifier", {"responseHeaderModifier": {"add": found_headers}})
        return Carried(key, value, Outcome.BECOMES, _("a ResponseHeaderModifier filter (add) on each rule"))
    if key in REDIRECT_KEYS:
        if value.strip().lower() in ("false", "f", "0"):
            return Carried(key, value, Outcome.NOT_NEEDED, _("a route on the HTTPS listener serves no plain HTTP"))
        return Carried(
            key,
            value,
            Outcome.DROPPED,
            _("a redirect to HTTPS is an HTTPRoute of its own on the HTTP listener (a RequestRedirect filter)"),
        )
    if key == "nginx.org/ssl-services":
        why = _("TLS to the backend needs a BackendTLSPolicy, which the console does not write")
        return Carried(key, value, Outcome.DROPPED, why)
    if key.endswith("-snippets") or key.endswith("-snippet"):
        return Carried(key, value, Outcome.DROPPED, _("NGINX configuration has no Gateway API equivalent"))
    return Carried(key, value, Outcome.DROPPED, _("no Gateway API equivalent the console knows of"))


def _carry_rewrites(
    key: str, value: str, http: bool, rules: list[dict[str, Any]], backends: Sequence[Backend]
) -> Carried:
    if not http:
        return Carried(key, value, Outcome.DROPPED, _("a GRPCRoute has no path rewrite"))
    found = rewrites(value)
    if found is None:
        return Carried(key, value, Outcome.DROPPED, _("not a list of serviceName=<service> rewrite=<path>"))
    for rule, backend in zip(rules, backends, strict=True):
        path = found.get(backend.service)
        if path is None:
            continue
        # NGINX replaces the location's path: a prefix for a prefix match, the whole path for an exact one
        # (Gateway API allows ReplacePrefixMatch only with a PathPrefix match).
        rewrite = (
            {"type": "ReplaceFullPath", "replaceFullPath": path}
            if backend.path_type == "Exact"
            else {"type": "ReplacePrefixMatch", "replacePrefixMatch": path}
        )
        _filter(rule, "URLRewrite", {"urlRewrite": {"path": rewrite}})
    return Carried(key, value, Outcome.BECOMES, _("a URLRewrite filter on the rules of the Services it names"))
