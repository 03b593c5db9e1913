"""Each Behaviour field of the route form proven with real traffic through the NGINX data plane: the route is
created with the form's POST, the controller accepts the Ingress, and requests show the behaviour: a redirect
to HTTPS, the rewritten path the backend sees, a read timeout's 504, a body limit's 413, a rate limit's refusal
and an added response header."""

from __future__ import annotations

import time

import pytest

from tests.test_traffic import (  # noqa: F401  (fixtures)
    WEB,
    Console,
    console,
    traffic_ca,
)
from tests.traffic import eventually, http_get, http_request, https_get

pytestmark = pytest.mark.django_db


def _route(console: Console, protocol: str = "http", paths=WEB, **fields: str) -> str:  # noqa: F811
    """A route created through the form with these fields, accepted by the controller; its host."""
    _name, host, events = console.post_create(protocol, paths, **fields)
    console.accepted(events)
    return host


def _answer(status: int):
    def check(reply):
        assert reply.status == status, reply
        return reply

    return check


def test_http_is_redirected_to_https_with_301_and_served_when_turned_off(console: Console):  # noqa: F811
    host = _route(console, "https", https_redirect="true")
    eventually(lambda: _answer(200)(https_get(console.address, host, console.ca, "/secure")))
    redirect = http_request(console.address, host, "/secure?a=1")
    # The controller names the HTTPS port it listens on.
    assert (redirect.status, redirect.headers["Location"]) == (301, f"https://{host}:443/secure?a=1")

    plain = _route(console, "https", https_redirect="false")
    assert eventually(lambda: _answer(200)(http_get(console.address, plain, "/secure"))).body == "web GET /secure\n"


def test_the_backend_sees_the_rewritten_path(console: Console):  # noqa: F811
    host = _route(console, paths=[("/shop/", "web", "80")], **{"paths-0-rewrite": "/"})
    reply = eventually(lambda: _answer(200)(http_request(console.address, host, "/shop/items?page=2")))
    assert reply.body == "web GET /items?page=2\n"


def test_a_backend_slower_than_the_read_timeout_gives_504(console: Console):  # noqa: F811
    host = _route(console, read_timeout="1s")
    eventually(lambda: _answer(200)(http_request(console.address, host, "/fast")))
    assert http_request(console.address, host, "/quick?sleep=0.2").status == 200  # within the timeout
    started = time.monotonic()
    assert http_request(console.address, host, "/slow?sleep=4", timeout=10).status == 504
    assert time.monotonic() - started < 3.5  # nginx gave up after the read timeout, not the backend's answer


def test_a_body_over_the_limit_gives_413(console: Console):  # noqa: F811
    host = _route(console, max_body_size="1k")
    small = eventually(lambda: _answer(200)(http_request(console.address, host, "/up", method="POST", body=b"x" * 900)))
    assert small.headers["X-Body-Bytes"] == "900"
    assert http_request(console.address, host, "/up", method="POST", body=b"x" * 4096).status == 413


@pytest.mark.parametrize(("fields", "refused"), [({}, 429), ({"rate_reject_code": "503"}, 503)])
def test_requests_past_the_rate_limit_are_refused_with_the_configured_status(
    fields,
    refused,
    console: Console,  # noqa: F811
):
    host = _route(console, rate_limit="1r/s", **fields)
    eventually(lambda: _answer(200)(http_request(console.address, host, "/")), timeout=10)
    statuses = [http_request(console.address, host, "/").status for _ in range(5)]
    assert set(statuses) == {refused}, statuses  # one a second, and the first was just served
    time.sleep(1.1)
    assert http_request(console.address, host, "/").status == 200


def test_the_added_header_is_in_the_response(console: Console):  # noqa: F811
    host = _route(console, response_headers="X-Team:shop,X-Frame-Options:DENY")
    reply = eventually(lambda: _answer(200)(http_request(console.address, host, "/")))
    assert (reply.headers["X-Team"], reply.headers["X-Frame-Options"]) == ("shop", "DENY")
