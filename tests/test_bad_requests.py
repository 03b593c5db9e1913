"""Requests the console cannot or will not read answer 4xx quickly, never 500.

The clients below do not raise on server errors (raise_request_exception=False),
so a 500 shows as a status, and every request has a budget of CPU time spent in
this thread (where the test client runs the view): a malformed request must not
hold a worker. CPU time, not wall time: a wall-clock budget failed whenever the
machine was busy with other work (3.2 s at a load average of 9), while a view
that really processed 10,000 rows would spend many seconds of CPU itself.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from kubegems_routes.routes.models import Route
from tests.helpers import action_url, create_url, route_data, tenant_gateway

pytestmark = pytest.mark.django_db

BUDGET = 3.0  # CPU seconds; each of these takes well under 0.5 s here
FORM = "application/x-www-form-urlencoded"


def _timed(call: Callable[[], object]):
    started = time.thread_time()
    response = call()
    elapsed = time.thread_time() - started
    assert elapsed < BUDGET, f"took {elapsed:.1f} s of CPU"
    return response


def _csrf_client(user=None, environment=None) -> tuple[Client, str]:
    """A client that enforces CSRF like a browser session, with its token."""
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    client.get(create_url(environment) if environment is not None else reverse("login"))
    return client, client.cookies["csrftoken"].value


@pytest.mark.parametrize("charset", ["utf-16", "utf-32", "latin-1"])
def test_login_form_in_another_charset_answers_400(charset):
    client, token = _csrf_client()
    body = f"username=a&password=b&csrfmiddlewaretoken={token}".encode()
    response = _timed(lambda: client.generic("POST", reverse("login"), body, content_type=f"{FORM}; charset={charset}"))
    assert response.status_code == 400
    assert "cannot read" in response.content.decode()


def test_an_unknown_charset_is_read_as_utf8():
    client, token = _csrf_client()
    body = f"username=a&password=b&csrfmiddlewaretoken={token}".encode()
    response = _timed(
        lambda: client.generic("POST", reverse("login"), body, content_type=f"{FORM}; charset=no-such-charset")
    )
    assert response.status_code == 200  # the log-in form again, with its error


def test_route_form_in_utf16_answers_400_and_creates_nothing(operator, environment):
    client, token = _csrf_client(operator, environment)
    data = route_data(tenant_gateway(environment), csrfmiddlewaretoken=token)
    body = "&".join(f"{k}={v}" for k, v in data.items()).encode("utf-16")
    url = create_url(environment)
    response = _timed(lambda: client.generic("POST", url, body, content_type=f"{FORM}; charset=utf-16"))
    assert response.status_code == 400
    assert not Route.objects.exists()


@pytest.mark.parametrize(("prefix", "allowed"), [("paths", 50), ("annotations", 100)], ids=["paths", "annotations"])
@pytest.mark.parametrize("action", ["save", "add-path", "add-annotation"])
def test_ten_thousand_rows_claimed_answer_a_form_error_quickly(
    operator_client, environment, kube, prefix, allowed, action
):
    data = route_data(tenant_gateway(environment), **{f"{prefix}-TOTAL_FORMS": "10000"})
    url = create_url(environment) if action == "save" else action_url(environment, action)
    response = _timed(lambda: operator_client.post(url, data))
    assert response.status_code == 200
    html = response.content.decode()
    rows = len(set(re.findall(rf'name="{prefix}-(\d+)-', html)))
    assert rows <= allowed + 1
    if action == "save":
        assert f"Please submit at most {allowed} forms" in html
    assert not Route.objects.exists()
    assert kube.list_ingresses(environment.namespace) == []


def test_a_body_over_the_upload_limit_answers_400(client):
    body = b"a=" + b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    client.raise_request_exception = False
    response = _timed(lambda: client.generic("POST", reverse("login"), body, content_type=FORM))
    assert response.status_code == 400


def test_more_fields_than_allowed_answer_400(client):
    client.raise_request_exception = False
    body = "&".join(f"f{i}=1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)).encode()
    assert _timed(lambda: client.generic("POST", reverse("login"), body, content_type=FORM)).status_code == 400
    query = "&".join(f"f{i}=1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    assert _timed(lambda: client.get(f"{reverse('login')}?{query}")).status_code == 400


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data", b"--x\r\nnot a part"),
        ("multipart/form-data; boundary=", b"--\r\n"),
        ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data\r\n\r\nno name\r\n--x--"),
        ("multipart/form-data; boundary=x", b'--x\r\nContent-Disposition: form-data; name="a"\r\n\r\ntruncated'),
        ("multipart/form-data; boundary=\u00e9", b"--\xc3\xa9\r\n"),
        ("application/x-www-form-urlencoded", b"%ff%fe=%00%zz&&&=&a==b"),
    ],
    ids=["no-boundary", "empty-boundary", "part-without-name", "truncated", "non-ascii-boundary", "garbage-form"],
)
def test_malformed_bodies_never_answer_500(operator, environment, content_type, body):
    client, token = _csrf_client(operator, environment)
    for url in (reverse("login"), create_url(environment)):
        response = _timed(
            lambda url=url: client.generic("POST", url, body, content_type=content_type, headers={"X-CSRFToken": token})
        )
        assert response.status_code in (200, 302, 400, 403), (url, response.status_code)


ABSURD_QUERIES = [
    "page=99999999999999999999999999",
    "page=-1",
    "page=NaN",
    "page=1e400",
    "q=" + "x" * 50_000,
    "q=%ff%fe%fd",
    "q=%zz%",
    "q=%00",
    "next=%00",
    "row=" + "paths-0" * 1000,
    "paths-0-service=%00",
    "&&&&===&&&",
]


def test_absurd_query_strings_never_answer_500(operator, environment):
    client = Client(raise_request_exception=False)
    client.force_login(operator)
    pk = environment.pk
    urls = [
        reverse("login"),
        reverse("workbench:environments"),
        reverse("workbench:environment", args=[pk]),
        reverse("routes:list", args=[pk]),
        reverse("routes:create", args=[pk]),
        reverse("routes:create-action", args=[pk, "service"]),
        reverse("routes:secrets", args=[pk]),
        reverse("routes:import", args=[pk]),
        reverse("routes:audit", args=[pk]),
        reverse("routes:detail", args=[pk, "nothing"]),
    ]
    for url in urls:
        for query in ABSURD_QUERIES:
            response = _timed(lambda url=url, query=query: client.get(f"{url}?{query}"))
            assert response.status_code in (200, 302, 400, 404, 405), (url, query[:40], response.status_code)
            if "%00" in query:
                assert response.status_code == 400, (url, query)


@pytest.mark.parametrize(
    "path",
    [
        "/workbench/environments/99999999999999999999999999/",
        "/workbench/environments/9223372036854775808/routes/",
        "/workbench/environments/0/routes/-/new/",
        "/workbench/environments/1/routes/%00/",
        "/workbench/environments/1/routes/" + "a" * 5000 + "/",
        "/%ff%fe/",
    ],
)
def test_absurd_paths_answer_4xx(operator_client, environment, path):
    operator_client.raise_request_exception = False
    response = _timed(lambda: operator_client.get(path))
    assert response.status_code in (400, 404)
