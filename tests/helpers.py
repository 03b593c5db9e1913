from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

from django.urls import reverse

from kubegems_routes.controlplane.objects import ensure_namespace
from kubegems_routes.gateways.models import Gateway
from kubegems_routes.kube.errors import NotFound
from kubegems_routes.routes import manifest
from kubegems_routes.routes.models import Route
from kubegems_routes.tenancy.models import Environment


def route_data(gateway: Gateway | int | str, **overrides: str) -> dict[str, str]:
    """A create-form POST as the browser sends it, one path row, one annotation row."""
    data = {
        "name": "shop",
        "gateway": str(getattr(gateway, "pk", gateway)),
        "host": "shop.acme.example.com",
        "protocol": "http",
        "tls_secret": "",
        "paths-TOTAL_FORMS": "1",
        "paths-INITIAL_FORMS": "0",
        "paths-MIN_NUM_FORMS": "1",
        "paths-MAX_NUM_FORMS": "50",
        "paths-0-path": "/",
        "paths-0-path_type": "Prefix",
        "paths-0-service": "web",
        "paths-0-port": "80",
        "annotations-TOTAL_FORMS": "1",
        "annotations-INITIAL_FORMS": "0",
        "annotations-MIN_NUM_FORMS": "0",
        "annotations-MAX_NUM_FORMS": "100",
        "annotations-0-key": "",
        "annotations-0-value": "",
        "_action": "save",
    }
    data.update(overrides)
    return data


def create_url(environment: Environment) -> str:
    return reverse("routes:create", args=[environment.pk])


def action_url(environment: Environment, action: str, route: str = "") -> str:
    """Where the form posts a row action or asks for a live fragment (preview, secret, port...)."""
    if route:
        return reverse("routes:edit-action", args=[environment.pk, route, action])
    return reverse("routes:create-action", args=[environment.pk, action])


def create_route(client, environment: Environment, gateway: Gateway | None = None, **overrides: str) -> Route:
    """Create a route through the form, as a user does (on the tenant's gateway unless another is given);
    fails the test with the page if it was not saved."""
    response = client.post(create_url(environment), route_data(gateway or tenant_gateway(environment), **overrides))
    assert response.status_code == 302, response.content.decode()[:1500]
    return Route.objects.get(environment=environment, name=overrides.get("name", "shop"))


def tenant_gateway(environment: Environment) -> Gateway:
    return Gateway.objects.get(cluster=environment.cluster, tenant=environment.project.tenant)


def default_gateway(environment: Environment) -> Gateway:
    return Gateway.objects.get(cluster=environment.cluster, tenant=None)


def ingress(namespace: str, **overrides: object) -> dict:
    """An Ingress manifest built by the project's own builder, for creating objects directly."""
    values: dict = {
        "name": "shop",
        "namespace": namespace,
        "host": "x.example.com",
        "protocol": "http",
        "ingress_class": "other",
        "backends": (manifest.Backend(path="/", service="web", port="80"),),
    }
    values.update(overrides)
    return manifest.build_ingress(manifest.RouteSpec(**values))


def gateway_listener(name: str = "http", protocol: str = "HTTP", **allowed_routes: object) -> dict:
    """A Gateway listener: HTTP on 80, or HTTPS on 443 terminating with a certificate Secret."""
    body: dict = {"name": name, "protocol": protocol, "port": 443 if protocol == "HTTPS" else 80}
    if protocol == "HTTPS":
        body["tls"] = {"mode": "Terminate", "certificateRefs": [{"name": "gateway-cert"}]}
    if allowed_routes:
        body["allowedRoutes"] = allowed_routes
    return body


def gateway_manifest(namespace: str, name: str, *listeners: dict) -> dict:
    """A Gateway API Gateway; by default listeners http and https admitting routes from every namespace."""
    everyone = {"namespaces": {"from": "All"}}
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"namespace": namespace, "name": name},
        "spec": {
            "gatewayClassName": "nginx",
            "listeners": list(listeners)
            or [gateway_listener("http", **everyone), gateway_listener("https", "HTTPS", **everyone)],
        },
    }


def put_gateway(kube, body: dict) -> dict:
    """Create the Gateway (and its namespace)."""
    namespace = body["metadata"]["namespace"]
    ensure_namespace(kube, namespace)
    return kube.create(f"/apis/gateway.networking.k8s.io/v1/namespaces/{namespace}/gateways", body)


def until(condition: Callable[[], bool], timeout: float = 5) -> None:
    """Wait for the API server's watch cache to show a write (the console reads some lists from it)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the watch cache did not catch up within the timeout")
        time.sleep(0.01)


def synced(cluster, timeout: float = 20):
    """The cluster's cache, once it has listed and is watching."""
    cache = cluster.cache()
    assert cache is not None and cache.wait_synced(timeout), "the cluster cache did not sync"
    return cache


class FreezableProxy:
    """A TCP relay to the API server whose open connections can be frozen: bytes stop, sockets stay open.

    A frozen watch looks exactly like a stalled one (a network path that
    silently drops traffic); connections opened afterwards flow normally.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._connections: list[tuple[socket.socket, socket.socket, threading.Event]] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                downstream, _addr = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            frozen = threading.Event()
            with self._lock:
                self._connections.append((downstream, upstream, frozen))
            for src, dst in ((downstream, upstream), (upstream, downstream)):
                threading.Thread(target=self._pump, args=(src, dst, frozen), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, frozen: threading.Event) -> None:
        try:
            while True:
                data = src.recv(65536)
                while frozen.is_set() and not self._closed:
                    time.sleep(0.05)  # hold the bytes: the other side sees silence
                if not data or self._closed:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def freeze_open_connections(self) -> None:
        with self._lock:
            for _down, _up, frozen in self._connections:
                frozen.set()

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        with self._lock:
            for down, up, _frozen in self._connections:
                down.close()
                up.close()


def gateway_api_gateway(environment: Environment, kube, name: str = "edge", **fields: object) -> Gateway:
    """A Gateway API gateway of the environment's tenant, attached to a Gateway of its own for this test's
    namespace (routes of earlier tests stay in the shared cluster and would own the hosts), which is
    created in the cluster (listeners http and https admitting every namespace)."""
    values: dict = {
        "cluster": environment.cluster,
        "tenant": environment.project.tenant,
        "name": name,
        "kind": Gateway.Kind.GATEWAY_API,
        "gateway_namespace": "platform",
        "gateway_name": f"{name}-{environment.namespace}",
        "http_listener": "http",
        "https_listener": "https",
        "default_domain": "*.edge.example.com",
        "extra_domains": "*.acme.example.com",
    }
    values.update(fields)
    put_gateway(kube, gateway_manifest(str(values["gateway_namespace"]), str(values["gateway_name"])))
    return Gateway.objects.create(**values)


def deny_ingress_operation(kube, policy: str, operation: str, expression: str, message: str) -> str:
    """A ValidatingAdmissionPolicy (and its binding) of the API server that denies ``operation`` (e.g.
    UPDATE, DELETE) of an Ingress unless the CEL ``expression`` holds; a real refusal for fault tests.
    It takes effect a moment later: callers wait for a probe to be refused."""
    import kubernetes.client as k8s

    api = k8s.AdmissionregistrationV1Api(kube._api)
    rule = {"apiGroups": ["networking.k8s.io"], "apiVersions": ["v1"], "operations": [operation]}
    api.create_validating_admission_policy(
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": policy},
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {"resourceRules": [{**rule, "resources": ["ingresses"]}]},
                "validations": [{"expression": expression, "message": message}],
            },
        }
    )
    api.create_validating_admission_policy_binding(
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": policy},
            "spec": {"policyName": policy, "validationActions": ["Deny"]},
        }
    )
    return policy


def put_endpoint_slice(
    kube,
    namespace: str,
    service: str,
    *,
    ready: int = 0,
    not_ready: int = 0,
    ports: tuple[tuple[str, int], ...] = (("http", 80),),
    name: str = "",
    subnet: str = "10.1.0",
) -> None:
    """An EndpointSlice of ``service`` as the EndpointSlice controller writes it (none runs here): labelled
    with the Service's name, one endpoint per Pod with its ready condition, the Service's port names with
    their target ports. Replaces the slice of that name."""
    name = name or f"{service}-abcde"
    path = f"/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices"
    body = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/service-name": service,
                "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
            },
        },
        "addressType": "IPv4",
        "endpoints": [
            {
                "addresses": [f"{subnet}.{i + 1}"],
                "conditions": {"ready": i < ready, "serving": i < ready, "terminating": False},
                "targetRef": {"kind": "Pod", "namespace": namespace, "name": f"{service}-{i}"},
            }
            for i in range(ready + not_ready)
        ],
        "ports": [{"name": port_name, "port": port, "protocol": "TCP"} for port_name, port in ports],
    }
    try:
        current = kube.request("GET", f"{path}/{name}")
    except NotFound:
        kube.create(path, body)
        return
    body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
    kube.request("PUT", f"{path}/{name}", body=body)
