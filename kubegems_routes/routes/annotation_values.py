"""The values of ``nginx.org/*`` annotations, checked as the NGINX Ingress Controller checks them (pure).

The controller (github.com/nginx/kubernetes-ingress, the version built into the data plane) rejects a whole
Ingress whose annotation fails ``validateIngressAnnotations`` (internal/k8s/validation.go), and ignores, with
an error in its log only, a rate-limit annotation ``parseRateLimitAnnotations`` (internal/configs/annotations.go)
cannot parse. Each rule below mirrors one of those functions (named in its comment), for the open-source
controller (no NGINX Plus, no App Protect), so the form refuses what the controller would refuse.

``check(key, value, context)`` answers an error message or None; ``suggestion(key)`` the nearest known key of an
unknown ``nginx.org/*`` key. Go's regular expressions and ``strconv`` differ from Python's in small ways
(ASCII ``\\d`` and ``\\s``, ``$`` at the very end, signs): the helpers here follow Go's.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

PREFIX = "nginx.org/"


@dataclass(frozen=True)
class Context:
    """What a check may look at besides the value: the route's Services, and all of the object's annotations."""

    services: frozenset[str] = frozenset()
    annotations: Mapping[str, str] = field(default_factory=dict)
    tls: bool = False


Check = Callable[[str, Context], str | None]

# -- Go's strconv and regexp, as the controller uses them ------------------------------------------------

GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
RE_SPACE = r"[\t\n\f\r ]"  # Go's \s


def go_trim(value: str) -> str:
    """strings.TrimSpace."""
    return value.strip(GO_SPACE)


def _full(pattern: str) -> Callable[[str], bool]:
    compiled = re.compile(pattern, re.ASCII)
    return lambda value: compiled.fullmatch(value) is not None


def go_parse_bool(value: str) -> bool | None:
    """strconv.ParseBool."""
    if value in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if value in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    return None


def go_parse_int(value: str, bits: int = 64) -> int | None:
    """strconv.ParseInt(value, 10, bits) (and strconv.Atoi, bits 64): an optional sign, ASCII digits."""
    if not re.fullmatch(r"[+-]?[0-9]+", value, re.ASCII):
        return None
    number = int(value)
    return number if -(2 ** (bits - 1)) <= number < 2 ** (bits - 1) else None


def go_parse_uint(value: str) -> int | None:
    """strconv.ParseUint(value, 10, 64): ASCII digits, no sign."""
    if not re.fullmatch(r"[0-9]+", value, re.ASCII):
        return None
    number = int(value)
    return number if number < 2**64 else None


# -- the controller's parsing helpers (internal/configs/parsing_helpers.go) -------------------------------

_time = _full(rf"(\d+y)??{RE_SPACE}*(\d+M)??{RE_SPACE}*(\d+w)??{RE_SPACE}*(\d+d)??{RE_SPACE}*(\d+h)??"
              rf"{RE_SPACE}*(\d+m)??{RE_SPACE}*(\d+s?)??{RE_SPACE}*(\d+ms)??")  # fmt: skip
_offset = _full(r"\d+[kKmMgG]?")
_size = _full(r"\d+[kKmM]?")
_rate = re.compile(r"(\d+)(r/s|r/m)", re.ASCII)
_proxy_buffers = re.compile(r"(\d+) (\d+)([a-zA-Z]?)", re.ASCII)
_header_name = _full(r"[-A-Za-z0-9]+")  # k8s.io/apimachinery validation.IsHTTPHeaderName
_escaped = _full(r'([^"\\]|\\.)*')  # ValidateEscapedString, with Go's "." (any character but a newline)
_annotation_value = _full(r'([^"$\\]|\\[^$])*')  # validAnnotationValueRegex
_limit_req_key = _full(r"(\$\{[a-zA-Z_][a-zA-Z0-9_]*\}|\$[a-zA-Z_][a-zA-Z0-9_]*)+")
_rewrite_path = _full(r"/[^\t\n\f\r {};$]*")  # VerifyPath
_dns_subdomain = _full(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")

LB_METHODS = ("round_robin", "least_conn", "ip_hash", "random", "random two", "random two least_conn")
NEXT_UPSTREAM = (
    "error",
    "timeout",
    "invalid_header",
    "http_500",
    "http_502",
    "http_503",
    "http_504",
    "http_403",
    "http_404",
    "http_429",
    "non_idempotent",
    "off",
)
LOG_LEVELS = ("info", "notice", "warn", "error")
REDIRECT_CODES = ("301", "302", "307", "308")


def parse_time(value: str) -> bool:
    """ParseTime: nginx's time units (1y 2M 3w 4d 5h 6m 7s 8ms), each at most once, in that order."""
    return go_trim(value) != "" and _time(value)


def parse_lb_method(value: str) -> bool:
    """ParseLBMethod (the open-source set) and validateHashLBMethod."""
    method = go_trim(value)
    if method.startswith("hash"):
        words = method.split(" ")
        return words[0] == "hash" and (len(words) == 2 or (len(words) == 3 and words[2] == "consistent"))
    return method in LB_METHODS


def parse_request_rate(value: str) -> bool:
    """ParseRequestRate: a positive number of requests per second or minute."""
    match = _rate.fullmatch(go_trim(value))
    return match is not None and go_parse_int(match.group(1)) is not None and int(match.group(1)) > 0


def parse_proxy_buffers(value: str) -> bool:
    """ParseProxyBuffersSpec: "<number> <size>", the size's unit k or m in either case."""
    match = _proxy_buffers.fullmatch(go_trim(value))
    return match is not None and match.group(3).lower() in ("", "k", "m")


def parse_port_list(value: str) -> bool:
    """ParsePortList: comma-separated positive 32-bit integers (no spaces)."""
    return all((port := go_parse_int(part, 32)) is not None and port > 0 for part in value.split(","))


def parse_rewrites(value: str) -> tuple[str | None, set[str]]:
    """ParseRewriteList: ("serviceName=<svc> rewrite=<path>" separated by ";"): an error, and the services named."""
    services: set[str] = set()
    for part in value.split(";"):
        pieces = go_trim(part).split(" ", 1)
        if len(pieces) != 2:
            return _("%(part)s is not a rewrite: write serviceName=<service> rewrite=<path>.") % {"part": part}, set()
        name = pieces[0].split("=")
        if len(name) != 2 or name[0] != "serviceName":
            return _("%(part)s is not serviceName=<service>.") % {"part": pieces[0]}, set()
        rewrite = pieces[1].split("=")
        if len(rewrite) != 2 or rewrite[0] != "rewrite":
            return _("%(part)s is not rewrite=<path>.") % {"part": pieces[1]}, set()
        if not _rewrite_path(rewrite[1]):
            return _("The rewrite path %(path)s must start with / and contain no whitespace, {, }, ; or $.") % {
                "path": rewrite[1]
            }, set()
        services.add(name[1])
    return None, services


# -- the checks, one per kind of value --------------------------------------------------------------------


def _required(inner: Check) -> Check:
    """validateRequiredAnnotation first: an empty value is refused."""

    def check(value: str, context: Context) -> str | None:
        return _("The controller needs a value here.") if value == "" else inner(value, context)

    return check


def _time_check(value: str, _context: Context) -> str | None:
    # validateTimeAnnotation -> ParseTime
    if parse_time(value):
        return None
    return _("Must be a time such as 60s, 1m, 500ms or 1h 30m (units ms, s, m, h, d, w, M, y).")


def _bool_check(value: str, _context: Context) -> str | None:
    # validateBoolAnnotation -> ParseBool (Go's strconv.ParseBool)
    if go_parse_bool(value) is not None:
        return None
    return _("Must be true or false.")


def _offset_check(value: str, _context: Context) -> str | None:
    # validateOffsetAnnotation -> ParseOffset
    return None if _offset(go_trim(value)) else _("Must be a size such as 1024, 8k, 10m or 1g (0: no limit).")


def _size_check(value: str, _context: Context) -> str | None:
    # validateSizeAnnotation -> common_validation.ValidateSize -> ParseSize (an empty value passes)
    if value == "" or _size(go_trim(value)):
        return None
    return _("Must be a size such as 1024, 8k or 1m.")


def _int_check(value: str, _context: Context) -> str | None:
    # validateIntAnnotation -> ParseInt (strconv.Atoi); also GetMapKeyAsInt in parseRateLimitAnnotations
    return None if go_parse_int(value) is not None else _("Must be a whole number.")


def _int64_check(value: str, _context: Context) -> str | None:
    # validateInt64Annotation -> ParseInt64
    return None if go_parse_int(value) is not None else _("Must be a whole number.")


def _uint_check(value: str, _context: Context) -> str | None:
    # validateUint64Annotation -> ParseUint64
    return None if go_parse_uint(value) is not None else _("Must be a whole number, 0 or more.")


def _lb_method_check(value: str, _context: Context) -> str | None:
    # validateLBMethodAnnotation -> ParseLBMethod
    if parse_lb_method(value):
        return None
    return _("Must be one of %(methods)s, or hash <key> [consistent].") % {"methods": ", ".join(LB_METHODS)}


def _one_of(choices: tuple[str, ...], *, trim: bool = False, lower: bool = False) -> Check:
    def check(value: str, _context: Context) -> str | None:
        value = go_trim(value) if trim else value
        value = value.lower() if lower else value
        return None if value in choices else _("Must be one of %(choices)s.") % {"choices": ", ".join(choices)}

    return check


def _service_list_check(value: str, context: Context) -> str | None:
    # validateServiceListAnnotation -> ParseServiceList: comma-separated, not trimmed, each a Service of the route
    unknown = sorted(name for name in set(value.split(",")) if name not in context.services)
    if not unknown:
        return None
    return _("Must name Services of this route, separated by commas without spaces; not in its paths: %(names)s.") % {
        "names": ", ".join(repr(n) for n in unknown)
    }


def _rewrites_check(value: str, context: Context) -> str | None:
    # validateRewriteListAnnotation -> ParseRewriteList, then each service must be one of the route's
    error, services = parse_rewrites(value)
    if error:
        return error
    unknown = sorted(services - context.services)
    if unknown:
        return _("Must name Services of this route; not in its paths: %(names)s.") % {
            "names": ", ".join(repr(n) for n in unknown)
        }
    return None


def _header_names_check(value: str, _context: Context) -> str | None:
    # validateHTTPHeadersAnnotation: comma-separated header names (IsHTTPHeaderName)
    bad = [go_trim(h) for h in value.split(",") if not _header_name(go_trim(h))]
    if not bad:
        return None
    return _("Must be header names (letters, digits and -) separated by commas; not: %(names)s.") % {
        "names": ", ".join(repr(n) for n in bad)
    }


def _header_value_error(value: str) -> str | None:
    # version1.ValidateAddHeaderValue
    if "\n" in value or "\r" in value or "$" in value or not _escaped(value):
        return _('A header value must not contain $ or a line break, and must escape " with \\.')
    return None


def _header_entries(parts: int) -> Check:
    """validateProxySetHeaderAnnotation (Name[:Value], parts 2) and validateAddHeaderAnnotation
    (Name:Value[:always], parts 3)."""

    def check(value: str, _context: Context) -> str | None:
        for entry in value.split(","):
            entry = go_trim(entry)
            pieces = entry.split(":", parts - 1)
            name = go_trim(pieces[0])
            if not name:
                return _("Each comma-separated entry needs a header name.")
            if not _header_name(name):
                return _("%(name)s is not a header name (letters, digits and -).") % {"name": name}
            if len(pieces) >= 2 and (error := _header_value_error(go_trim(pieces[1]))):
                return error
            if len(pieces) == 3 and go_trim(pieces[2]) and go_trim(pieces[2]).lower() != "always":
                return _("After the value, only always may follow (Name:Value:always).")
        return None

    return check


def _next_upstream_check(value: str, _context: Context) -> str | None:
    # validateProxyNextUpstreamAnnotation: space-separated, each once, from the open-source set
    seen: set[str] = set()
    for word in value.split():
        if word in seen:
            return _("%(word)s is given twice.") % {"word": word}
        if word not in NEXT_UPSTREAM:
            return _("Must be a space-separated list of %(choices)s.") % {"choices": ", ".join(NEXT_UPSTREAM)}
        seen.add(word)
    return None


def _related(name: str, inner: Check) -> Check:
    """validateRelatedAnnotation(name, validateIsBool): the companion must be set, as a boolean."""

    def check(value: str, context: Context) -> str | None:
        if go_parse_bool(context.annotations.get(name, "")) is None:
            return _("Needs %(key)s set to true or false as well.") % {"key": name}
        return inner(value, context)

    return check


def _port_list_check(value: str, _context: Context) -> str | None:
    # validatePortListAnnotation -> ParsePortList
    return None if parse_port_list(value) else _("Must be port numbers separated by commas, such as 8080,8081.")


def _rate_check(value: str, _context: Context) -> str | None:
    # parseRateLimitAnnotations -> ParseRequestRate
    return None if parse_request_rate(value) else _("Must be a rate such as 10r/s or 600r/m, above 0.")


def _limit_req_key_check(value: str, _context: Context) -> str | None:
    # validateLimitReqKeyAnnotation
    if _limit_req_key(value):
        return None
    return _("Must be NGINX variables only, such as $binary_remote_addr or ${request_uri}.")


def _proxy_buffers_check(value: str, _context: Context) -> str | None:
    # validateProxyBuffersAnnotation -> ParseProxyBuffersSpec
    return None if parse_proxy_buffers(value) else _("Must be a number and a size, such as 8 4k.")


def _server_tokens_check(value: str, context: Context) -> str | None:
    # validateServerTokensAnnotation (open source: a boolean)
    return _bool_check(value, context) or (None if _annotation_value(value) else _("Must be true or false."))


def _secret_name_check(value: str, _context: Context) -> str | None:
    # validateSecretNameAnnotation -> IsDNS1123Subdomain
    if len(value) <= 253 and _dns_subdomain(value):
        return None
    return _("Must be the name of a Secret (lower case letters, digits, - and .).")


def _realm_check(value: str, context: Context) -> str | None:
    # validateRelatedAnnotation(basic-auth-secret, validateNoop), then validateRealmAnnotation
    if "nginx.org/basic-auth-secret" not in context.annotations:
        return _("Needs %(key)s as well.") % {"key": "nginx.org/basic-auth-secret"}
    return None if _annotation_value(value) else _('Must not contain $, and must escape " with \\.')


def _mergeable_check(value: str, context: Context) -> str | None:
    # validateMergeableIngressTypeAnnotation, then validateMasterSpec / validateMinionSpec: a route has paths,
    # so it is never a master; a minion has no TLS of its own.
    if value not in ("master", "minion"):
        return _("Must be master or minion.")
    if value == "master":
        return _("A master Ingress has no paths, and a route always has some.")
    if context.tls:
        return _("A minion Ingress has no TLS of its own: use a protocol without TLS.")
    return None


def _redirect_code_check(value: str, _context: Context) -> str | None:
    # validateHTTPRedirectCodeAnnotation -> ParseHTTPRedirectCode (strconv.Atoi, then 301/302/307/308)
    number = go_parse_int(value)
    return None if number is not None and str(number) in REDIRECT_CODES else _("Must be 301, 302, 307 or 308.")


def _path_regex_check(value: str, _context: Context) -> str | None:
    # validatePathRegex
    return _one_of(("case_sensitive", "case_insensitive", "exact"))(value, _context)


_common_path = _full(r"/[^\t\n\f\r {};\\]*")  # common_validation pathFmt
_rfc1738_path = _full(r"/[A-Za-z0-9\-_.~!*'():@&=+,/?%]*")  # validateRFC1738Path
_proxy_redirect = _full(r"[^;{}`\n\r\t\f #]+")  # proxyRedirectValueRegex (Go's \s: \t \n \f \r space)
REDIRECT_KEYWORDS = ("off", "default")


def common_path_error(path: str) -> str | None:
    """common_validation.ValidatePath: a path from /, no // start, no .. segment, no whitespace, {, }, ; or \\."""
    if path == "":
        return _("The controller needs a value here.")
    if path.startswith("//") or ".." in re.split(r"[/\\]", path) or not _common_path(path):
        return _("Must be a path from / without //, .. segments, whitespace, {, }, ; or \\.")
    return None


def _rewrite_target_check(value: str, _context: Context) -> str | None:
    # validateRewriteTargetAnnotation
    if value.startswith(("http://", "https://")):
        return _("Must be a path, not a URL.")
    if error := common_path_error(value):
        return error
    if any(c in value for c in ";{}[]|<>,^`~") or any(ord(c) < 32 or ord(c) == 127 for c in value):
        return _("Must not contain any of ; { } [ ] | < > , ^ ` ~ or control characters.")
    return None


def _app_root_check(value: str, _context: Context) -> str | None:
    # validateAppRootAnnotation
    if value == "/":
        return _("Must be a path other than /.")
    if error := common_path_error(value):
        return error
    if not _rfc1738_path(value) or "~" in value:
        return _('Must not contain whitespace or any of { } ; $ | ^ < > \\ " # [ ] ~.')
    if value.endswith("/"):
        return _("Must not end with /.")
    return None


def _go_regex_error(pattern: str) -> bool:
    """An approximation of Go's regexp.Compile (RE2): what Python cannot compile, and what RE2 lacks
    (lookaround, backreferences)."""
    try:
        re.compile(pattern)
    except re.error:
        return True
    return bool(re.search(r"\(\?(=|!|<=|<!)|\\[1-9]", pattern))


def _proxy_redirect_from_check(value: str, context: Context) -> str | None:
    # validateProxyRedirectFromAnnotation, then validateProxyRedirectPair
    to = "nginx.org/proxy-redirect-to"
    if value in REDIRECT_KEYWORDS:
        return None
    if not _proxy_redirect(value):
        return _("Must not contain ;, {, }, `, #, whitespace or a line break.")
    pattern = value[2:] if value.startswith("~*") else value[1:] if value.startswith("~") else value
    if pattern != value and _go_regex_error(pattern):
        return _("Not a regular expression the controller can read.")
    if to not in context.annotations:
        return _("Needs %(key)s as well.") % {"key": to}
    return None


def _proxy_redirect_to_check(value: str, context: Context) -> str | None:
    # validateProxyRedirectToAnnotation, then validateProxyRedirectPair
    source = "nginx.org/proxy-redirect-from"
    if not _proxy_redirect(value):
        return _("Must not contain ;, {, }, `, #, whitespace or a line break.")
    if source not in context.annotations:
        return _("Needs %(key)s as well.") % {"key": source}
    if context.annotations[source] in REDIRECT_KEYWORDS:
        return _("Not with %(key)s set to off or default.") % {"key": source}
    return None


def _custom_http_errors_check(value: str, _context: Context) -> str | None:
    # validateCustomHTTPErrorsAnnotation -> ParseCustomHTTPErrors
    message = _("Must be status codes from 300 to 599 (not 499), 4xx or 5xx, separated by commas.")
    codes: set[int] = set()
    for raw in value.split(","):
        token = go_trim(raw)
        if token.lower() in ("4xx", "5xx"):
            start = 400 if token.lower() == "4xx" else 500
            codes |= {c for c in range(start, start + 100) if c != 499}
        elif token:
            if not re.fullmatch(r"[0-9]+", token, re.ASCII) or not 300 <= int(token) <= 599 or int(token) == 499:
                return message
            codes.add(int(token))
    return None if 0 < len(codes) <= 300 else message


def _policies_check(value: str, _context: Context) -> str | None:
    # validateCommaSeparatedList, then validatePolicyNames: [namespace/]name, each a DNS subdomain
    for item in value.split(","):
        item = go_trim(item)
        names = item.split("/", 1)
        if not _annotation_value(item) or not all(len(n) <= 253 and _dns_subdomain(n) for n in names):
            return _("Must be Policy names ([namespace/]name) separated by commas.")
    return None


def _sticky_cookie_check(value: str, _context: Context) -> str | None:
    # validateStickyServiceListAnnotation -> ParseStickyServiceList
    for part in value.split(";"):
        pieces = part.split(" ", 1)
        if len(pieces) != 2 or len(pieces[0].split("=")) != 2 or not _annotation_value(pieces[1]):
            return _("Must be serviceName=<service> <cookie> [parameters], separated by ;.")
    return None


# key -> check. Keys the controller reads but whose values it takes as they are (snippets, ciphers) are in
# KNOWN only.
CHECKS: dict[str, Check] = {
    # validateIngressAnnotations: a value that fails is a Rejected Ingress
    "nginx.org/mergeable-ingress-type": _required(_mergeable_check),
    "nginx.org/lb-method": _required(_lb_method_check),
    "nginx.org/server-tokens": _server_tokens_check,
    "nginx.org/add-header-inherit": _required(_one_of(("on", "off", "merge"), trim=True, lower=True)),
    "nginx.org/proxy-connect-timeout": _required(_time_check),
    "nginx.org/proxy-read-timeout": _required(_time_check),
    "nginx.org/proxy-send-timeout": _required(_time_check),
    "nginx.org/proxy-hide-headers": _header_names_check,
    "nginx.org/proxy-pass-headers": _header_names_check,
    "nginx.org/proxy-set-headers": _required(_header_entries(2)),
    "nginx.org/add-header": _required(_header_entries(3)),
    "nginx.org/client-max-body-size": _required(_offset_check),
    "nginx.org/client-body-buffer-size": _required(_size_check),
    "nginx.org/redirect-to-https": _required(_bool_check),
    "nginx.org/ssl-redirect": _required(_bool_check),
    "nginx.org/proxy-buffering": _required(_bool_check),
    "nginx.org/hsts": _required(_bool_check),
    "nginx.org/hsts-max-age": _related("nginx.org/hsts", _required(_int64_check)),
    "nginx.org/hsts-include-subdomains": _related("nginx.org/hsts", _required(_bool_check)),
    "nginx.org/hsts-behind-proxy": _related("nginx.org/hsts", _required(_bool_check)),
    "nginx.org/proxy-buffers": _required(_proxy_buffers_check),
    "nginx.org/proxy-buffer-size": _required(_size_check),
    "nginx.org/proxy-busy-buffers-size": _size_check,
    "nginx.org/proxy-max-temp-file-size": _required(_size_check),
    "nginx.org/proxy-next-upstream": _required(_next_upstream_check),
    "nginx.org/proxy-next-upstream-timeout": _required(_time_check),
    "nginx.org/proxy-next-upstream-tries": _required(_uint_check),
    "nginx.org/upstream-zone-size": _required(_size_check),
    "nginx.org/basic-auth-secret": _required(_secret_name_check),
    "nginx.org/basic-auth-realm": _realm_check,
    "nginx.org/listen-ports": _required(_port_list_check),
    "nginx.org/listen-ports-ssl": _required(_port_list_check),
    "nginx.org/keepalive": _required(_int_check),
    "nginx.org/max-fails": _required(_uint_check),
    "nginx.org/max-conns": _required(_uint_check),
    "nginx.org/fail-timeout": _required(_time_check),
    "nginx.org/limit-req-key": _required(_limit_req_key_check),
    "nginx.org/websocket-services": _required(_service_list_check),
    "nginx.org/ssl-services": _required(_service_list_check),
    "nginx.org/grpc-services": _required(_service_list_check),
    "nginx.org/rewrites": _required(_rewrites_check),
    "nginx.org/path-regex": _path_regex_check,
    "nginx.org/use-cluster-ip": _bool_check,
    "nginx.org/http-redirect-code": _required(_redirect_code_check),
    "nginx.org/rewrite-target": _required(_rewrite_target_check),
    "nginx.org/app-root": _app_root_check,
    "nginx.org/proxy-redirect-from": _required(_proxy_redirect_from_check),
    "nginx.org/proxy-redirect-to": _required(_proxy_redirect_to_check),
    "nginx.org/custom-http-errors": _required(_custom_http_errors_check),
    "nginx.org/policies": _required(_policies_check),
    "nginx.org/sticky-cookie-services": _required(_sticky_cookie_check),
    # parseRateLimitAnnotations: a value that fails is ignored, with an error in the controller's log only
    "nginx.org/limit-req-rate": _rate_check,
    "nginx.org/limit-req-zone-size": _size_check,
    "nginx.org/limit-req-delay": _int_check,
    "nginx.org/limit-req-no-delay": _bool_check,
    "nginx.org/limit-req-burst": _int_check,
    "nginx.org/limit-req-dry-run": _bool_check,
    "nginx.org/limit-req-log-level": _one_of(LOG_LEVELS),
    "nginx.org/limit-req-reject-code": _int_check,
    "nginx.org/limit-req-scale": _bool_check,
    # parseAnnotations: GetMapKeyAsBool, ignored when it fails
    "nginx.org/ssl-prefer-server-ciphers": _bool_check,
}

# Keys whose value names Services of the Ingress (serviceName= and Service lists): the controller rejects an
# Ingress that names a Service its paths do not have, so these can be checked only with a route's paths.
NAMES_SERVICES: frozenset[str] = frozenset(
    {"nginx.org/websocket-services", "nginx.org/ssl-services", "nginx.org/grpc-services", "nginx.org/rewrites"}
)

# Every nginx.org/* annotation the controller reads (internal/configs/annotations.go, internal/k8s/validation.go).
KNOWN: frozenset[str] = frozenset(
    {
        *CHECKS,
        "nginx.org/server-snippets",
        "nginx.org/location-snippets",
        "nginx.org/ssl-ciphers",
    }
)


def check(key: str, value: str, context: Context) -> str | None:
    """What the controller would say of this value: an error message, or None (also for keys it does not check)."""
    rule = CHECKS.get(key)
    return rule(value, context) if rule is not None else None


def suggestion(key: str) -> str | None:
    """An unknown nginx.org/* key: the nearest known one (or None: a known key, another prefix, nothing near)."""
    if not key.startswith(PREFIX) or key in KNOWN:
        return None
    # Compared without the shared prefix, which would make every key look near every other.
    names = sorted(known.removeprefix(PREFIX) for known in KNOWN)
    near = difflib.get_close_matches(key.removeprefix(PREFIX), names, n=1, cutoff=0.6)
    return PREFIX + near[0] if near else ""


def unknown_key_warning(key: str) -> str | None:
    """The warning an unknown nginx.org/* key gets on its row."""
    near = suggestion(key)
    if near is None:
        return None
    if near:
        return _("The NGINX Ingress Controller does not read %(key)s: did you mean %(near)s?") % {
            "key": key,
            "near": near,
        }
    return _("The NGINX Ingress Controller does not read %(key)s.") % {"key": key}
