"""nginx.org/* annotation values checked as the NGINX Ingress Controller checks them (pure, no cluster).

EDGE_VALUES is shared with tests/test_annotation_agreement.py, which feeds the same values to the real
controller: every value the form accepts must be one the controller accepts.
"""

from __future__ import annotations

import pytest

from kubegems_routes.routes import annotation_values as av

SERVICES = frozenset({"web", "api"})
CONTEXT = av.Context(
    services=SERVICES,
    annotations={
        "nginx.org/hsts": "true",
        "nginx.org/basic-auth-secret": "s",
        "nginx.org/proxy-redirect-from": "http://upstream/",
        "nginx.org/proxy-redirect-to": "/",
    },
)

# key -> (values the form accepts, values it refuses)
EDGE_VALUES: dict[str, tuple[list[str], list[str]]] = {
    "nginx.org/proxy-read-timeout": (
        ["60s", "60", "1m", "500ms", "1h 30m", "1y2M3w4d5h6m7s8ms", "0", "1m30s", "60s "],
        ["banana", "", " ", "60 s", "1s1m", "-1s", "1.5s", "1S", "٣s"],
    ),
    "nginx.org/proxy-connect-timeout": (["5s", "10"], ["5x", "s"]),
    "nginx.org/proxy-send-timeout": (["1d"], ["1 day"]),
    "nginx.org/proxy-next-upstream-timeout": (["0", "3s"], ["3q"]),
    "nginx.org/fail-timeout": (["10s"], ["ten"]),
    "nginx.org/client-max-body-size": (
        ["0", "1024", "8k", "10m", "1g", "1G", " 5m "],
        ["1t", "1.5m", "10mb", "", "-1"],
    ),
    "nginx.org/client-body-buffer-size": (["16k", "1M"], ["1g", "", "k"]),
    "nginx.org/proxy-buffer-size": (["4k", "8"], ["4kb", "4g"]),
    "nginx.org/proxy-busy-buffers-size": (["", "16k"], ["16kb"]),
    "nginx.org/proxy-max-temp-file-size": (["0", "1024m"], ["1gb"]),
    "nginx.org/upstream-zone-size": (["256k", "512"], ["big"]),
    "nginx.org/proxy-buffers": (["8 4k", "4 16K", "2 1m"], ["8", "8 4g", "8  4k", "eight 4k"]),
    "nginx.org/limit-req-zone-size": (["10m", "64k"], ["10g"]),
    "nginx.org/limit-req-rate": (["1r/s", "600r/m", " 10r/s "], ["0r/s", "10r/h", "10 r/s", "ten", "", "-1r/s"]),
    "nginx.org/redirect-to-https": (
        ["true", "false", "True", "FALSE", "1", "0", "t", "F"],
        ["maybe", "yes", "on", "", "tRuE", " true"],
    ),
    "nginx.org/ssl-redirect": (["true", "false"], ["no"]),
    "nginx.org/proxy-buffering": (["False"], ["off"]),
    "nginx.org/hsts": (["true"], ["enabled"]),
    "nginx.org/use-cluster-ip": (["false"], ["nope"]),
    "nginx.org/limit-req-no-delay": (["true"], ["y"]),
    "nginx.org/limit-req-dry-run": (["false"], ["n"]),
    "nginx.org/limit-req-scale": (["true"], ["scale"]),
    "nginx.org/ssl-prefer-server-ciphers": (["true"], ["prefer"]),
    "nginx.org/server-tokens": (["false", "true"], ["build", ""]),
    "nginx.org/lb-method": (
        [
            "round_robin",
            "least_conn",
            "ip_hash",
            "random",
            "random two",
            "random two least_conn",
            "hash $remote_addr",
            "hash $request_uri consistent",
            " least_conn ",
        ],
        ["fastest", "least_time header", "hash", "hash $a b", "random  two", "LEAST_CONN", ""],
    ),
    "nginx.org/max-fails": (["0", "1", "18446744073709551615"], ["lots", "-1", "+1", "18446744073709551616", ""]),
    "nginx.org/max-conns": (["0", "100"], ["1.5"]),
    "nginx.org/proxy-next-upstream-tries": (["3"], ["-3"]),
    "nginx.org/keepalive": (["32", "-1", "+4", "0"], ["many", "9223372036854775808", "3 "]),
    "nginx.org/limit-req-delay": (["5"], ["5s"]),
    "nginx.org/limit-req-burst": (["20"], ["twenty"]),
    "nginx.org/limit-req-reject-code": (["429"], ["4xx"]),
    "nginx.org/hsts-max-age": (["31536000", "-1"], ["1y"]),
    "nginx.org/hsts-include-subdomains": (["true"], ["all"]),
    "nginx.org/hsts-behind-proxy": (["false"], ["proxy"]),
    "nginx.org/limit-req-log-level": (["info", "notice", "warn", "error"], ["debug", "WARN", ""]),
    "nginx.org/add-header-inherit": (["on", "off", "merge", "MERGE", " on "], ["yes", ""]),
    "nginx.org/path-regex": (["case_sensitive", "case_insensitive", "exact"], ["regex", ""]),
    "nginx.org/http-redirect-code": (["301", "302", "307", "308", "+301"], ["300", "303", "moved", ""]),
    "nginx.org/listen-ports": (["80", "8080,8081"], ["0", "80, 81", "http", "", "2147483648"]),
    "nginx.org/listen-ports-ssl": (["443"], ["-443"]),
    "nginx.org/limit-req-key": (["$binary_remote_addr", "${request_uri}", "$a$b"], ["ip", "$1a", "$a b", ""]),
    "nginx.org/proxy-hide-headers": (["X-Powered-By", "Server, X-A"], ["X Powered", "X_A", ""]),
    "nginx.org/proxy-pass-headers": (["X-Accel"], ["X:A"]),
    "nginx.org/proxy-set-headers": (
        ["X-Forwarded-ABC", "X-A: b, X-B", 'X-A: say \\"hi\\"'],
        ["X A: b", "X-A: $host", "X-A: b,", "", 'X-A: "q"'],
    ),
    "nginx.org/add-header": (
        ["X-Frame-Options: DENY", "X-A: b: always", "X-A: b:ALWAYS", "X-A"],
        ["X-A: b: sometimes", "X-A: $x", ":b", "", "X-A: b,,X-B: c"],
    ),
    "nginx.org/proxy-next-upstream": (
        ["error timeout", "http_502  http_503", "off"],
        ["error error", "http_501", "denied", ""],
    ),
    "nginx.org/basic-auth-secret": (["htpasswd", "a.b-c"], ["Htpasswd", "a_b", ""]),
    "nginx.org/basic-auth-realm": (["My Realm", ""], ["$realm"]),
    "nginx.org/websocket-services": (["web", "web,api", "api,web"], ["shop", "web, api", "web,", ""]),
    "nginx.org/grpc-services": (["api"], ["grpc"]),
    "nginx.org/ssl-services": (["web"], ["Web"]),
    "nginx.org/rewrites": (
        ["serviceName=web rewrite=/", "serviceName=web rewrite=/v1;serviceName=api rewrite=/api/"],
        [
            "serviceName=shop rewrite=/",
            "web rewrite=/",
            "serviceName=web",
            "serviceName=web rewrite=v1",
            "serviceName=web rewrite=/a b",
            "serviceName=web rewrite=/$1",
            "serviceName=web rewrite=/;",
            "",
        ],
    ),
    "nginx.org/mergeable-ingress-type": (["minion"], ["master", "servant", ""]),
    "nginx.org/rewrite-target": (
        ["/", "/v1/", "/api/$1"],
        ["", "v1", "http://x/", "//x", "/a/../b", "/a b", "/a;b", "/a,b", "/a~b"],
    ),
    "nginx.org/app-root": (["/app", "/app/v1"], ["/", "", "app", "/app/", "/a$b", "/a~b", "//a", "/a/../b"]),
    "nginx.org/proxy-redirect-from": (
        ["off", "default", "http://upstream/", "~^http://(.*)$"],
        ["", "a b", "a;b", "~(", "~(?=x)"],
    ),
    "nginx.org/proxy-redirect-to": (["/", "http://console/"], ["", "a b", "a#b"]),
    "nginx.org/custom-http-errors": (
        ["404", "4xx,5xx", "500, 502", "300", "599"],
        ["", "499", "200", "600", "4xx5", "abc", ","],
    ),
    "nginx.org/policies": (["rate-limit", "ns/policy-a", "a,b"], ["", "Bad_Name", "ns/", "/p", "a,,b"]),
    "nginx.org/sticky-cookie-services": (
        ["serviceName=web srv_id expires=1h path=/"],
        ["", "web", "serviceName=web", "serviceName=web $cookie"],
    ),
}


@pytest.mark.parametrize(
    ("key", "value", "accepted"),
    [(key, v, True) for key, (good, _bad) in EDGE_VALUES.items() for v in good]
    + [(key, v, False) for key, (_good, bad) in EDGE_VALUES.items() for v in bad],
)
def test_each_value_is_checked_as_the_controller_checks_it(key, value, accepted):
    error = av.check(key, value, CONTEXT)
    assert (error is None) == accepted, (key, value, error)
    if not accepted:
        assert error


def test_every_checked_key_has_edge_values():
    assert set(av.CHECKS) == set(EDGE_VALUES)


def test_hsts_companions_need_hsts_set_as_a_boolean():
    for companion in ("nginx.org/hsts-max-age", "nginx.org/hsts-include-subdomains", "nginx.org/hsts-behind-proxy"):
        value = "1" if companion.endswith("max-age") else "true"
        assert av.check(companion, value, av.Context()) is not None
        assert av.check(companion, value, av.Context(annotations={"nginx.org/hsts": "maybe"})) is not None
        assert av.check(companion, value, av.Context(annotations={"nginx.org/hsts": "false"})) is None


def test_basic_auth_realm_needs_the_secret():
    assert av.check("nginx.org/basic-auth-realm", "Realm", av.Context()) is not None


def test_proxy_redirect_from_and_to_go_together():
    from_, to = "nginx.org/proxy-redirect-from", "nginx.org/proxy-redirect-to"
    assert av.check(from_, "http://a/", av.Context()) is not None
    assert av.check(to, "/", av.Context()) is not None
    assert av.check(to, "/", av.Context(annotations={from_: "off"})) is not None
    assert av.check(from_, "off", av.Context()) is None


def test_a_minion_has_no_tls_of_its_own():
    assert av.check("nginx.org/mergeable-ingress-type", "minion", av.Context(tls=True)) is not None


def test_keys_the_controller_does_not_check_pass_any_value():
    assert av.check("nginx.org/ssl-ciphers", "anything", CONTEXT) is None
    assert av.check("example.com/whatever", "banana", CONTEXT) is None


@pytest.mark.parametrize(
    ("key", "near"),
    [
        ("nginx.org/proxy-read-timeot", "nginx.org/proxy-read-timeout"),
        ("nginx.org/redirect-to-http", "nginx.org/redirect-to-https"),
        ("nginx.org/websocket-service", "nginx.org/websocket-services"),
        ("nginx.org/lbmethod", "nginx.org/lb-method"),
        ("nginx.org/zzzzzzzzzzzzzzzz", ""),
        ("nginx.org/abc", ""),
        ("nginx.org/max-body-size", "nginx.org/client-max-body-size"),
        ("nginx.org/lb-method", None),
        ("nginx.org/server-snippets", None),
        ("example.com/lb-methd", None),
    ],
)
def test_unknown_keys_name_the_nearest_known_key(key, near):
    assert av.suggestion(key) == near
    warning = av.unknown_key_warning(key)
    assert (warning is None) == (near is None)
    if near:
        assert near in str(warning) and key in str(warning)
