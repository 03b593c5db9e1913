"""What the list, detail and delete pages show: breadcrumbs, copy buttons, search, times, links, badges."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from tests.helpers import create_route

pytestmark = pytest.mark.django_db


def _breadcrumbs(body: str) -> list[str]:
    nav = re.search(r'<nav aria-label="Breadcrumb">(.*?)</nav>', body, re.S)
    assert nav, "no breadcrumb navigation"
    items = re.findall(r"<li[^>]*>(.*?)</li>", nav.group(1), re.S)
    return [re.sub(r"<[^>]+>|\s+", " ", item).strip() for item in items]


def test_breadcrumbs_lead_from_the_environment_to_the_page(operator_client, environment):
    route = create_route(operator_client, environment)
    env = environment.name
    pages = {
        reverse("routes:list", args=[environment.pk]): [env, "Routes"],
        reverse("routes:create", args=[environment.pk]): [env, "Routes", "Create route"],
        reverse("routes:detail", args=[environment.pk, route.name]): [env, "Routes", "shop"],
        reverse("routes:edit", args=[environment.pk, route.name]): [env, "Routes", "shop", "Edit"],
        reverse("routes:delete", args=[environment.pk, route.name]): [env, "Routes", "shop", "Delete"],
    }
    for url, expected in pages.items():
        body = operator_client.get(url).content.decode()
        assert _breadcrumbs(body) == expected, url
        # Every crumb but the current page is a link; the current one says so.
        nav = re.search(r'<nav aria-label="Breadcrumb">(.*?)</nav>', body, re.S).group(1)
        assert nav.count("<a ") == len(expected) - 1 and nav.count('aria-current="page"') == 1
    detail = operator_client.get(reverse("routes:edit", args=[environment.pk, route.name])).content.decode()
    assert f'href="{reverse("routes:detail", args=[environment.pk, route.name])}"' in detail


def test_detail_offers_copy_buttons_for_urls_host_and_yaml(operator_client, environment):
    route = create_route(operator_client, environment, host="shop.acme.example.com")
    body = operator_client.get(reverse("routes:detail", args=[environment.pk, route.name])).content.decode()
    assert 'data-copy="http://shop.acme.example.com/"' in body
    assert 'data-copy="shop.acme.example.com"' in body
    assert 'data-copy-target="#ingress-yaml"' in body and 'id="ingress-yaml"' in body
    # Hidden until the console's script (an own static file: the CSP forbids inline script) shows them.
    assert re.search(r"<button[^>]*\bhidden\b[^>]*data-copy=", body)
    assert re.search(r'<script src="/static/js/console\.js" defer>', body)
    assert "<script>" not in body


def test_copy_script_is_a_static_file():
    script = finders.find("js/console.js")
    assert script and "data-copy" in Path(script).read_text()


def test_list_searches_by_host_as_well_as_name(operator_client, environment):
    create_route(operator_client, environment, name="shop", host="shop.acme.example.com")
    create_route(operator_client, environment, name="blog", host="news.acme.example.com")
    url = reverse("routes:list", args=[environment.pk])
    by_host = operator_client.get(url, {"q": "news.acme"}).content.decode()
    assert ">blog</a>" in by_host and ">shop</a>" not in by_host
    by_name = operator_client.get(url, {"q": "shop"}).content.decode()
    assert ">shop</a>" in by_name and ">blog</a>" not in by_name
    assert 'placeholder="Search by name or host"' in by_name


def test_times_carry_their_time_zone(operator_client, environment, settings):
    route = create_route(operator_client, environment)
    for zone, label in [("UTC", "UTC"), ("Asia/Shanghai", "CST")]:
        settings.TIME_ZONE = zone
        for url in [
            reverse("routes:list", args=[environment.pk]),
            reverse("routes:detail", args=[environment.pk, route.name]),
            reverse("routes:audit", args=[environment.pk]),
        ]:
            body = operator_client.get(url).content.decode()
            times = re.findall(r'<time datetime="([^"]+)">([^<]+)</time>', body)
            assert times, url
            for machine, shown in times:
                assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d", machine), machine
                assert re.fullmatch(rf"\d{{4}}-\d\d-\d\d \d\d:\d\d {label}", shown), (url, shown)


def test_a_wildcard_host_is_not_a_link(operator_client, environment):
    route = create_route(operator_client, environment, name="any", host="*.acme.example.com")
    for url in [
        reverse("routes:list", args=[environment.pk]),
        reverse("routes:detail", args=[environment.pk, route.name]),
    ]:
        body = operator_client.get(url).content.decode()
        assert "http://*.acme.example.com/" in body
        assert 'href="http://*.acme.example.com/"' not in body


def test_the_protocol_badge_reads_the_same_on_list_and_detail(operator_client, environment):
    route = create_route(operator_client, environment, protocol="ws")
    badge = re.compile(r'<span class="badge text-bg-info[^"]*">([^<]+)</span>')
    listed = badge.findall(operator_client.get(reverse("routes:list", args=[environment.pk])).content.decode())
    shown = badge.findall(
        operator_client.get(reverse("routes:detail", args=[environment.pk, route.name])).content.decode()
    )
    assert listed == shown == ["WebSocket (ws)"]


def test_detail_shows_the_path_type_in_the_users_language(operator_client, environment):
    route = create_route(operator_client, environment)
    url = reverse("routes:detail", args=[environment.pk, route.name])
    chinese = operator_client.get(url, HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "<td>前缀匹配（Prefix）</td>" in chinese
    assert "<td>Prefix</td>" in operator_client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
