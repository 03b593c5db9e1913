"""Watch-fed, in-process caches of a cluster's Ingresses and Services (reads only).

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
namespace; Services by namespace.

A cache answers only while it is *synced*: listed, and its watch connected.
Otherwise every query returns None and the caller reads the API server
directly, so a cache that is still syncing or whose watch is down never gives
an answer from old data. Writes never go through here; after its own write a
caller can wait until the cache has seen that write (``wait_for``), which
means it has also seen everything written before it.

Lifetime: one cache per cluster per process, started on first use by two
daemon threads (one per kind). Under gunicorn every worker process holds its
own; a process that was forked from one that had caches (gunicorn --preload)
drops them, since threads do not survive a fork. ``stop_all()`` stops every
cache of the process (tests).
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import sys
import threading
import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from kubegems_routes.kube.client import Exposure, KubeClient, Manifest, Service, Watch, slim_service
from kubegems_routes.kube.errors import KubeError, NotFound

log = logging.getLogger(__name__)

INGRESSES = "/apis/networking.k8s.io/v1/ingresses"
SERVICES = "/api/v1/services"
PAGE_SIZE = 500

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
    ) -> None:
        self.kind = kind
        self.store: Store[T] = Store(index_keys)
        self._client = client
        self._path = path
        self._slim = slim
        self._watch_timeout = watch_timeout
        self._stall_timeout = stall_timeout
        self._max_backoff = max_backoff
        self._stopping = threading.Event()
        self._changed = threading.Condition()
        self._watch: Watch | None = None
        self._thread: threading.Thread | None = None
        self.synced = False
        self.resource_version = ""
        self.relists = 0  # lists after the first one (410 Gone, or a failure before any list)
        self.last_error = ""

    # -- life cycle --------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"kube-cache-{self.kind}", daemon=True)
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
            except (KubeError, OSError, ValueError) as exc:
                self._set_synced(False)
                if self._stopping.is_set():
                    break  # stop() broke the watch off
                self.last_error = str(exc)
                log.info("%s cache: %s; retrying", self.kind, exc)
                delay = min(self._max_backoff, max(0.2, delay * 2))
                # Jitter: several workers (and clusters) do not reconnect in lockstep.
                self._stopping.wait(delay * random.uniform(0.8, 1.2))  # noqa: S311 (jitter, not a secret)
            except Exception:  # a bug must not kill the thread silently: log, back off, relist
                log.exception("%s cache failed; relisting", self.kind)
                self._set_synced(False)
                listed = False
                self._stopping.wait(self._max_backoff)
        self._set_synced(False)

    def _list(self) -> None:
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
        self._advance(resource_version)

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
    """The Ingresses and Services of one cluster; every query returns None while not synced."""

    def __init__(self, client: KubeClient, **options: Any) -> None:
        self.ingresses: Informer[IngressRecord] = Informer(
            "ingresses", client, INGRESSES, slim_ingress, _ingress_keys, **options
        )
        self.services: Informer[Service] = Informer(
            "services", client, SERVICES, slim_service, _service_keys, **options
        )
        self.started_at = time.monotonic()

    def start(self) -> ClusterCache:
        self.ingresses.start()
        self.services.start()
        return self

    def stop(self) -> None:
        self.ingresses.stop()
        self.services.stop()

    def wait_synced(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        return self.ingresses.wait_synced(timeout) and self.services.wait_synced(max(0, deadline - time.monotonic()))

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
