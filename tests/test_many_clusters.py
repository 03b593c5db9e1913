"""Ten clusters, three of them unreachable, served by one console process (gunicorn.conf.py: one process, threads).

The seven reachable clusters are the session's real API server registered
seven times (seven caches, seven sets of watches); the unreachable ones are a
closed loopback port (refused at once) and two listening sockets that accept
and never answer (each call waits out the connect timeout, or would).
"""

from __future__ import annotations

import json
import logging
import re
import socket
import statistics
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest
import requests
import yaml

from kubegems_routes.controlplane.server import ControlPlane, free_port
from kubegems_routes.kube import cache as kube_cache_module
from kubegems_routes.tenancy.models import Cluster
from tests.postgres import Postgres
from tests.served import gunicorn, manage, production_env

PASSWORD = "many-clusters-password-not-secret-0123"
REACHABLE = 7
CONNECT_TIMEOUT = 8

SEED = """
import json
from django.contrib.auth import get_user_model
from kubegems_routes.demo.seed import seed_cluster_objects
from kubegems_routes.gateways.models import Gateway
from kubegems_routes.routes.models import Route, RoutePath
from kubegems_routes.tenancy.models import Cluster, Environment, Project, Tenant, TenantMember
tenant = Tenant.objects.create(name="many")
project = Project.objects.create(tenant=tenant, name="web")
user = get_user_model().objects.create_user("many", password={password!r})
TenantMember.objects.create(tenant=tenant, user=user, role=TenantMember.Role.ADMIN)
for name, kubeconfig, reachable in json.loads(open({clusters!r}).read()):
    cluster = Cluster.objects.create(name=name, kubeconfig=kubeconfig)
    env = Environment.objects.create(project=project, cluster=cluster, name=name, namespace="many-" + name)
    gateway = Gateway.objects.create(
        cluster=cluster, tenant=tenant, name="public", ingress_class="many-" + name, default_domain="*.many.example.com"
    )
    route = Route.objects.create(environment=env, name="shop", gateway=gateway, host=name + ".many.example.com")
    RoutePath.objects.create(route=route, path="/", service="web", port="80")
    if reachable:
        seed_cluster_objects(cluster, env.namespace)
    print("ENV", name, env.pk)
"""


def _kubeconfig(document: dict, server: str) -> str:
    cluster = {**document["clusters"][0], "cluster": {**document["clusters"][0]["cluster"], "server": server}}
    return yaml.safe_dump({**document, "clusters": [cluster]})


@pytest.fixture(scope="module")
def silent_listeners() -> Iterator[list[socket.socket]]:
    """Sockets that accept connections (the kernel's backlog) and never say a byte."""
    listeners = []
    for _ in range(2):
        listener = socket.create_server(("127.0.0.1", 0), backlog=1024)
        listeners.append(listener)
    yield listeners
    for listener in listeners:
        listener.close()


@pytest.fixture(scope="module")
def ten_clusters(control_plane: ControlPlane, silent_listeners, tmp_path_factory, postgres: Postgres | None):
    tmp_path = tmp_path_factory.mktemp("many")
    database_url = postgres.create_database("many") if postgres else f"sqlite:///{tmp_path / 'many.sqlite3'}"
    # A connect timeout longer than any page should take: a page that waited on one would show.
    env = production_env(tmp_path, database_url, KGR_KUBE_CONNECT_TIMEOUT=str(CONNECT_TIMEOUT))
    manage(env, "migrate", "-v0")
    manage(env, "collectstatic", "--noinput", "-v0")
    real = control_plane.kubeconfig
    clusters = [(f"up-{i}", yaml.safe_dump(real), True) for i in range(REACHABLE)]
    clusters += [("refused", _kubeconfig(real, f"https://127.0.0.1:{free_port()}"), False)]
    clusters += [
        (f"silent-{i}", _kubeconfig(real, f"https://127.0.0.1:{s.getsockname()[1]}"), False)
        for i, s in enumerate(silent_listeners)
    ]
    listed = tmp_path / "clusters.json"
    listed.write_text(json.dumps(clusters))
    try:
        seeded = manage(env, "shell", "-c", SEED.format(password=PASSWORD, clusters=str(listed))).stdout
    except subprocess.CalledProcessError as exc:
        raise AssertionError(exc.stderr[-3000:]) from None
    environments = {name: int(pk) for name, pk in re.findall(r"^ENV (\S+) (\d+)$", seeded, re.M)}
    with gunicorn(env, tmp_path) as (base, log_path, _proc):
        yield base, environments, log_path


def _session(base: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{base}/login/", timeout=10)
    response = session.post(
        f"{base}/login/",
        data={"username": "many", "password": PASSWORD, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": f"{base}/login/"},
        timeout=10,
    )
    assert response.url.endswith("/workbench/"), response.text[:500]
    return session


@pytest.mark.slow
def test_reachable_clusters_pages_do_not_wait_on_unreachable_ones(ten_clusters):
    base, environments, log_path = ten_clusters
    session = _session(base)
    up = [name for name in environments if name.startswith("up-")]
    down = [name for name in environments if name not in up]

    def page(name: str, s: requests.Session = session, form: bool = False) -> tuple[float, str]:
        started = time.monotonic()
        url = f"{base}/workbench/environments/{environments[name]}/routes/{'-/new/' if form else ''}"
        response = s.get(url, timeout=60)
        assert response.status_code == 200, response.text[:500]
        return time.monotonic() - started, response.text

    # Kubelet's readiness probe asks every cluster before traffic comes (in parallel, 2 s each): the silent
    # ones are known as silent from then on, and their calls fail at once for a while.
    ready = requests.get(f"{base}/readyz", timeout=30).json()
    assert ready["clusters"] == {name: "ok" if name in up else "unreachable" for name in environments}
    for name in up:  # starts each cluster's cache; the page reads the API server meanwhile
        _elapsed, text = page(name)
        assert "cannot be reached" not in text and "shop" in text

    # Sixteen clients (twice the process's threads) keep asking for the unreachable clusters' pages (the
    # list, and the create form, which starts the cluster's cache), while one client walks the reachable ones.
    stop = threading.Event()
    down_times: list[float] = []

    sessions = [_session(base) for _ in range(16)]  # logged in first: 16 password hashes at once are CPU

    def hammer(i: int) -> None:
        own = sessions[i]
        while not stop.is_set():
            elapsed, text = page(down[i % len(down)], own)
            assert "The cluster cannot be reached right now." in text
            down_times.append(elapsed)
            down_times.append(page(down[i % len(down)], own, form=True)[0])

    hammering = [threading.Thread(target=hammer, args=(i,), daemon=True) for i in range(16)]
    for thread in hammering:
        thread.start()
    up_times = []
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            for name in up:
                elapsed, text = page(name)
                assert "cannot be reached" not in text
                up_times.append(elapsed)
    finally:
        stop.set()
        for thread in hammering:
            thread.join(timeout=30)

    # The reachable pages did not wait for threads held by another cluster's connect timeout (8 s): without
    # the silences, all 8 threads would be held by the sixteen clients' calls, and nearly every page would wait
    # seconds. (On a loaded machine a few pages still wait behind the sixteen clients' CPU.)
    assert statistics.median(up_times) < 1 and statistics.quantiles(up_times, n=10)[-1] < CONNECT_TIMEOUT / 4, sorted(
        up_times
    )[-10:]
    # The unreachable pages said so, mostly at once (not after the 8 s connect timeout; on a loaded machine a
    # median of half a second was seen): a silent server is tried by one call at a time, at most every 15 s.
    assert len(down_times) > 100 and statistics.median(down_times) < CONNECT_TIMEOUT / 4, (
        len(down_times),
        sorted(down_times)[-5:],
    )

    # Their caches back off quietly: a line when a kind first fails, not one per retry.
    lines = log_path.read_text().splitlines()
    for name in down:
        cache_lines = [line for line in lines if f"{name}/" in line and "cache:" in line]
        assert 1 <= len(cache_lines) <= 8, cache_lines  # six kinds, and the EndpointSlices of the namespace


def test_an_unreachable_clusters_cache_backs_off_exponentially_and_logs_once(kube_cache, db, caplog):
    cluster = Cluster.objects.create(
        name="nowhere",
        kubeconfig=_kubeconfig(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {}}],
                "users": [{"name": "u", "user": {"token": "x"}}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "c",
            },
            f"https://127.0.0.1:{free_port()}",
        ),
    )
    with caplog.at_level(logging.INFO, logger=kube_cache_module.__name__):
        cache = cluster.cache()
        assert cache is not None
        time.sleep(7)
    attempts = cache.ingresses.failures
    # 0.2, 0.4, 0.8, 1.6, 3.2 s apart (with jitter): about 5 attempts in 7 s, not one per 0.2 s.
    assert 3 <= attempts <= 7, attempts
    assert not cache.ingresses.synced and "cannot be reached" in cache.ingresses.last_error
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("nowhere/ingresses cache:")]
    assert len(lines) == 1, lines
