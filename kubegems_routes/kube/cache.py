"""Watch-fed, in-process caches of a cluster's Ingresses, Services, Namespaces, Gateway API objects and
EndpointSlices (reads only).

Each kind is kept the way client-go's reflector keeps it: list once (in pages
of 500, so a relist of 20,000 Ingresses never holds them all as JSON), then
watch from the list's resourceVersion with bookmarks. A watch the server ends
(timeoutSeconds) is resumed from the last version seen; 410 Gone (that
version was compacted away) relists; a failure reconnects after an
exponential backoff; a watch silent for longer than ``stall_timeout`` (the API
server sends a bookmark about every minute) is dropped and resumed.

Only the fields the console asks about are kept, as slim frozen records with
interned strings, indexed for its questions: Ingresses by (ingress class,
host), by (ingress class, parent domain) for wildcard overlaps, and by
namespace; Services by namespace; HTTPRoutes and GRPCRoutes by (Gateway, hostname),
(Gateway, parent domain) and (Gateway, no hostname); Gateways and Namespaces by key;
EndpointSlices, watched per environment namespace (the console may read them
there only), by their Service (``kubernetes.io/service-name``).

Gateway API is a set of CRDs a cluster may not have: while its group answers
404 the informers of its kinds stay idle (not synced, listing again every
``absent_retry`` seconds), so their readers fall back to the API server, as
for any cache that is not synced.

A cache answers only while it is *synced*: listed, and its watch connected.
Otherwise every query returns None and the caller reads the API server
directly, so a cache that is still syncing or whose watch is down never gives
an answer from old data. Writes never go through here; after its own write a
caller can wait until the cache has seen that write (``wait_for``), which
means it has also seen everything written before it.

Lifetime: one cache per cluster per process, started on first use by one
daemon thread per kind, and read by every request thread of the process
(gunicorn.conf.py runs one process per pod, with threads). A process that
was forked from one that had caches (gunicorn --preload) drops them, since
threads do not survive a fork. A cluster that cannot be reached is retried
with an exponential backoff (capped at ``max_backoff``), logging its first
failure and then at most once every ``REPEAT_LOG_SECONDS``. ``stop_all()``
stops every cache of the process (tests).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import random
import sys
import threading
import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from kubegems_routes.kube.client import (
    GATEWAY_API,
    GATEWAY_ROUTE_KINDS,
    EndpointSlice,
    Exposure,
    KubeClient,
    Manifest,
    Service,
    Watch,
    endpoint_slices_path,
    slim_endpoint_slice,
    slim_service,
)
from kubegems_routes.kube.errors import KubeError, NotFound

log = logging.getLogger(__name__)

INGRESSES = "/apis/networking.k8s.io/v1/ingresses"
SERVICES = "/api/v1/services"
NAMESPACES = "/api/v1/namespaces"
GATEWAYS = f"{GATEWAY_API}/gateways"
GATEWAY_GROUP = "gateway.networking.k8s.io"
PAGE_SIZE = 500
# A failing informer logs its first failure, then at most once this often while it keeps failing, and once
# when it connects again: an unreachable cluster is not a log line per retry.
REPEAT_LOG_SECONDS = 300.0

T = TypeVar("T")
Key = tuple[str, str]  # (namespace, name)


@dataclass(frozen=True, slots=True)
class IngressRecord:
    """What the console needs of an Ingress: who it is, its class, and the (host, paths) it serves."""

    namespace: str
    name: str
    ingress_class: str
    managed_by: str  # the app.kubernetes.io/managed-by label
    rules: tuple[tuple[str, tuple[str, ...]], ...]


_intern = sys.intern


def slim_ingress(obj: Manifest) -> IngressRecord:
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    rules = tuple(
        (
            _intern(rule.get("host") or ""),
            tuple(_intern(p.get("path", "/")) for p in (rule.get("http") or {}).get("paths") or []),
        )
        for rule in spec.get("rules") or []
    )
    return IngressRecord(
        namespace=_intern(meta.get("namespace", "")),
        name=meta.get("name", ""),
        ingress_class=_intern(spec.get("ingressClassName") or ""),
        managed_by=_intern((meta.get("labels") or {}).get("app.kubernetes.io/managed-by", "")),
        rules=rules,
    )


def parent_domain(host: str) -> str:
    return host.partition(".")[2]


@dataclass(frozen=True, slots=True)
class ParentRef:
    """A route's parentRef to a Gateway: its namespace (the route's own when unset), name and sectionName."""

    namespace: str
    name: str
    section: str = ""

    @property
    def scope(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class GatewayRouteRecord:
    """What the console needs of an HTTPRoute or GRPCRoute: who, its Gateways, hostnames and matched paths."""

    kind: str
    namespace: str
    name: str
    managed_by: str
    hostnames: tuple[str, ...]  # empty: every host of the listeners it attaches to
    parents: tuple[ParentRef, ...]  # Gateways only (other parent kinds are left out)
    paths: tuple[str, ...]  # path values, or /service/method for gRPC matches


def _match_path(match: dict[str, Any]) -> str:
    if "path" in match:
        return str((match.get("path") or {}).get("value", "/"))
    method = match.get("method") or {}
    if method:
        return "/" + "/".join(p for p in (method.get("service", ""), method.get("method", "")) if p)
    return "/"


def slim_gateway_route(obj: Manifest, kind: str) -> GatewayRouteRecord:
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    namespace = _intern(meta.get("namespace", ""))
    parents = tuple(
        ParentRef(_intern(ref.get("namespace") or namespace), _intern(ref.get("name", "")), ref.get("sectionName", ""))
        for ref in spec.get("parentRefs") or []
        if ref.get("group", GATEWAY_GROUP) == GATEWAY_GROUP and ref.get("kind", "Gateway") == "Gateway"
    )
    paths = tuple(
        _intern(_match_path(match)) for rule in spec.get("rules") or [] for match in rule.get("matches") or [{}]
    )
    return GatewayRouteRecord(
        kind=kind,
        namespace=namespace,
        name=meta.get("name", ""),
        managed_by=_intern((meta.get("labels") or {}).get("app.kubernetes.io/managed-by", "")),
        hostnames=tuple(_intern(h) for h in spec.get("hostnames") or []),
        parents=parents,
        paths=paths or ("/",),
    )


@dataclass(frozen=True, slots=True)
class LabelRequirement:
    """One matchExpressions entry of a label selector."""

    key: str
    operator: str  # In, NotIn, Exists, DoesNotExist
    values: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ListenerRecord:
    """A Gateway listener and which routes it admits (spec.listeners[].allowedRoutes)."""

    name: str
    protocol: str
    hostname: str = ""
    namespaces_from: str = "Same"  # Same, All or Selector (Gateway API's default is Same)
    match_labels: tuple[tuple[str, str], ...] = ()
    match_expressions: tuple[LabelRequirement, ...] = ()
    kinds: tuple[tuple[str, str], ...] = ()  # (group, kind); empty: the kinds the protocol supports


@dataclass(frozen=True, slots=True)
class GatewayRecord:
    namespace: str
    name: str
    listeners: tuple[ListenerRecord, ...]


def slim_gateway(obj: Manifest) -> GatewayRecord:
    meta = obj.get("metadata") or {}
    listeners = []
    for listener in (obj.get("spec") or {}).get("listeners") or []:
        allowed = listener.get("allowedRoutes") or {}
        namespaces = allowed.get("namespaces") or {}
        selector = namespaces.get("selector") or {}
        listeners.append(
            ListenerRecord(
                name=str(listener.get("name", "")),
                protocol=str(listener.get("protocol", "")),
                hostname=str(listener.get("hostname") or ""),
                namespaces_from=str(namespaces.get("from") or "Same"),
                match_labels=tuple(sorted((selector.get("matchLabels") or {}).items())),
                match_expressions=tuple(
                    LabelRequirement(str(e.get("key", "")), str(e.get("operator", "")), tuple(e.get("values") or ()))
                    for e in selector.get("matchExpressions") or []
                ),
                kinds=tuple(
                    (str(k.get("group", GATEWAY_GROUP)), str(k.get("kind", ""))) for k in allowed.get("kinds") or []
                ),
            )
        )
    return GatewayRecord(namespace=meta.get("namespace", ""), name=meta.get("name", ""), listeners=tuple(listeners))


@dataclass(frozen=True, slots=True)
class NamespaceRecord:
    name: str
    labels: tuple[tuple[str, str], ...]


def slim_namespace(obj: Manifest) -> NamespaceRecord:
    meta = obj.get("metadata") or {}
    return NamespaceRecord(name=meta.get("name", ""), labels=tuple(sorted((meta.get("labels") or {}).items())))


def _ingress_keys(key: Key, record: IngressRecord) -> Iterable[tuple[str, Hashable]]:
    yield "namespace", key[0]
    for host, _paths in record.rules:
        if not host:
            continue
        yield "host", (record.ingress_class, host)
        if not host.startswith("*."):
            yield "parent", (record.ingress_class, parent_domain(host))


def _service_keys(key: Key, _record: Service) -> Iterable[tuple[str, Hashable]]:
    yield "namespace", key[0]


def _gateway_route_keys(key: Key, record: GatewayRouteRecord) -> Iterable[tuple[str, Hashable]]:
    yield "namespace", key[0]
    for scope in {parent.scope for parent in record.parents}:
        if not record.hostnames:
            yield "every-host", scope
        for host in record.hostnames:
            yield "host", (scope, host)
            if not host.startswith("*."):
                yield "parent", (scope, parent_domain(host))


def _endpoint_slice_keys(_key: Key, record: EndpointSlice) -> Iterable[tuple[str, Hashable]]:
    yield "service", record.service


def _no_keys(_key: Key, _record: object) -> Iterable[tuple[str, Hashable]]:
    return ()


class _Gone(Exception):
    """410: the version to resume from is no longer in the API server's history."""


class Store(Generic[T]):
    """Records by (namespace, name), with secondary indexes; safe to read from any thread."""

    def __init__(self, index_keys: Callable[[Key, T], Iterable[tuple[str, Hashable]]]) -> None:
        self._index_keys = index_keys
        self._items: dict[Key, T] = {}
        self._indexes: dict[tuple[str, Hashable], set[Key]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def replace(self, items: dict[Key, T]) -> None:
        indexes: dict[tuple[str, Hashable], set[Key]] = {}
        for key, item in items.items():
            for index in self._index_keys(key, item):
                indexes.setdefault(index, set()).add(key)
        with self._lock:
            self._items, self._indexes = items, indexes

    def put(self, key: Key, item: T) -> None:
        with self._lock:
            self._unindex(key)
            self._items[key] = item
            for index in self._index_keys(key, item):
                self._indexes.setdefault(index, set()).add(key)

    def delete(self, key: Key) -> None:
        with self._lock:
            self._unindex(key)
            self._items.pop(key, None)

    def _unindex(self, key: Key) -> None:
        old = self._items.get(key)
        if old is None:
            return
        for index in self._index_keys(key, old):
            keys = self._indexes.get(index)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._indexes[index]

    def get(self, key: Key) -> T | None:
        with self._lock:
            return self._items.get(key)

    def by_index(self, name: str, value: Hashable) -> list[T]:
        with self._lock:
            return [self._items[k] for k in sorted(self._indexes.get((name, value), ()))]

    def by_service(self) -> dict[str, list[T]]:
        """Records grouped by the "service" index (EndpointSlices by their kubernetes.io/service-name)."""
        with self._lock:
            return {
                str(value): [self._items[k] for k in sorted(keys)]
                for (name, value), keys in self._indexes.items()
                if name == "service"
            }


class Informer(Generic[T]):
    """List then watch one kind cluster-wide, into a Store, on a daemon thread."""

    def __init__(
        self,
        kind: str,
        client: KubeClient,
        path: str,
        slim: Callable[[Manifest], T],
        index_keys: Callable[[Key, T], Iterable[tuple[str, Hashable]]],
        *,
        watch_timeout: int = 300,
        stall_timeout: float = 90,
        max_backoff: float = 10,
        absent_retry: float = 30,
        cluster: str = "",
    ) -> None:
        self.kind = kind
        self.name = f"{cluster}/{kind}" if cluster else kind  # in log lines
        self.store: Store[T] = Store(index_keys)
        self._client = client
        self._path = path
        self._slim = slim
        self._watch_timeout = watch_timeout
        self._stall_timeout = stall_timeout
        self._max_backoff = max_backoff
        self._absent_retry = absent_retry
        self._stopping = threading.Event()
        self._changed = threading.Condition()
        self._watch: Watch | None = None
        self._thread: threading.Thread | None = None
        self.synced = False
        self.resource_version = ""
        self.relists = 0  # lists after the first one (410 Gone, or a failure before any list)
        self.last_error = ""
        self.failures = 0  # failed attempts in a row (list or watch)
        self._logged_at = -REPEAT_LOG_SECONDS
        # The API server does not serve the kind (404: e.g. Gateway API's CRDs are not installed).
        self.absent = False

    # -- life cycle --------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"kube-cache-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._set_synced(False)
        watch = self._watch
        if watch is not None:
            watch.close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def drop_connection(self, resume_from: str | None = None) -> None:
        """Break the current watch, as a network fault would; resume_from replaces the version to resume from."""
        if resume_from is not None:
            self.resource_version = resume_from
        watch = self._watch
        if watch is not None:
            watch.close()

    # -- what readers use --------------------------------------------------------------

    def wait_synced(self, timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self.synced, timeout)

    def wait_for(self, resource_version: str, timeout: float) -> bool:
        """True once the cache has seen resource_version (and so every write before it) and is synced."""
        try:
            wanted = int(resource_version)
        except ValueError:
            return False  # resourceVersions are opaque; this one cannot be compared

        def seen() -> bool:
            try:
                return self.synced and int(self.resource_version or 0) >= wanted
            except ValueError:
                return False

        with self._changed:
            return self._changed.wait_for(seen, timeout)

    # -- the loop ----------------------------------------------------------------------

    def _run(self) -> None:
        delay = 0.0
        listed = False
        while not self._stopping.is_set():
            try:
                if not listed:
                    self._list()
                    listed = True
                self._watch_once()
                delay = 0.0
            except _Gone:
                self._set_synced(False)
                listed = False
                self.relists += 1
                delay = 0.0
            except NotFound as exc:
                # The kind is not served (its CRD is missing, or was deleted): idle, and look again
                # now and then. Readers see a cache that is not synced and ask the API server.
                self._set_synced(False)
                if not self.absent:
                    log.info(
                        "%s cache: not served by this cluster (%s); listing again every %ss",
                        self.name,
                        exc,
                        self._absent_retry,
                    )
                self.absent = True
                self.last_error = str(exc)
                listed = False
                self.store.replace({})
                self._stopping.wait(self._absent_retry)
            except (KubeError, OSError, ValueError) as exc:
                self._set_synced(False)
                if self._stopping.is_set():
                    break  # stop() broke the watch off
                delay = min(self._max_backoff, max(0.2, delay * 2))
                self._failed(exc)
                # Jitter: several workers (and clusters) do not reconnect in lockstep.
                self._stopping.wait(delay * random.uniform(0.8, 1.2))  # noqa: S311 (jitter, not a secret)
            except Exception:  # a bug must not kill the thread silently: log, back off, relist
                log.exception("%s cache failed; relisting", self.name)
                self._set_synced(False)
                listed = False
                self._stopping.wait(self._max_backoff)
        self._set_synced(False)

    def _failed(self, exc: Exception) -> None:
        self.failures += 1
        self.last_error = str(exc)
        now = time.monotonic()
        if now - self._logged_at < REPEAT_LOG_SECONDS:
            return
        self._logged_at = now
        if self.failures == 1:
            log.info("%s cache: %s; retrying", self.name, exc)
        else:
            log.warning(
                "%s cache: still failing after %d attempts (%s); retrying every %.0f s at most",
                self.name,
                self.failures,
                exc,
                self._max_backoff,
            )

    def _connected(self) -> None:
        if self.failures > 1:
            log.info("%s cache: connected again after %d failed attempts", self.name, self.failures)
        self.failures = 0
        self._logged_at = -REPEAT_LOG_SECONDS

    def _list(self) -> None:
        started = time.monotonic()
        items: dict[Key, T] = {}
        continue_token = ""
        resource_version = ""
        while True:
            page = self._client.list_page(self._path, limit=PAGE_SIZE, continue_token=continue_token)
            meta = page.get("metadata") or {}
            # The first page's version is the snapshot every page belongs to.
            resource_version = resource_version or str(meta.get("resourceVersion", ""))
            for obj in page.get("items") or []:
                m = obj["metadata"]
                items[(_intern(m.get("namespace", "")), m["name"])] = self._slim(obj)
            continue_token = meta.get("continue") or ""
            if not continue_token or self._stopping.is_set():
                break
        self.store.replace(items)
        self.absent = False
        self._advance(resource_version)
        # One line per list: at start, and after a 410 or a failure (how often a cluster is listed in full).
        log.info("%s cache: listed %d in %.2f s", self.name, len(items), time.monotonic() - started)

    def _watch_once(self) -> None:
        try:
            watch = self._client.watch(
                self._path,
                self.resource_version,
                timeout_seconds=int(self._watch_timeout * random.uniform(1.0, 1.2)),  # noqa: S311
                stall_timeout=self._stall_timeout,
            )
        except KubeError as exc:
            if exc.status == 410:
                raise _Gone() from None
            raise
        self._watch = watch
        try:
            if self._stopping.is_set():
                return
            self._connected()
            self._set_synced(True)
            for event in watch:
                self._apply(event)
        finally:
            self._watch = None
            watch.close()

    def _apply(self, event: dict[str, Any]) -> None:
        kind, obj = event.get("type"), event.get("object") or {}
        meta = obj.get("metadata") or {}
        if kind == "ERROR":
            if obj.get("code") == 410:
                raise _Gone()
            raise KubeError(str(obj.get("message") or "watch error"), int(obj.get("code") or 0))
        if kind in ("ADDED", "MODIFIED"):
            self.store.put((_intern(meta.get("namespace", "")), meta["name"]), self._slim(obj))
        elif kind == "DELETED":
            self.store.delete((meta.get("namespace", ""), meta["name"]))
        self._advance(str(meta.get("resourceVersion", "")))

    def _advance(self, resource_version: str) -> None:
        with self._changed:
            if resource_version:
                self.resource_version = resource_version
            self._changed.notify_all()

    def _set_synced(self, synced: bool) -> None:
        with self._changed:
            self.synced = synced
            self._changed.notify_all()


class ClusterCache:
    """The Ingresses, Services, Namespaces and Gateway API objects of one cluster; queries return None while
    the kinds they read are not synced."""

    def __init__(self, client: KubeClient, *, cluster: str = "", **options: Any) -> None:
        options = {**options, "cluster": cluster}
        self.ingresses: Informer[IngressRecord] = Informer(
            "ingresses", client, INGRESSES, slim_ingress, _ingress_keys, **options
        )
        self.services: Informer[Service] = Informer(
            "services", client, SERVICES, slim_service, _service_keys, **options
        )
        self.namespaces: Informer[NamespaceRecord] = Informer(
            "namespaces", client, NAMESPACES, slim_namespace, _no_keys, **options
        )
        self.gateway_routes: dict[str, Informer[GatewayRouteRecord]] = {
            kind: Informer(
                resource,
                client,
                f"{GATEWAY_API}/{resource}",
                functools.partial(slim_gateway_route, kind=kind),
                _gateway_route_keys,
                **options,
            )
            for kind, resource in GATEWAY_ROUTE_KINDS.items()
        }
        self.gateways: Informer[GatewayRecord] = Informer(
            "gateways", client, GATEWAYS, slim_gateway, _no_keys, **options
        )
        # EndpointSlices are watched per environment namespace, from the first page that asks about
        # one: the console may list and watch them in its environments only (deploy/environment).
        self.endpoint_slices: dict[str, Informer[EndpointSlice]] = {}
        self._client = client
        self._options = options
        self._lock = threading.Lock()
        self._running = False
        self.started_at = time.monotonic()

    def informers(self) -> list[Informer[Any]]:
        with self._lock:
            slices = list(self.endpoint_slices.values())
        return [self.ingresses, self.services, self.namespaces, *self.gateway_routes.values(), self.gateways, *slices]

    def start(self) -> ClusterCache:
        with self._lock:
            self._running = True
        for informer in self.informers():
            informer.start()
        return self

    def stop(self) -> None:
        with self._lock:
            self._running = False
        for informer in self.informers():
            informer.stop()

    def endpoint_slice_informer(self, namespace: str) -> Informer[EndpointSlice]:
        """The watch of one namespace's EndpointSlices, started on first use."""
        with self._lock:
            found = self.endpoint_slices.get(namespace)
            if found is None:
                found = Informer(
                    f"endpointslices-{namespace}",
                    self._client,
                    endpoint_slices_path(namespace),
                    slim_endpoint_slice,
                    _endpoint_slice_keys,
                    **self._options,
                )
                self.endpoint_slices[namespace] = found
                if self._running:
                    found.start()
            return found

    def endpoint_slices_in(self, namespace: str) -> dict[str, list[EndpointSlice]] | None:
        """The namespace's EndpointSlices by Service name; None while its watch is not synced (the first
        call starts it)."""
        informer = self.endpoint_slice_informer(namespace)
        if not informer.synced:
            return None
        return informer.store.by_service()

    def wait_synced(self, timeout: float) -> bool:
        """Ingresses and Services synced (what every page reads; Gateway API may not be installed)."""
        deadline = time.monotonic() + timeout
        return self.ingresses.wait_synced(timeout) and self.services.wait_synced(max(0, deadline - time.monotonic()))

    def wait_gateway_api_synced(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        informers: list[Informer[Any]] = [*self.gateway_routes.values(), self.gateways, self.namespaces]
        return all(informer.wait_synced(max(0, deadline - time.monotonic())) for informer in informers)

    def ingresses_overlapping(self, ingress_class: str, host: str) -> list[IngressRecord] | None:
        """Ingresses of the class serving a host that overlaps ``host`` (equal, or one label under a wildcard)."""
        if not self.ingresses.synced:
            return None
        store = self.ingresses.store
        found = store.by_index("host", (ingress_class, host))
        if host.startswith("*."):
            found += store.by_index("parent", (ingress_class, host[2:]))
        else:
            found += store.by_index("host", (ingress_class, "*." + parent_domain(host)))
        unique = {(r.namespace, r.name): r for r in found}
        return list(unique.values())

    def gateway_routes_overlapping(self, scope: str, host: str) -> list[GatewayRouteRecord] | None:
        """HTTPRoutes and GRPCRoutes attached to the Gateway ``scope`` (namespace/name) that serve a host
        overlapping ``host``: equal, one label under a wildcard, or no hostnames at all (every host)."""
        informers = self.gateway_routes.values()
        if not all(informer.synced for informer in informers):
            return None
        found: list[GatewayRouteRecord] = []
        for informer in informers:
            store = informer.store
            found += store.by_index("host", (scope, host))
            found += store.by_index("every-host", scope)
            if host.startswith("*."):
                found += store.by_index("parent", (scope, host[2:]))
            else:
                found += store.by_index("host", (scope, "*." + parent_domain(host)))
        unique = {(r.kind, r.namespace, r.name): r for r in found}
        return list(unique.values())

    def gateway(self, namespace: str, name: str) -> GatewayRecord | None:
        """The Gateway (None when missing); call only while ``gateways.synced``."""
        return self.gateways.store.get((namespace, name))

    def namespace_labels(self, name: str) -> dict[str, str] | None:
        """A Namespace's labels; None when the cache is not synced or the Namespace is unknown to it."""
        if not self.namespaces.synced:
            return None
        record = self.namespaces.store.get(("", name))
        return dict(record.labels) if record is not None else None

    def gateway_routes_in(self, namespace: str) -> list[GatewayRouteRecord] | None:
        """The namespace's HTTPRoutes and GRPCRoutes; None while either kind is not synced."""
        informers = self.gateway_routes.values()
        if not all(informer.synced for informer in informers):
            return None
        return [record for informer in informers for record in informer.store.by_index("namespace", namespace)]

    def ingresses_in(self, namespace: str) -> list[IngressRecord] | None:
        if not self.ingresses.synced:
            return None
        return self.ingresses.store.by_index("namespace", namespace)

    def service_exposure(self, namespace: str, name: str) -> Exposure | None:
        """How the Service is reached from outside; None while not synced, NotFound when there is none."""
        if not self.services.synced:
            return None
        found = self.services.store.get((namespace, name))
        if found is None:
            raise NotFound(f"services {name!r} not found in namespace {namespace!r}")
        return found.exposure

    def services_in(self, namespace: str) -> list[Service] | None:
        if not self.services.synced:
            return None
        return sorted(self.services.store.by_index("namespace", namespace), key=lambda s: s.name)


# -- one cache per cluster per process ----------------------------------------------------

_caches: dict[Hashable, tuple[Hashable, ClusterCache]] = {}
_caches_pid = os.getpid()
_caches_lock = threading.Lock()


def cache_for(cluster: Hashable, version: Hashable, factory: Callable[[], ClusterCache]) -> ClusterCache:
    """The running cache of a cluster; started on first use, replaced when its credentials (version) change."""
    global _caches_pid
    with _caches_lock:
        if _caches_pid != os.getpid():  # forked: the threads behind these caches stayed in the parent
            _caches.clear()
            _caches_pid = os.getpid()
        found = _caches.get(cluster)
        if found is not None and found[0] == version:
            return found[1]
        if found is not None:
            found[1].stop()
        cache = factory().start()
        _caches[cluster] = (version, cache)
        return cache


def stop_cache(cluster: Hashable) -> None:
    """Stop and forget the cache of one cluster (deleted)."""
    with _caches_lock:
        found = _caches.pop(cluster, None)
    if found is not None:
        found[1].stop()


def running_caches() -> dict[Hashable, ClusterCache]:
    with _caches_lock:
        return {key: cache for key, (_version, cache) in _caches.items()}


def stop_all() -> None:
    with _caches_lock:
        caches = [cache for _version, cache in _caches.values()]
        _caches.clear()
    for cache in caches:
        with contextlib.suppress(Exception):
            cache.stop()
