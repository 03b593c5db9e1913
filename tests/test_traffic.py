"""Routes saved through the console's form carry real requests through the NGINX Ingress Controller.

Every route here is created (or edited, or deleted) with the form's POST, as a
browser sends it; the test then waits for the controller's Event on the
Ingress (it records one once nginx is reloaded) and sends real traffic to nginx
inside the data plane's network namespace: HTTP, HTTPS with a test CA,
WebSocket over ws and wss, and a gRPC health Check over TLS.
"""

from __future__ import annotations

import base64
import re
import subprocess
import uuid
from dataclasses import dataclass
from html import unescape

import grpc
import pytest
import urllib3
from django.test import Client
from django.urls import reverse
from websockets.exceptions import InvalidStatus

from kubegems_routes.dataplane.server import CONTROLLER_NAMESPACE, DataPlane
from kubegems_routes.demo.dataplane import start_demo_data_plane, stop_demo_data_plane
from kubegems_routes.gateways.models import Gateway
from kubegems_routes.kube.client import KubeClient
from kubegems_routes.kube.errors import NotFound
from kubegems_routes.lib.protocols import needs_tls
from kubegems_routes.routes.manifest import Backend
from kubegems_routes.routes.models import AuditEntry, Route
from kubegems_routes.tenancy.models import Cluster, Environment, Project, Tenant, TenantMember
from tests.helpers import create_url, ingress, route_data
from tests.traffic import Events, TrafficCA, alpn, eventually, grpc_health, http_get, https_get, ws_echo

pytestmark = pytest.mark.django_db

DOMAIN = "traffic.example.com"
TLS_SECRET = "traffic-tls"


@pytest.fixture(scope="session")
def traffic_ca(tmp_path_factory) -> TrafficCA:
    return TrafficCA.create(f"*.{DOMAIN}", tmp_path_factory.mktemp("traffic-ca"))


@dataclass
class Console:
    """A tenant operator in the console, an environment whose gateway is the data plane's ingress class."""

    client: Client
    environment: Environment
    gateway: Gateway
    kube: KubeClient
    plane: DataPlane
    ca: TrafficCA

    @property
    def namespace(self) -> str:
        return self.environment.namespace

    @property
    def address(self) -> str:
        return self.plane.address

    def form(self, name: str, host: str, protocol: str, paths: list[tuple[str, str, str]], **extra: str) -> dict:
        data = route_data(
            self.gateway,
            name=name,
            host=host,
            protocol=protocol,
            **{"tls_secret": TLS_SECRET if protocol in ("https", "wss", "grpc") else "", **extra},
        )
        data["paths-TOTAL_FORMS"] = str(len(paths))
        for i, (path, service, port) in enumerate(paths):
            data.update(
                {
                    f"paths-{i}-path": path,
                    f"paths-{i}-path_type": "Prefix",
                    f"paths-{i}-service": service,
                    f"paths-{i}-port": port,
                }
            )
        return data

    def create(self, protocol: str, paths: list[tuple[str, str, str]], name: str = "") -> tuple[str, str]:
        """POST the create form; wait for the controller to accept the Ingress. (name, host)."""
        name, host, events = self.post_create(protocol, paths, name)
        self.accepted(events)
        return name, host

    def post_create(
        self, protocol: str, paths: list[tuple[str, str, str]], name: str = "", **extra: str
    ) -> tuple[str, str, Events]:
        """POST the create form; the Events to wait on for the controller's word."""
        name = name or f"r-{uuid.uuid4().hex[:8]}"
        host = f"{uuid.uuid4().hex[:10]}.{DOMAIN}"
        events = Events(self.kube, self.namespace, name)
        response = self.client.post(create_url(self.environment), self.form(name, host, protocol, paths, **extra))
        assert response.status_code == 302, response.content.decode()[:3000]
        return name, host, events

    def gateway_status(self, name: str) -> tuple[str, str]:
        """What the detail page and the list page say the gateway made of the route."""
        detail = self.client.get(reverse("routes:detail", args=[self.environment.pk, name])).content.decode()
        listing = self.client.get(reverse("routes:list", args=[self.environment.pk])).content.decode()
        badge = re.search(r'id="gateway-status">(.*?)</div>\s*<dl', detail, re.S)
        row = re.search(rf'<tr>\s*<td[^>]*><a[^>]*href="[^"]*/{re.escape(name)}/">.*?</tr>', listing, re.S)
        assert badge and row, "the gateway status is missing from the detail or the list page"
        return _text(badge.group(1)), _text(row.group(0))

    def edit(self, name: str, host: str, protocol: str, paths: list[tuple[str, str, str]]) -> None:
        url = reverse("routes:edit", args=[self.environment.pk, name])
        page = self.client.get(url)
        version = page.context["form"]["resource_version"].value()
        events = Events(self.kube, self.namespace, name)
        events.mark()
        response = self.client.post(url, self.form(name, host, protocol, paths, resource_version=version))
        assert response.status_code == 302, response.content.decode()[:3000]
        self.accepted(events)

    def delete(self, name: str) -> None:
        response = self.client.post(reverse("routes:delete", args=[self.environment.pk, name]))
        assert response.status_code == 302
        with pytest.raises(NotFound):
            self.kube.get_ingress(self.namespace, name)

    @staticmethod
    def accepted(events: Events) -> None:
        event = events.wait()
        # The TLS Secret was created moments before; the controller's informer may
        # not have it yet. It then re-applies the Ingress once it does (about 1 s).
        while event["reason"] == "AddedOrUpdatedWithWarning" and "secret doesn't exist" in event["message"]:
            event = events.wait()
        assert (event["type"], event["reason"]) == ("Normal", "AddedOrUpdated"), event


@pytest.fixture
def console(
    data_plane: DataPlane,
    cluster: Cluster,
    tenant: Tenant,
    namespace: str,
    kube: KubeClient,
    traffic_ca: TrafficCA,
    client: Client,
    django_user_model,
) -> Console:
    project = Project.objects.create(tenant=tenant, name="shop")
    environment = Environment.objects.create(project=project, cluster=cluster, name="dev", namespace=namespace)
    gateway = Gateway.objects.create(
        cluster=cluster,
        tenant=tenant,
        name="edge",
        ingress_class=data_plane.ingress_class,
        default_domain=f"*.{DOMAIN}",
        http2=data_plane.http2,
    )
    data_plane.publish_backends(namespace)  # Services web, api (HTTP), echo (WebSocket), grpc
    _tls_secret(kube, namespace, TLS_SECRET, traffic_ca)
    user = django_user_model.objects.create_user("olivia", password="pw")
    TenantMember.objects.create(tenant=tenant, user=user, role=TenantMember.Role.ADMIN)
    client.force_login(user)
    return Console(client, environment, gateway, kube, data_plane, traffic_ca)


WEB = [("/", "web", "80")]


def test_http_route_answers_a_get(console: Console):
    _name, host = console.create("http", WEB)
    answer = eventually(lambda: _ok(http_get(console.address, host, "/hello")))
    assert answer.body == "web GET /hello\n"


def test_https_route_answers_with_the_test_ca_and_http_redirects(console: Console):
    _name, host = console.create("https", WEB)
    answer = eventually(lambda: _ok(https_get(console.address, host, console.ca, "/secure")))
    assert answer.body == "web GET /secure\n"
    redirect = http_get(console.address, host, "/secure")
    assert redirect.status == 301


def test_ws_route_echoes_over_websocket(console: Console):
    _name, host = console.create("ws", [("/", "echo", "80")])
    assert eventually(lambda: ws_echo(console.address, host, "ping over ws")) == "ping over ws"


def test_wss_route_echoes_over_websocket_with_tls(console: Console):
    _name, host = console.create("wss", [("/", "echo", "80")])
    echo = eventually(lambda: ws_echo(console.address, host, "ping over wss", ca=console.ca))
    assert echo == "ping over wss"


def test_grpc_route_answers_the_health_check_over_tls(console: Console):
    _name, host = console.create("grpc", [("/", "grpc", "50051")])
    assert eventually(lambda: grpc_health(console.address, host, console.ca)) == "SERVING"


def test_edit_from_http_to_wss_makes_the_websocket_work(console: Console):
    name, host = console.create("http", [("/", "echo", "80")])
    # Without the websocket annotation nginx does not upgrade: the backend answers 426.
    refused = eventually(lambda: _status(http_get(console.address, host), 426))
    assert refused.status == 426
    with pytest.raises(InvalidStatus):
        ws_echo(console.address, host, "too early")
    console.edit(name, host, "wss", [("/", "echo", "80")])
    assert eventually(lambda: ws_echo(console.address, host, "now", ca=console.ca)) == "now"


def test_two_services_on_two_paths_each_serve_their_path(console: Console):
    _name, host = console.create("http", [("/", "web", "80"), ("/api", "api", "80")])
    assert eventually(lambda: _ok(http_get(console.address, host, "/api/users"))).body == "api GET /api/users\n"
    assert http_get(console.address, host, "/shop").body == "web GET /shop\n"


def test_deleted_route_stops_answering(console: Console):
    name, host = console.create("http", WEB)
    eventually(lambda: _ok(http_get(console.address, host)))
    console.delete(name)
    assert not Route.objects.filter(name=name).exists()
    gone = eventually(lambda: _status(http_get(console.address, host), 404), timeout=3)
    assert gone.status == 404  # nginx's default server: no route for the host any more


def test_path_added_by_edit_answers(console: Console):
    name, host = console.create("http", [("/shop", "web", "80")])
    eventually(lambda: _ok(http_get(console.address, host, "/shop")))
    assert http_get(console.address, host, "/api").status == 404
    console.edit(name, host, "http", [("/shop", "web", "80"), ("/api", "api", "80")])
    assert eventually(lambda: _ok(http_get(console.address, host, "/api"))).body == "api GET /api\n"
    assert http_get(console.address, host, "/shop").body == "web GET /shop\n"


def test_gateway_without_http2_refuses_grpc_which_the_controller_would_drop(console: Console):
    """The controller runs with the gateway's http2 flag; off, the form refuses gRPC.

    The same Ingress written past the console shows why: the controller reports
    it AddedOrUpdated (Normal) and yet drops the grpc annotation, so no gRPC
    call gets through.
    """
    plane = console.plane
    configmap = Events(console.kube, CONTROLLER_NAMESPACE, plane.configmap, kind="ConfigMap")
    configmap.mark()
    plane.set_http2(False)
    try:
        configmap.wait()
        console.gateway.http2 = False
        console.gateway.save()
        host = f"nohttp2.{DOMAIN}"
        data = console.form("no-h2", host, "grpc", [("/", "grpc", "50051")])
        response = console.client.post(create_url(console.environment), data)
        assert response.status_code == 200
        assert "HTTP/2" in " ".join(response.context["form"].errors["protocol"])
        with pytest.raises(NotFound):
            console.kube.get_ingress(console.namespace, "no-h2")

        events = Events(console.kube, console.namespace, "direct")
        manifest = ingress(
            console.namespace,
            name="direct",
            host=host,
            protocol="grpc",
            tls_secret=TLS_SECRET,
            ingress_class=plane.ingress_class,
            backends=(Backend(path="/", service="grpc", port="50051"),),
        )
        console.kube.create_ingress(console.namespace, manifest)
        console.accepted(events)
        # TLS is served for the host, but without HTTP/2 on offer gRPC cannot get through.
        assert eventually(lambda: alpn(console.address, host, console.ca, ["h2", "http/1.1"])) == "http/1.1"
        with pytest.raises(grpc.RpcError) as failed:
            grpc_health(console.address, host, console.ca)
        assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        configmap.mark()
        plane.set_http2(True)
        configmap.wait()


def _ok(answer):
    assert answer.status == 200, answer
    return answer


def _status(answer, status):
    assert answer.status == status, answer
    return answer


def test_console_shows_a_route_the_controller_accepted_as_serving(console: Console):
    name, _host = console.create("http", WEB)
    detail, row = console.gateway_status(name)
    assert detail == "serving" and "serving" in row


def test_missing_tls_secret_shows_warnings_with_the_message_until_the_secret_exists(console: Console):
    """The cert-manager case: the route names a Secret that does not exist yet."""
    name, host, events = console.post_create("https", WEB, tls_secret="later-tls")
    event = events.wait()
    assert event["reason"] == "AddedOrUpdatedWithWarning"
    detail, row = console.gateway_status(name)
    assert detail.startswith("applied with warnings") and "later-tls" in detail and "doesn't exist" in detail
    assert "applied with warnings" in row and "later-tls" in row
    with pytest.raises(urllib3.exceptions.SSLError, match="unrecognized name"):  # no certificate for the host
        https_get(console.address, host, console.ca)

    _tls_secret(console.kube, console.namespace, "later-tls", console.ca)
    console.accepted(events)
    assert console.gateway_status(name)[0] == "serving"
    assert eventually(lambda: _ok(https_get(console.address, host, console.ca))).body == "web GET /\n"


def test_annotation_the_controller_refuses_shows_rejected_with_its_message(console: Console):
    bad = {"annotations-0-key": "nginx.org/max-fails", "annotations-0-value": "lots"}
    refused = console.client.post(
        create_url(console.environment), console.form("bad", "bad." + DOMAIN, "http", WEB, **bad)
    )
    assert refused.status_code == 200  # the form refuses what the controller would (annotation_values)
    assert refused.context["editor"].annotations.forms[0].errors["value"]
    # Set past the console (kubectl edit), the controller rejects the whole Ingress.
    name, host = console.create("http", WEB)
    events = Events(console.kube, console.namespace, name)
    events.mark()
    stored = console.kube.get_ingress(console.namespace, name)
    stored["metadata"].setdefault("annotations", {})["nginx.org/max-fails"] = "lots"
    console.kube.replace_ingress(console.namespace, name, stored)
    event = events.wait()
    assert (event["type"], event["reason"]) == ("Warning", "Rejected")
    detail, row = console.gateway_status(name)
    assert detail.startswith("rejected by the gateway") and "nginx.org/max-fails" in detail
    assert "rejected by the gateway" in row
    gone = eventually(lambda: _status(http_get(console.address, host), 404), timeout=3)
    assert gone.status == 404  # nginx no longer serves it


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split()).removeprefix("Gateway status: ")


def _tls_secret(kube: KubeClient, namespace: str, name: str, ca: TrafficCA) -> None:
    kube.create(
        f"/api/v1/namespaces/{namespace}/secrets",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name},
            "type": "kubernetes.io/tls",
            "data": {
                "tls.crt": base64.b64encode(ca.cert_pem).decode(),
                "tls.key": base64.b64encode(ca.key_pem).decode(),
            },
        },
    )


def test_demo_data_plane_serves_the_demo_services_and_the_printed_commands_work(
    control_plane, operator_client, environment
):
    """What `make run` does as root: the tenant gateway answers; each detail page prints working commands."""
    gateway = Gateway.objects.get(cluster=environment.cluster, tenant=environment.project.tenant, name="public")
    plane = start_demo_data_plane(control_plane, gateway, environment.namespace)
    kube = plane.kube
    try:
        cases = [
            ("web-http", "http", "web", "80"),
            ("web-https", "https", "web", "80"),
            ("api-ws", "ws", "api", "8080"),
            ("api-wss", "wss", "api", "8080"),
            ("api-grpc", "grpc", "api", "50051"),
        ]
        for name, protocol, service, port in cases:
            host = f"{name}.acme.example.com"  # the tenant gateway's domain
            events = Events(kube, environment.namespace, name)
            data = route_data(
                gateway,
                name=name,
                host=host,
                protocol=protocol,
                tls_secret="demo-tls" if needs_tls(protocol) else "",
                **{"paths-0-service": service, "paths-0-port": port},
            )
            assert operator_client.post(create_url(environment), data).status_code == 302
            Console.accepted(events)
            page = operator_client.get(reverse("routes:detail", args=[environment.pk, name])).content.decode()
            block = re.search(r'id="try-commands"><code>(.*?)</code>', page, re.S)
            assert block, f"no command printed for {protocol}"
            commands = unescape(block.group(1)).strip().splitlines()
            assert len(commands) == 1 and plane.address in commands[0]
            # What the page says success looks like is what the command, pasted as printed, shows.
            success = re.search(r'id="try-success">.*?<code>(.*?)</code>', page, re.S)
            assert success, f"no success line for {protocol}"
            shown = unescape(success.group(1))
            output = eventually(lambda c=commands[0], e=shown: _runs(c, e))
            first = output.splitlines()[0]
            if protocol in ("http", "https"):
                assert re.match(r"HTTP/(1\.1|2) 200", first), output
            elif protocol in ("ws", "wss"):
                assert first.startswith("HTTP/1.1 101 Switching Protocols"), output
            else:
                assert output.strip() == "SERVING", output
    finally:
        stop_demo_data_plane(plane, gateway)


def _runs(command: str, expect: str) -> str:
    """Run a printed command as a user would paste it into a shell (its standard output)."""
    done = subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True, timeout=10)
    assert expect in done.stdout, (command, done.returncode, done.stdout, done.stderr)
    return done.stdout


# -- the Test button: the console itself sends a request through the route's gateway ----------------


def _press_test(console: Console, name: str):
    """Press the route's Test button (without JavaScript: the page's context has the outcome); what it found."""
    response = console.client.post(reverse("routes:test", args=[console.environment.pk, name]))
    assert response.status_code == 200, response.content.decode()[:2000]
    return response.context["tested"]


@pytest.fixture
def addressed(console: Console, settings) -> Console:
    """The console's gateway with its address set by an admin: where the data plane's nginx answers."""
    settings.ROUTE_TESTS_PER_MINUTE = 1000  # these tests press the button until the controller has reloaded
    console.gateway.address = console.address
    console.gateway.save()
    return console


@pytest.mark.parametrize(
    ("protocol", "paths", "status", "version", "health"),
    [
        ("http", WEB, 200, "HTTP/1.1", ""),
        ("https", WEB, 200, "HTTP/1.1", ""),
        ("ws", [("/", "echo", "80")], 101, "HTTP/1.1", ""),
        ("wss", [("/", "echo", "80")], 101, "HTTP/1.1", ""),
        ("grpc", [("/", "grpc", "50051")], 200, "HTTP/2", "SERVING"),
    ],
)
def test_the_test_button_proves_each_protocol_through_nginx(
    addressed: Console, protocol, paths, status, version, health
):
    name, host = addressed.create(protocol, paths)
    tested = eventually(lambda: _served(_press_test(addressed, name)))
    found = tested.probe
    assert (found.status, found.http_version, found.grpc_health) == (status, version, health)
    assert found.target == f"{addressed.address}:{443 if protocol in ('https', 'wss', 'grpc') else 80}"
    assert found.first_byte_ms is not None and found.first_byte_ms >= 0
    if protocol in ("https", "wss", "grpc"):
        assert found.certificate.names == (f"*.{DOMAIN}",) and found.certificate.covers(host)
        # The test CA's certificate lives two days: the console warns of it, and of nothing else.
        assert [w for w in found.warnings if "expires" not in w] == [] and len(found.warnings) == 1
    else:
        assert found.certificate is None
    assert AuditEntry.objects.filter(route_name=name, action=AuditEntry.Action.TEST).exists()


def test_the_test_button_warns_of_a_certificate_that_does_not_name_the_host(addressed: Console, tmp_path):
    other = TrafficCA.create("*.other.example.com", tmp_path)
    _tls_secret(addressed.kube, addressed.namespace, "other-tls", other)
    name, _host, events = addressed.post_create("https", WEB, tls_secret="other-tls")
    addressed.accepted(events)
    found = eventually(lambda: _served(_press_test(addressed, name))).probe
    assert found.status == 200
    assert found.certificate.names == ("*.other.example.com",)
    assert any("does not name" in w for w in found.warnings), found.warnings


def test_the_test_button_shows_a_backend_that_is_down_with_the_controllers_word(addressed: Console):
    addressed.kube.create(
        f"/api/v1/namespaces/{addressed.namespace}/services",
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "down"},
            "spec": {"ports": [{"name": "main", "port": 80, "targetPort": 8999, "protocol": "TCP"}]},
        },
    )  # no EndpointSlice: nothing serves it
    name, _host = addressed.create("http", [("/", "down", "80")])
    tested = eventually(lambda: _failed_with(_press_test(addressed, name), {502, 503}))
    assert tested.probe.failed == "http"
    assert tested.gateway is not None and tested.gateway.reason == "AddedOrUpdated"
    assert "backend" in tested.hint
    page = addressed.client.post(reverse("routes:test", args=[addressed.environment.pk, name])).content.decode()
    word = re.search(r'id="probe-gateway">(.*?)</dd>', page, re.S)
    assert word and "serving" in _text(word.group(1))  # the controller's word beside the failure
    assert f"<code>{tested.probe.status}</code>" in page


def _served(tested):
    assert tested.probe is not None and tested.probe.ok, (tested.probe, tested.refusal)
    return tested


def _failed_with(tested, statuses: set[int]):
    assert tested.probe is not None and tested.probe.status in statuses, tested.probe
    return tested
