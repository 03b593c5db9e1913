"""The gateway parts of the console in a real browser, in English and Chinese, at desktop and phone width.

What a tenant sees of a gateway on a route's pages (its address, the DNS record
and curl lines; a TLS secret that does not exist yet; a gateway whose defaults
an admin changed), what a platform admin sees in Django admin (the gateway
list, a gateway's page, a default annotation refused on its row, tenant
domains, and the re-apply action whose results stream in one row per route),
and a route on a Gateway API gateway from the form to the list and the detail
page.
"""

from __future__ import annotations

import re

import pytest
import yaml
from playwright.sync_api import expect

from kubegems_routes.gateways.models import Gateway, GatewayAnnotation, TenantDomain
from kubegems_routes.kube.client import KubeClient
from kubegems_routes.routes import manifest
from kubegems_routes.routes.models import AuditEntry, Route
from kubegems_routes.routes.saving import save_route
from kubegems_routes.routes.values import RouteValues
from kubegems_routes.tenancy.models import Environment
from tests.e2e.conftest import VIEWPORTS, Page
from tests.e2e.test_list_and_admin import CLIPPED_CONTROLS, OVERFLOW
from tests.helpers import gateway_api_gateway, tenant_gateway

pytestmark = pytest.mark.django_db(transaction=True)

ADDRESS = "203.0.113.7"
ROUTES = 12  # on the re-apply page: enough that the rows visibly arrive one after another

# The words each page must show, in each language (the zh_Hans catalog's).
WORDS = {
    "en": {
        "secret missing": "secret missing",
        "in sync": "in sync",
        "gateway defaults changed": "gateway defaults changed",
        "how to reach": "How to reach it",
        "gateway address": "Gateway address",
        "set by an admin": "set by an admin",
        "dns": "Create a DNS record",
        "try": "Try it before the DNS record exists",
        "why changed": "An admin changed the gateway's default annotations",
        "reapply": "Re-apply the route",
        "gateway": "gateway",
        "domains": "Domains",
        "address": "Address",
        "routes": "Routes",
        "where": "Where it answers now",
        "load balancer": "the controller's LoadBalancer Service",
        "tenant domains": "Tenant domains",
        "action": "Re-apply all routes of the selected gateways",
        "reapplying": f"Re-applying {ROUTES} routes, one at a time",
        "applied": "applied",
        "summary": f"{ROUTES} routes applied.",
        "gateway caption": "Gateway public",
        "on listener": "the certificate belongs to the Gateway's HTTPS listener",
        "no annotation": "Gateway API needs no annotation for WebSocket or gRPC",
        "httproute preview": "HTTPRoute to be applied",
        "grpcroute preview": "GRPCRoute to be applied",
        "saved": "Route shop saved.",
        "from the cluster": "HTTPRoute (from the cluster)",
        "gateway api kind": "Gateway API Gateway",
        "listener certificate": "The certificate of the Gateway's HTTPS listener (https)",
        "the gateway": "Gateway",
        "copy yaml": "the HTTPRoute as YAML",
        "diff": ("--- the route", "+++ the cluster"),
        "not a time": "Must be a time such as 60s, 1m, 500ms or 1h 30m",
        "kept as typed": "did you mean nginx.org/proxy-read-timeout? It was kept as typed",
    },
    "zh": {
        "secret missing": "Secret 缺失",
        "in sync": "已同步",
        "gateway defaults changed": "网关默认注解已变更",
        "how to reach": "如何访问",
        "gateway address": "网关地址",
        "set by an admin": "由管理员设置",
        "dns": "创建 DNS 记录",
        "try": "在 DNS 记录生效前试用",
        "why changed": "管理员更改了网关的默认注解",
        "reapply": "重新应用路由",
        "gateway": "网关",
        "domains": "域名",
        "address": "地址",
        "routes": "路由",
        "where": "当前应答地址",
        "load balancer": "控制器的 LoadBalancer Service",
        "tenant domains": "租户域名",
        "action": "重新应用所选网关的全部路由",
        "reapplying": f"正在逐条重新应用 {ROUTES} 条路由",
        "applied": "已应用",
        "summary": f"已应用 {ROUTES} 条路由。",
        "gateway caption": "网关 public",
        "on listener": "证书属于 Gateway 的 HTTPS 监听器",
        "no annotation": "Gateway API 不需要为 WebSocket 或 gRPC 添加注解",
        "httproute preview": "将要应用的 HTTPRoute",
        "grpcroute preview": "将要应用的 GRPCRoute",
        "saved": "路由 shop 已保存。",
        "from the cluster": "HTTPRoute（来自集群）",
        "gateway api kind": "Gateway API 网关",
        "listener certificate": "Gateway 的 HTTPS 监听器的证书 (https)",
        "the gateway": "网关",
        "copy yaml": "HTTPRoute 的 YAML",
        "diff": ("--- 路由", "+++ 集群"),
        "not a time": "必须是时间，例如 60s、1m、500ms 或 1h 30m",
        "kept as typed": "您是想写 nginx.org/proxy-read-timeout 吗？ 已按输入保留",
    },
}


def _words(locale: str) -> dict[str, str]:
    return WORDS["zh" if locale.startswith("zh") else "en"]


def _fits(p: Page, what: str) -> None:
    """Nothing scrolls sideways, nothing spills out of its cell, no control cuts its label."""
    result = p.page.evaluate(OVERFLOW)
    assert result["page"] <= 0, f"{what} scrolls sideways by {result['page']}px"
    assert result["spills"] == [], f"{what}: content spills out of its box: {result['spills']}"
    assert p.page.evaluate(CLIPPED_CONTROLS) == [], f"{what}: clipped controls"


def _route(environment: Environment, user, name: str, **values: str) -> Route:
    """A route saved by the console's own service: its Ingress is in the cluster."""
    fields = {"host": f"{name}.acme.example.com", "protocol": "http", "tls_secret": ""} | values
    spec = RouteValues(
        gateway=tenant_gateway(environment),
        backends=(manifest.Backend(path="/", service="web", port="80"),),
        **fields,  # type: ignore[arg-type]
    )
    return save_route(Route(environment=environment, name=name), spec, user)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_route_pages_show_the_gateway_address_a_missing_secret_and_changed_gateway_defaults(
    viewport, make_page, operator, environment
):
    locale, width, height = VIEWPORTS[viewport]
    words = _words(locale)
    operator.set_password("pw")
    operator.save()
    gateway = tenant_gateway(environment)
    gateway.address = ADDRESS
    gateway.save()
    _route(environment, operator, "shop", protocol="https", tls_secret="later-tls")
    _route(environment, operator, "plain")

    p = make_page(locale, f"gateway-route-{viewport}", width=width, height=height)
    page = p.page
    p.log_in()
    base = f"/workbench/environments/{environment.pk}/routes/"
    page.goto(base)
    shop = page.locator("main tbody tr", has=page.locator("a[href$='/shop/']"))
    expect(shop.locator(".route-state")).to_contain_text(words["secret missing"])
    expect(shop.locator(".route-state")).to_contain_text(words["in sync"])
    expect(shop.locator(".route-dns")).to_contain_text(f"shop.acme.example.com → {ADDRESS}")
    plain = page.locator("main tbody tr", has=page.locator("a[href$='/plain/']"))
    expect(plain.locator(".route-state")).not_to_contain_text(words["secret missing"])
    p.shot("list-secret-missing")
    _fits(p, f"the route list at {width}px")
    p.check_accessibility()

    page.goto(base + "shop/")
    expect(page.locator("#tls-secret")).to_contain_text(words["secret missing"])
    expect(page.locator("#reach-heading")).to_have_text(words["how to reach"])
    reach = page.locator("#reach")
    expect(reach).to_contain_text(words["gateway address"])
    expect(reach).to_contain_text(words["set by an admin"])
    expect(page.locator("#gateway-address")).to_have_text(ADDRESS)
    expect(reach).to_contain_text(words["dns"])
    expect(page.locator("#dns-record")).to_have_text(f"shop.acme.example.com A {ADDRESS}")
    expect(reach).to_contain_text(words["try"])
    expect(page.locator("#try-commands")).to_contain_text(
        f"curl -sS -i -k --resolve shop.acme.example.com:443:{ADDRESS} https://shop.acme.example.com/"
    )
    p.shot("detail-address-secret-missing")
    _fits(p, f"the route's page at {width}px")
    p.check_accessibility()

    # An admin changes the gateway's defaults: the routes' Ingresses still hold the old ones.
    GatewayAnnotation.objects.create(gateway=gateway, key="nginx.org/proxy-read-timeout", value="120s")
    page.goto(base)
    expect(shop.locator(".route-state")).to_contain_text(words["gateway defaults changed"])
    expect(plain.locator(".route-state")).to_contain_text(words["gateway defaults changed"])
    p.shot("list-gateway-changed")
    _fits(p, f"the route list at {width}px")
    p.check_accessibility()

    page.goto(base + "plain/")
    expect(page.locator("main")).to_contain_text(words["gateway defaults changed"])
    expect(page.locator("main")).to_contain_text(words["why changed"])
    diff = page.locator("main pre").first
    expect(diff).to_contain_text("nginx.org/proxy-read-timeout")
    for label in words["diff"]:
        expect(diff).to_contain_text(label)
    expect(page.locator("form[action$='/takeover/']")).to_have_count(0)
    reapply = page.locator("form[action$='/reapply/'] button")
    expect(reapply).to_contain_text(words["reapply"])
    p.shot("detail-gateway-changed")
    _fits(p, f"the route's page at {width}px")
    p.check_accessibility()
    reapply.click()
    expect(page.locator("main")).to_contain_text(words["in sync"])
    expect(page.locator("main")).not_to_contain_text(words["gateway defaults changed"])
    p.shot("detail-reapplied")


def _controller_service(kube: KubeClient, namespace: str) -> str:
    """The controller's LoadBalancer Service, with the address a cloud load balancer would publish."""
    kube.create(
        f"/api/v1/namespaces/{namespace}/services",
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "nginx-ingress"},
            "spec": {
                "type": "LoadBalancer",
                "selector": {"app": "nginx-ingress"},
                "ports": [{"name": "http", "port": 80}, {"name": "https", "port": 443}],
            },
        },
    )
    path = f"/api/v1/namespaces/{namespace}/services/nginx-ingress"
    live = kube.request("GET", path)
    live["status"] = {"loadBalancer": {"ingress": [{"ip": ADDRESS}]}}
    kube.request("PUT", f"{path}/status", body=live)
    return f"{namespace}/nginx-ingress"


# Installed before the results page's first byte: when each row appeared, and whether the page was still loading.
WATCH_ROWS = """
window.__rows = [];
new MutationObserver(() => {
  const rows = document.querySelectorAll('#reapply-results tr.reapply-applied, #reapply-results tr.reapply-failed');
  if (rows.length > window.__rows.length) {
    window.__rows.push({count: rows.length, loading: document.readyState === 'loading',
                        summary: !!document.getElementById('reapply-summary')});
  }
}).observe(document, {childList: true, subtree: true});
"""


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_admin_gateway_pages_and_the_streamed_reapply_results(
    viewport, make_page, django_user_model, operator, environment, kube
):
    locale, width, height = VIEWPORTS[viewport]
    words = _words(locale)
    django_user_model.objects.create_superuser("root", password="pw")
    gateway = tenant_gateway(environment)
    gateway.service = _controller_service(kube, environment.namespace)
    gateway.extra_domains = "*.shop.example.com"
    gateway.save()
    TenantDomain.objects.create(cluster=environment.cluster, tenant=environment.project.tenant, domain="acme.com")
    for i in range(ROUTES):
        _route(environment, operator, f"r-{i:02}")

    p = make_page(locale, f"gateway-admin-{viewport}", width=width, height=height)
    page = p.page
    p.log_in("root", "pw", "/admin/login/")
    page.goto("/admin/gateways/gateway/")
    expect(page.locator("#content h1")).to_contain_text(re.compile(words["gateway"], re.IGNORECASE))
    headers = page.locator("#result_list thead th")
    for column in ("domains", "address", "routes"):
        expect(headers.filter(has_text=re.compile(re.escape(words[column]), re.IGNORECASE))).not_to_have_count(0)
    row = page.locator("#result_list tbody tr", has=page.locator(f"a[href$='/{gateway.pk}/change/']"))
    expect(row.locator("td.field-ingress_class")).to_have_text(gateway.ingress_class)
    expect(row.locator("td.field-domains")).to_have_text("*.acme.example.com, *.shop.example.com")
    # Until the watch cache holds the Service the list says what is configured; the change page reads the cluster.
    expect(row.locator("td.field-address_display")).to_contain_text(gateway.service)
    expect(row.locator("td.field-route_count")).to_have_text(str(ROUTES))
    # At phone width the table scrolls in its own box, its columns readable, not a few letters a line.
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the gateway list scrolls sideways by {overflow}px at {width}px"
    assert row.bounding_box()["height"] < 120, f"the gateway's row is squeezed: {row.bounding_box()}"
    p.shot("gateway-list")
    p.check_accessibility()

    page.goto(f"/admin/gateways/gateway/{gateway.pk}/change/")
    where = page.locator(".field-current_address")
    expect(where).to_contain_text(re.compile(re.escape(words["where"]), re.IGNORECASE))
    expect(where).to_contain_text(f"{ADDRESS} ({words['load balancer']})")
    p.shot("gateway-change")
    p.check_accessibility()
    # The admin adds a default annotation on the gateway's page.
    page.fill("#id_annotations-0-key", "nginx.org/proxy-read-timeout")
    page.fill("#id_annotations-0-value", "120s")
    page.click("input[name=_continue]")
    expect(page.locator("ul.messagelist li.success")).to_be_visible()
    assert gateway.annotation_dict() == {"nginx.org/proxy-read-timeout": "120s"}

    page.goto("/admin/gateways/tenantdomain/")
    expect(page.locator("#content h1")).to_be_visible()
    expect(page.locator("#result_list tbody")).to_contain_text("acme.com")
    expect(page.locator("#result_list tbody")).to_contain_text(environment.project.tenant.name)
    expect(page.locator("body")).to_contain_text(words["tenant domains"])
    p.shot("tenant-domains")
    p.check_accessibility()

    page.goto("/admin/gateways/gateway/")
    page.locator(f"#result_list input[name=_selected_action][value='{gateway.pk}']").check()
    expect(page.locator("select[name=action] option[value=reapply_routes]")).to_have_text(words["action"])
    page.select_option("select[name=action]", "reapply_routes")
    page.add_init_script(WATCH_ROWS)
    page.click("button[name=index]")
    summary = page.locator("#reapply-summary")
    expect(summary).to_have_text(words["summary"], timeout=60_000)
    expect(page.locator("#content")).to_contain_text(words["reapplying"])
    table = page.locator(f"#reapply-{gateway.pk}")
    expect(table.locator("caption")).to_have_text(words["gateway caption"])
    rows = table.locator("tbody tr.reapply-applied")
    expect(rows).to_have_count(ROUTES)
    expect(rows.first.locator("td").first).to_have_text(f"1/{ROUTES}")
    expect(rows.last.locator("td").first).to_have_text(f"{ROUTES}/{ROUTES}")
    expect(rows.last.locator("td").last).to_have_text(words["applied"])
    seen = page.evaluate("window.__rows")
    # Rows came while the page was still loading, before the totals, more than one batch of them.
    early = [s for s in seen if s["loading"] and not s["summary"] and s["count"] < ROUTES]
    assert early, f"the results came all at once, not one after another: {seen}"
    assert AuditEntry.objects.filter(action=AuditEntry.Action.GATEWAY_REAPPLY).count() == ROUTES
    p.shot("reapply-results")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the results page scrolls sideways by {overflow}px at {width}px"
    p.check_accessibility()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_admin_refuses_a_bad_default_annotation_on_its_row_and_warns_of_an_unknown_key(
    viewport, make_page, django_user_model, environment
):
    locale, width, height = VIEWPORTS[viewport]
    words = _words(locale)
    django_user_model.objects.create_superuser("root", password="pw")
    gateway = tenant_gateway(environment)
    GatewayAnnotation.objects.create(gateway=gateway, key="nginx.org/hsts", value="true")

    p = make_page(locale, f"gateway-defaults-{viewport}", width=width, height=height)
    page = p.page
    p.log_in("root", "pw", "/admin/login/")
    page.goto(f"/admin/gateways/gateway/{gateway.pk}/change/")
    page.fill("#id_annotations-1-key", "nginx.org/proxy-read-timeout")
    page.fill("#id_annotations-1-value", "banana")
    page.click("input[name=_continue]")
    row = page.locator("#annotations-1")
    expect(row.locator(".errorlist")).to_contain_text(words["not a time"])
    expect(page.locator("#id_annotations-1-value")).to_have_value("banana")
    assert gateway.annotation_dict() == {"nginx.org/hsts": "true"}
    p.shot("refused-default")
    p.check_accessibility()

    page.fill("#id_annotations-1-key", "nginx.org/proxy-read-timout")
    page.fill("#id_annotations-1-value", "120s")
    page.click("input[name=_continue]")
    expect(page.locator("ul.messagelist li.warning")).to_contain_text(words["kept as typed"])
    assert gateway.annotation_dict() == {"nginx.org/hsts": "true", "nginx.org/proxy-read-timout": "120s"}
    p.shot("unknown-key-warning")
    p.check_accessibility()


@pytest.fixture
def edge(gateway_api, environment, kube) -> Gateway:
    """A Gateway API gateway of the tenant, and its Gateway in the cluster (the save checks that it
    admits the environment's namespace)."""
    return gateway_api_gateway(environment, kube, extra_domains="")


def _preview_heading(p: Page) -> str:
    return p.page.locator("#preview h2").nth(2).inner_text()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_a_route_on_a_gateway_api_gateway_from_the_form_to_its_page(
    viewport, make_page, django_user_model, operator, environment, edge, kube
):
    locale, width, height = VIEWPORTS[viewport]
    words = _words(locale)
    operator.set_password("pw")
    operator.save()
    django_user_model.objects.create_superuser("root", password="pw")

    # The platform admin's view of the gateway.
    admin = make_page(locale, f"gateway-api-admin-{viewport}", width=width, height=height)
    admin.log_in("root", "pw", "/admin/login/")
    admin.page.goto(f"/admin/gateways/gateway/{edge.pk}/change/")
    expect(admin.page.locator("#id_kind option:checked")).to_have_text(words["gateway api kind"])
    expect(admin.page.locator("#id_gateway_name")).to_have_value(edge.gateway_name)
    expect(admin.page.locator("#id_https_listener")).to_have_value("https")
    admin.shot("gateway-api-gateway")
    admin.check_accessibility()

    p = make_page(locale, f"gateway-api-route-{viewport}", width=width, height=height)
    page = p.page
    p.log_in()
    page.goto(f"/workbench/environments/{environment.pk}/routes/-/new/")
    page.fill("#id_name", "shop")
    page.select_option("#id_gateway", label="edge (*.edge.example.com)")
    p.settled()
    page.fill("#id_host", "shop.edge.example.com")
    page.select_option("#id_paths-0-service", "web")
    expect(page.locator("select#id_paths-0-port")).to_have_count(1)
    page.select_option("#id_paths-0-port", "80")

    page.select_option("#id_protocol", "https")
    expect(page.locator("#secret-on-listener")).to_contain_text(words["on listener"])
    expect(page.locator("#id_tls_secret")).to_have_count(0)
    expect(page.locator("#preview")).to_contain_text(words["httproute preview"])
    expect(page.locator("#preview-yaml")).to_contain_text("sectionName: https")
    p.shot("form-https")
    _fits(p, f"the form at {width}px")
    p.check_accessibility()

    page.select_option("#id_protocol", "ws")
    expect(page.locator("#preview")).to_contain_text(words["no annotation"])
    expect(page.locator("#preview-yaml")).to_contain_text("sectionName: http\n")
    expect(page.locator("#preview-yaml")).not_to_contain_text("websocket")
    page.select_option("#id_protocol", "grpc")
    expect(page.locator("#preview")).to_contain_text(words["grpcroute preview"])
    expect(page.locator("#preview")).to_contain_text(words["no annotation"])
    p.shot("form-grpc")
    page.select_option("#id_protocol", "wss")
    expect(page.locator("#preview")).to_contain_text(words["httproute preview"])
    expect(page.locator("#secret-on-listener")).to_be_visible()
    p.settled()
    previewed = yaml.safe_load(page.inner_text("#preview-yaml"))
    assert previewed["kind"] == "HTTPRoute"
    p.shot("form-wss")

    page.click("button.btn-primary[value=save]")
    expect(page).to_have_url(re.compile(r"/routes/shop/$"))
    expect(page.locator("main")).to_contain_text(words["saved"])
    live = kube.get_gateway_route("HTTPRoute", environment.namespace, "shop")
    assert live["spec"]["parentRefs"][0]["sectionName"] == "https"
    assert live["spec"]["hostnames"] == ["shop.edge.example.com"]
    # The certificate is the listener's, and the gateway is the Gateway routes attach to, not an ingress class.
    expect(page.locator("#tls-secret")).to_have_text(words["listener certificate"])
    expect(page.locator("#route-gateway")).to_have_text(f"edge ({words['the gateway']} platform/{edge.gateway_name})")
    expect(page.locator("button[data-copy-target='#ingress-yaml'] .visually-hidden")).to_have_text(
        " " + words["copy yaml"]
    )
    expect(page.locator("main")).to_contain_text(words["in sync"])
    expect(page.locator("main")).to_contain_text(words["from the cluster"])
    expect(page.locator("#ingress-yaml")).to_contain_text("kind: HTTPRoute")
    p.shot("detail")
    _fits(p, f"the route's page at {width}px")
    p.check_accessibility()

    page.goto(f"/workbench/environments/{environment.pk}/routes/")
    row = page.locator("main tbody tr", has=page.locator("a[href$='/shop/']"))
    expect(row.locator(".route-gateway")).to_have_text("edge")
    expect(row.locator(".route-state")).to_contain_text(words["in sync"])
    # A wss route's URL is the one a browser opens.
    expect(row.locator(".route-urls")).to_contain_text("https://shop.edge.example.com/")
    p.shot("list")
    _fits(p, f"the route list at {width}px")
    p.check_accessibility()
