"""Probes: liveness asks nothing of anyone; readiness asks the database and every cluster.

Readiness fails (503) only when the database does: a replica without its
database can serve nothing, but a cluster that does not answer is the
cluster's fault, every replica would fail alike, and the console already shows
a banner for it. Each cluster's state is reported in the body, by name only
(the probe is unauthenticated: error details go to the log).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse

from kubegems_routes.kube.errors import KubeError
from kubegems_routes.tenancy.models import Cluster

logger = logging.getLogger(__name__)


def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers; nothing else is asked."""
    return HttpResponse("ok", content_type="text/plain")


def readyz(request: HttpRequest) -> HttpResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        clusters, unreadable = _clusters()
    except DatabaseError as exc:
        logger.error("readiness: database unavailable: %s", exc)
        return JsonResponse({"status": "unavailable", "database": "unavailable"}, status=503)
    timeout = settings.READY_CLUSTER_TIMEOUT
    states = {cluster.name: "unreachable" for cluster in clusters} | dict.fromkeys(unreadable, "misconfigured")
    if clusters:
        pool = ThreadPoolExecutor(max_workers=min(len(clusters), 8))
        futures = {pool.submit(_cluster_state, cluster, timeout): cluster.name for cluster in clusters}
        done, _pending = wait(futures, timeout=timeout * 2 + 1)
        for future in done:
            states[futures[future]] = future.result()
        pool.shutdown(wait=False, cancel_futures=True)  # a hung cluster does not hold the probe
    return JsonResponse({"status": "ok", "database": "ok", "clusters": states})


def _clusters() -> tuple[list[Cluster], list[str]]:
    """The clusters, and the names of those whose stored credentials this replica's keys cannot decrypt
    (loading decrypts them): those are "misconfigured", the probe itself does not fail."""
    try:
        return list(Cluster.objects.all()), []
    except ImproperlyConfigured:
        readable, unreadable = [], []
        for pk, name in Cluster.objects.values_list("pk", "name"):
            try:
                readable.append(Cluster.objects.get(pk=pk))
            except ImproperlyConfigured as exc:
                logger.error("readiness: cluster %s: %s", name, exc)
                unreadable.append(name)
        return readable, unreadable


def _cluster_state(cluster: Cluster, timeout: float) -> str:
    try:
        cluster.client(connect_timeout=timeout, read_timeout=timeout).version()
    except KubeError as exc:
        logger.warning("readiness: cluster %s: %s", cluster.name, exc)
        return "unreachable"
    except Exception:
        logger.exception("readiness: cluster %s cannot be configured", cluster.name)
        return "misconfigured"
    finally:
        connection.close()  # this thread's database connection, if the client needed one
    return "ok"


PROBES: dict[str, Callable[[HttpRequest], HttpResponse]] = {"/healthz": healthz, "/readyz": readyz}


class ProbeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info)
        if probe is not None and request.method in ("GET", "HEAD"):
            return probe(request)
        return self.get_response(request)
