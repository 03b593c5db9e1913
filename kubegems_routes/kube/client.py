"""Typed access to one Kubernetes cluster; the only module that imports ``kubernetes``.

The official client handles kubeconfig loading, TLS, client certificates and
token refresh. Requests go through its ApiClient with plain JSON bodies rather
than its generated model methods: those validate the body client-side, which
would hide the API server's own 422 causes (the final word on what is valid)
and cost a model build per object on large lists.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from kubegems_routes.kube.errors import (
    AlreadyExists,
    Cause,
    Conflict,
    Forbidden,
    Invalid,
    KubeError,
    NotFound,
    Unreachable,
)
from kubegems_routes.kube.silence import Silences

Manifest = dict[str, Any]

INGRESS_CONTROLLER = "nginx.org/ingress-controller"
# Answers 429 (Too Many Requests) are tried again this many times in all, this far apart (seconds).
TOO_MANY_REQUESTS_TRIES = 4
TOO_MANY_REQUESTS_PAUSE = 0.25
# Read from the API server's watch cache instead of a consistent read.
CACHED = {"resourceVersion": "0"}

# Every cluster call, (method, path), at DEBUG: an operator who sets this logger to DEBUG sees each
# request the console makes (never a body: those hold manifests and credentials). Tests count a
# page's calls with it (tests/kube_calls.py).
calls_log = logging.getLogger("kubegems_routes.kube.calls")


@dataclass(frozen=True)
class ServicePort:
    name: str
    port: int
    protocol: str

    @property
    def label(self) -> str:
        return f"{self.name} ({self.port}/{self.protocol})" if self.name else f"{self.port}/{self.protocol}"


@dataclass(frozen=True)
class SecretMeta:
    """What the console knows of a TLS Secret: its name and, where cert-manager wrote them, the names it
    covers and the Certificate it was issued for."""

    name: str
    alt_names: tuple[str, ...] | None = None  # cert-manager.io/alt-names; None when not said
    certificate: str = ""  # cert-manager.io/certificate-name; empty when cert-manager did not write it

    @classmethod
    def of(cls, metadata: Manifest) -> SecretMeta:
        annotations = metadata.get("annotations") or {}
        said = annotations.get("cert-manager.io/alt-names")
        names = tuple(n.strip().lower() for n in said.split(",") if n.strip()) if said is not None else None
        return cls(str(metadata.get("name", "")), names, str(annotations.get("cert-manager.io/certificate-name", "")))


@dataclass(frozen=True)
class Exposure:
    """How a Service is reached from outside: its type, the load balancer's addresses, its node ports."""

    type: str
    load_balancer: tuple[str, ...] = ()  # IPs or DNS names from status.loadBalancer.ingress
    ports: tuple[tuple[int, int], ...] = ()  # (port, nodePort) pairs; nodePort 0 when none

    def node_port(self, port: int) -> int:
        return next((node for p, node in self.ports if p == port and node), 0)


def load_balancer_addresses(status: Manifest | None) -> tuple[str, ...]:
    """The addresses in a Service's or Ingress's status.loadBalancer.ingress."""
    found = ((status or {}).get("loadBalancer") or {}).get("ingress") or []
    return tuple(str(i.get("ip") or i.get("hostname")) for i in found if i.get("ip") or i.get("hostname"))


_CLUSTER_IP = Exposure("ClusterIP")


def exposure_of(service: Manifest) -> Exposure:
    """How a Service manifest is reached from outside (one shared value for the common ClusterIP case)."""
    spec = service.get("spec") or {}
    exposure = Exposure(
        type=sys.intern(str(spec.get("type") or "ClusterIP")),
        load_balancer=load_balancer_addresses(service.get("status")),
        ports=tuple((int(p.get("port", 0)), int(p.get("nodePort") or 0)) for p in spec.get("ports") or []),
    )
    if exposure.type == "ClusterIP" and not exposure.load_balancer:
        return _CLUSTER_IP
    return exposure


@dataclass(frozen=True)
class Service:
    name: str
    ports: tuple[ServicePort, ...]
    exposure: Exposure = _CLUSTER_IP


def slim_service(obj: Manifest) -> Service:
    ports = tuple(
        ServicePort(name=p.get("name", ""), port=int(p["port"]), protocol=p.get("protocol", "TCP"))
        for p in obj.get("spec", {}).get("ports", [])
    )
    return Service(name=obj["metadata"]["name"], ports=ports, exposure=exposure_of(obj))


SERVICE_NAME_LABEL = "kubernetes.io/service-name"


def endpoint_slices_path(namespace: str) -> str:
    return f"/apis/discovery.k8s.io/v1/namespaces/{_q(namespace)}/endpointslices"


@dataclass(frozen=True, slots=True)
class EndpointSlice:
    """What the console needs of an EndpointSlice: its Service, its ports and whether each endpoint is ready.

    ``ports`` holds (name, protocol) pairs: a slice's port name is its Service port's name ("" for the
    one unnamed port); empty means every port of the Service. ``endpoints`` holds (first address, ready);
    a ready condition the controller did not set counts as ready, as Kubernetes says it should.
    """

    namespace: str
    name: str
    service: str
    ports: tuple[tuple[str, str], ...]
    endpoints: tuple[tuple[str, bool], ...]


def slim_endpoint_slice(obj: Manifest) -> EndpointSlice:
    meta = obj.get("metadata") or {}
    endpoints = []
    for endpoint in obj.get("endpoints") or []:
        addresses = endpoint.get("addresses") or [""]
        ready = (endpoint.get("conditions") or {}).get("ready")
        endpoints.append((str(addresses[0]), ready is None or bool(ready)))
    return EndpointSlice(
        namespace=sys.intern(str(meta.get("namespace", ""))),
        name=str(meta.get("name", "")),
        service=sys.intern(str((meta.get("labels") or {}).get(SERVICE_NAME_LABEL, ""))),
        ports=tuple(
            (sys.intern(str(p.get("name") or "")), sys.intern(str(p.get("protocol") or "TCP")))
            for p in obj.get("ports") or []
        ),
        endpoints=tuple(endpoints),
    )


class Watch:
    """An open watch stream: iterate for events ({"type": ..., "object": ...}); close() from any thread."""

    def __init__(self, response: urllib3.BaseHTTPResponse) -> None:
        self._response = response

    def __iter__(self) -> Iterator[Manifest]:
        try:
            for line in self._response:
                if line.strip():
                    yield json.loads(line)
        except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            raise Unreachable(f"the watch broke off: {_reason(exc)}") from None
        finally:
            # Never hand a half-read watch connection back to the pool.
            self.close()
            self._response.release_conn()

    def close(self) -> None:
        # shutdown() wakes a thread blocked reading the socket; close() alone would not.
        with contextlib.suppress(Exception):
            self._response.shutdown()
        with contextlib.suppress(Exception):
            self._response.close()


class KubeClient:
    def __init__(
        self,
        api_client: k8s.ApiClient,
        *,
        connect_timeout: float = 3,
        read_timeout: float = 10,
    ) -> None:
        self._api = api_client
        self._timeout = (connect_timeout, read_timeout)
        self._silences: Silences | None = None
        self._watcher = False

    @classmethod
    def from_kubeconfig(
        cls, kubeconfig: dict[str, Any], *, context: str | None = None, **timeouts: float
    ) -> KubeClient:
        configuration = k8s.Configuration()
        k8s_config.load_kube_config_from_dict(
            kubeconfig, context=context, client_configuration=configuration, persist_config=False
        )
        return cls(_api_client(configuration), **timeouts)

    @classmethod
    def in_cluster(
        cls,
        *,
        token_file: str = k8s_config.incluster_config.SERVICE_TOKEN_FILENAME,
        ca_file: str = k8s_config.incluster_config.SERVICE_CERT_FILENAME,
        **timeouts: float,
    ) -> KubeClient:
        """The pod's ServiceAccount: KUBERNETES_SERVICE_HOST/PORT, its token (re-read as kubelet rotates it), its CA."""
        configuration = k8s.Configuration()
        loader = k8s_config.incluster_config.InClusterConfigLoader(token_filename=token_file, cert_filename=ca_file)
        loader.load_and_set(configuration)
        return cls(_api_client(configuration), **timeouts)

    def failing_fast(self, silences: Silences, *, watcher: bool = False) -> KubeClient:
        """This client, failing calls at once to an API server that went silent (kube/silence.py), and
        telling the others which ones did: the console's clients share one ``Silences``.

        A ``watcher`` (the cache's client, on threads of its own with a backoff of its own) is never refused
        and does not start a silence (a server that is starting may keep it waiting), but its answers end one.
        """
        self._silences = silences
        self._watcher = watcher
        return self

    # -- transport -----------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, str] | None = None,
        body: Manifest | None = None,
        accept: str = "application/json",
        probe: bool = False,
    ) -> Manifest:
        """``probe``: ask even an API server that went silent (kube/silence.py), as a reachability check must."""
        calls_log.debug("%s %s", method, path, extra={"kube_call": (method, path)})
        if not probe:
            self._refuse_if_silent()
        headers = {"Accept": accept}
        if body is not None:
            headers["Content-Type"] = "application/json"
        method_, url, headers, body_, _post = self._api.param_serialize(
            method=method,
            resource_path=path,
            query_params=list((query or {}).items()) or None,
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        for attempt in range(TOO_MANY_REQUESTS_TRIES):
            try:
                response = self._api.call_api(
                    method_, url, header_params=headers, body=body_, _request_timeout=self._timeout
                )
                data = response.read()
            except k8s.ApiException as exc:  # raised by the REST layer for non-2xx
                status, data = exc.status or 0, exc.body or b""
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                raise self._unreachable(exc) from None
            else:
                status = response.status
            self._answered()
            # 429 means the request was not processed (e.g. "storage is (re)initializing"
            # while a custom resource's storage starts): retried, as client-go does,
            # a few times and briefly, within the call's budget.
            if status != 429 or attempt == TOO_MANY_REQUESTS_TRIES - 1:
                break
            time.sleep(TOO_MANY_REQUESTS_PAUSE)
        if not 200 <= status < 300:
            raise _error(status, data)
        return json.loads(data) if data else {}

    def list_page(self, path: str, *, limit: int, continue_token: str = "") -> Manifest:
        """One page of a consistent list (the caches' relist): items, metadata.resourceVersion and .continue."""
        query = {"limit": str(limit), **({"continue": continue_token} if continue_token else {})}
        return self.request("GET", path, query=query)

    def watch(self, path: str, resource_version: str, *, timeout_seconds: int, stall_timeout: float) -> Watch:
        """Open a watch from resource_version, with bookmarks; iterate the Watch for its events.

        The server ends it after timeout_seconds; no byte for stall_timeout seconds
        (bookmarks come about every minute) ends it with Unreachable.
        """
        calls_log.debug("WATCH %s", path, extra={"kube_call": ("WATCH", path)})
        self._refuse_if_silent()
        query = {
            "watch": "1",
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(timeout_seconds),
        }
        method_, url, headers, _body, _post = self._api.param_serialize(
            method="GET",
            resource_path=path,
            query_params=list(query.items()),
            header_params={"Accept": "application/json"},
            auth_settings=["BearerToken"],
        )
        try:
            response = self._api.call_api(
                method_, url, header_params=headers, _request_timeout=(self._timeout[0], stall_timeout)
            )
        except k8s.ApiException as exc:
            self._answered()
            raise _error(exc.status or 0, exc.body or b"") from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._unreachable(exc) from None
        self._answered()
        if not 200 <= response.status < 300:
            raise _error(response.status, response.read())
        return Watch(response.response)

    @property
    def _server(self) -> str:
        return str(self._api.configuration.host)

    def _refuse_if_silent(self) -> None:
        if self._silences is None or self._watcher:
            return
        silent_for = self._silences.refuse(self._server)
        if silent_for is not None:
            raise Unreachable(f"the cluster's API server has not answered for {silent_for:.0f} s; not asked again yet")

    def _answered(self) -> None:
        if self._silences is not None:
            self._silences.answered(self._server)

    def _unreachable(self, exc: BaseException) -> Unreachable:
        if self._silences is not None:
            reason = getattr(exc, "reason", None)
            if isinstance(exc, urllib3.exceptions.NewConnectionError) or isinstance(
                reason, urllib3.exceptions.NewConnectionError
            ):
                self._silences.answered(self._server)  # refused: fails at once, no silence to wait out
            elif not self._watcher and (_timed_out(exc) or _timed_out(reason)):
                self._silences.timed_out(self._server)
        return Unreachable(f"the cluster's API server cannot be reached: {_reason(exc)}")

    # -- reads -----------------------------------------------------------------

    def version(self) -> str:
        """The API server's version; asked even of a server that went silent (admin, the readiness probe)."""
        return str(self.request("GET", "/version", probe=True)["gitVersion"])

    def list_services(self, namespace: str) -> list[Service]:
        # From the API server's watch cache (resourceVersion=0): a picker and a
        # plausibility check need no quorum read, and a consistent list can wait
        # for the cache to catch up with etcd after recent writes (tens of ms).
        data = self.request("GET", f"/api/v1/namespaces/{_q(namespace)}/services", query=CACHED)
        return sorted((slim_service(item) for item in data.get("items", [])), key=lambda s: s.name)

    def get_service(self, namespace: str, name: str) -> Service:
        return slim_service(self.request("GET", f"/api/v1/namespaces/{_q(namespace)}/services/{_q(name)}"))

    def service_exposure(self, namespace: str, name: str) -> Exposure:
        # A list by name, not a get: the console's RBAC lists Services cluster-wide and gets none outside
        # environments, and the controller's Service lives in the controller's namespace.
        data = self.request(
            "GET", f"/api/v1/namespaces/{_q(namespace)}/services", query={"fieldSelector": f"metadata.name={name}"}
        )
        items = data.get("items") or []
        if not items:
            raise NotFound(f"services {name!r} not found in namespace {namespace!r}")
        return exposure_of(items[0])

    def list_endpoint_slices(self, namespace: str) -> list[EndpointSlice]:
        """The namespace's EndpointSlices (one call for a page), from the API server's watch cache."""
        data = self.request("GET", endpoint_slices_path(namespace), query=CACHED)
        return [slim_endpoint_slice(item) for item in data.get("items", [])]

    def list_tls_secret_names(self, namespace: str) -> list[str]:
        return sorted(secret.name for secret in self.list_tls_secrets(namespace))

    def list_tls_secrets(self, namespace: str) -> list[SecretMeta]:
        # Metadata only (PartialObjectMetadataList): secret data never reaches
        # the console, not even in memory.
        data = self.request(
            "GET",
            f"/api/v1/namespaces/{_q(namespace)}/secrets",
            query={"fieldSelector": "type=kubernetes.io/tls"},
            accept="application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io",
        )
        return [SecretMeta.of(item.get("metadata") or {}) for item in data.get("items", [])]

    def secret_exists(self, namespace: str, name: str) -> bool:
        """Whether a Secret of that name exists, from a metadata-only list by name (the picker's permission)."""
        data = self.request(
            "GET",
            f"/api/v1/namespaces/{_q(namespace)}/secrets",
            query={"fieldSelector": f"metadata.name={name}"},
            accept="application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io",
        )
        return bool(data.get("items"))

    def get_ingress(self, namespace: str, name: str) -> Manifest:
        return self.request("GET", _ingress_path(namespace, name))

    def find_certificate(self, namespace: str, name: str) -> Manifest | None:
        """cert-manager's Certificate of this name, or None when there is none.

        A list by name, not a get: a get answers 404 both for a missing Certificate and for an API
        server that does not serve cert-manager.io/v1 (its CRDs not installed); a list answers 404
        only for the latter, which raises NotFound.
        """
        data = self.request(
            "GET",
            f"{CERT_MANAGER_API}/namespaces/{_q(namespace)}/certificates",
            query={"fieldSelector": f"metadata.name={name}"},
        )
        items = data.get("items") or []
        return items[0] if items else None

    def list_ingresses(
        self, namespace: str | None = None, *, label_selector: str | None = None, cached: bool = False
    ) -> list[Manifest]:
        """cached=True reads the watch cache (may trail etcd by milliseconds, never waits)."""
        path = (
            f"/apis/networking.k8s.io/v1/namespaces/{_q(namespace)}/ingresses"
            if namespace
            else "/apis/networking.k8s.io/v1/ingresses"
        )
        query = {**(CACHED if cached else {}), **({"labelSelector": label_selector} if label_selector else {})}
        return list(self.request("GET", path, query=query or None).get("items", []))

    def list_events(self, namespace: str, kind: str, name: str) -> list[Manifest]:
        data = self.request(
            "GET",
            f"/api/v1/namespaces/{_q(namespace)}/events",
            query={"fieldSelector": f"involvedObject.kind={kind},involvedObject.name={name}"},
        )
        return list(data.get("items", []))

    def list_events_from(self, namespace: str, kind: str, component: str) -> list[Manifest]:
        """Events one component recorded on every object of a kind in the namespace (one call for a page)."""
        data = self.request(
            "GET",
            f"/api/v1/namespaces/{_q(namespace)}/events",
            query={"fieldSelector": f"involvedObject.kind={kind},source={component}"},
        )
        return list(data.get("items", []))

    # -- writes ----------------------------------------------------------------

    def create_ingress(self, namespace: str, manifest: Manifest) -> Manifest:
        return self.request("POST", f"/apis/networking.k8s.io/v1/namespaces/{_q(namespace)}/ingresses", body=manifest)

    def replace_ingress(self, namespace: str, name: str, manifest: Manifest) -> Manifest:
        """PUT; a manifest carrying metadata.resourceVersion fails with Conflict if stale."""
        return self.request("PUT", _ingress_path(namespace, name), body=manifest)

    def delete_ingress(self, namespace: str, name: str, *, missing_ok: bool = True, resource_version: str = "") -> None:
        """``resource_version``: delete only that version (Conflict if it changed since)."""
        try:
            self.request("DELETE", _ingress_path(namespace, name), body=_delete_options(resource_version))
        except NotFound:
            if not missing_ok:
                raise

    # -- a route's object, whichever its kind ---------------------------------------

    def get_route_object(self, kind: str, namespace: str, name: str) -> Manifest:
        """The Ingress, HTTPRoute or GRPCRoute a route became."""
        if kind == "Ingress":
            return self.get_ingress(namespace, name)
        return self.get_gateway_route(kind, namespace, name)

    def create_route_object(self, kind: str, namespace: str, manifest: Manifest) -> Manifest:
        if kind == "Ingress":
            return self.create_ingress(namespace, manifest)
        return self.create_gateway_route(kind, namespace, manifest)

    def replace_route_object(self, kind: str, namespace: str, name: str, manifest: Manifest) -> Manifest:
        if kind == "Ingress":
            return self.replace_ingress(namespace, name, manifest)
        return self.replace_gateway_route(kind, namespace, name, manifest)

    def dry_run_route_object(self, kind: str, namespace: str, manifest: Manifest, *, replace: bool) -> Manifest:
        """The object the API server would store after admission (``dryRun=All``; nothing is written): a create,
        or with ``replace`` a PUT of the object the manifest names (Conflict if its resourceVersion is stale)."""
        name = str(manifest["metadata"]["name"]) if replace else ""
        if kind == "Ingress":
            path = _ingress_path(namespace, name) if replace else _ingress_path(namespace, "").rstrip("/")
        else:
            path = _gateway_route_path(kind, namespace, name)
        return self.request("PUT" if replace else "POST", path, query={"dryRun": "All"}, body=manifest)

    def delete_route_object(self, kind: str, namespace: str, name: str, *, resource_version: str = "") -> None:
        """Already gone is fine; ``resource_version``: delete only that version (Conflict if it changed since)."""
        if kind == "Ingress":
            self.delete_ingress(namespace, name, resource_version=resource_version)
        else:
            self.delete_gateway_route(kind, namespace, name, resource_version=resource_version)

    # -- Gateway API routes ------------------------------------------------------

    def get_gateway_route(self, kind: str, namespace: str, name: str) -> Manifest:
        """An HTTPRoute or GRPCRoute (kind as in GATEWAY_ROUTE_KINDS)."""
        return self.request("GET", _gateway_route_path(kind, namespace, name))

    def list_gateway_routes(
        self, kind: str, namespace: str | None, *, label_selector: str | None = None, cached: bool = False
    ) -> list[Manifest]:
        """namespace=None lists every namespace; cached=True reads the API server's watch cache."""
        path = _gateway_route_path(kind, namespace) if namespace else f"{GATEWAY_API}/{GATEWAY_ROUTE_KINDS[kind]}"
        query = {**(CACHED if cached else {}), **({"labelSelector": label_selector} if label_selector else {})}
        return list(self.request("GET", path, query=query or None).get("items", []))

    def create_gateway_route(self, kind: str, namespace: str, manifest: Manifest) -> Manifest:
        return self.request("POST", _gateway_route_path(kind, namespace), body=manifest)

    def replace_gateway_route(self, kind: str, namespace: str, name: str, manifest: Manifest) -> Manifest:
        """PUT; a manifest carrying metadata.resourceVersion fails with Conflict if stale."""
        return self.request("PUT", _gateway_route_path(kind, namespace, name), body=manifest)

    def delete_gateway_route(
        self, kind: str, namespace: str, name: str, *, missing_ok: bool = True, resource_version: str = ""
    ) -> None:
        try:
            self.request("DELETE", _gateway_route_path(kind, namespace, name), body=_delete_options(resource_version))
        except NotFound:
            if not missing_ok:
                raise

    def get_gateway(self, namespace: str, name: str) -> Manifest:
        return self.request("GET", f"{GATEWAY_API}/namespaces/{_q(namespace)}/gateways/{_q(name)}")

    def get_namespace(self, name: str) -> Manifest:
        return self.request("GET", f"/api/v1/namespaces/{_q(name)}")

    # -- any object by its path ----------------------------------------------------

    def create(self, path: str, manifest: Manifest) -> Manifest:
        """Create any object by its collection path (seeding, tests)."""
        return self.request("POST", path, body=manifest)

    def ensure(self, path: str, manifest: Manifest) -> Manifest:
        """Create the object, or leave the existing one as it is."""
        try:
            return self.create(path, manifest)
        except AlreadyExists:
            return self.request("GET", f"{path}/{_q(manifest['metadata']['name'])}")

    def ensure_ingress_class(self, name: str, controller: str = INGRESS_CONTROLLER) -> Manifest:
        body = {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "IngressClass",
            "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "kubegems-routes"}},
            "spec": {"controller": controller},
        }
        return self.ensure("/apis/networking.k8s.io/v1/ingressclasses", body)


def _api_client(configuration: k8s.Configuration) -> k8s.ApiClient:
    # One try per call: the (connect, read) timeouts are the whole budget, not
    # a budget per urllib3 retry.
    configuration.retries = 0
    return k8s.ApiClient(configuration)


def _q(segment: str) -> str:
    return quote(segment, safe="")


def _ingress_path(namespace: str, name: str) -> str:
    return f"/apis/networking.k8s.io/v1/namespaces/{_q(namespace)}/ingresses/{_q(name)}"


GATEWAY_API = "/apis/gateway.networking.k8s.io/v1"
CERT_MANAGER_API = "/apis/cert-manager.io/v1"
# Route kinds of Gateway API the console writes, and their resources.
GATEWAY_ROUTE_KINDS = {"HTTPRoute": "httproutes", "GRPCRoute": "grpcroutes"}


def _gateway_route_path(kind: str, namespace: str, name: str = "") -> str:
    resource = GATEWAY_ROUTE_KINDS[kind]
    path = f"{GATEWAY_API}/namespaces/{_q(namespace)}/{resource}"
    return f"{path}/{_q(name)}" if name else path


def _delete_options(resource_version: str) -> Manifest | None:
    if not resource_version:
        return None
    return {"apiVersion": "v1", "kind": "DeleteOptions", "preconditions": {"resourceVersion": resource_version}}


def _timed_out(exc: BaseException | None) -> bool:
    """A connect or read timeout (not a refused connection: urllib3's NewConnectionError is a subclass)."""
    if isinstance(exc, urllib3.exceptions.NewConnectionError):
        return False
    return isinstance(exc, TimeoutError | urllib3.exceptions.TimeoutError)


def _reason(exc: BaseException) -> str:
    inner = getattr(exc, "reason", None)
    return str(inner or exc.__class__.__name__)


def _error(status: int, raw: bytes | str) -> KubeError:
    try:
        payload = json.loads(raw) if raw else {}
    except ValueError:
        payload = {}
    if not isinstance(payload, dict):
        payload = {}
    message = str(payload.get("message") or f"the API server answered HTTP {status}")
    reason = payload.get("reason", "")
    causes = [
        Cause(field=c.get("field", ""), message=c.get("message", ""), reason=c.get("reason", ""))
        for c in (payload.get("details") or {}).get("causes", [])
    ]
    if status == 404:
        return NotFound(message, status, causes)
    if status == 409 and reason == "AlreadyExists":
        return AlreadyExists(message, status, causes)
    if status == 409:
        return Conflict(message, status, causes)
    if status == 422:
        return Invalid(message, status, causes)
    if status in (401, 403):
        return Forbidden(message, status, causes)
    if status == 0 or status >= 500:
        return Unreachable(message, status, causes)
    return KubeError(message, status, causes)


_cache: dict[tuple[object, ...], KubeClient] = {}
_cache_lock = threading.Lock()


def cached_client(key: tuple[object, ...], factory: Callable[[], KubeClient]) -> KubeClient:
    """One client (one connection pool) per cluster and credential version."""
    with _cache_lock:
        found = _cache.get(key)
        if found is None:
            found = _cache[key] = factory()
        return found
