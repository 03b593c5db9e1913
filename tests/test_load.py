"""Concurrent creates through a real HTTP server: nothing lost, nothing doubled, no server error.

The console runs under gunicorn (the repository's gunicorn.conf.py: one process, 8 threads)
on loopback with its own database on this run's engine (a SQLite file, or a
fresh database on the session's PostgreSQL server), against the session's
control plane, as it would in production.
"""

from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from kubegems_routes.controlplane.server import ControlPlane
from kubegems_routes.kube.client import KubeClient
from tests.helpers import route_data
from tests.postgres import Postgres
from tests.served import gunicorn, manage, production_env

NAMESPACE = "demo-shop-dev"
RIVAL_NAMESPACE = "rival-web-dev"
RIVAL_PASSWORD = "rival-password-not-secret-0123"

# A second tenant beside the demo one, on the same cluster and its shared default gateway.
SEED_RIVAL = f"""
from django.contrib.auth import get_user_model
from kubegems_routes.demo.seed import seed_cluster_objects
from kubegems_routes.tenancy.models import Cluster, Environment, Project, Tenant, TenantMember
cluster = Cluster.objects.get(name="local")
tenant = Tenant.objects.create(name="rival")
project = Project.objects.create(tenant=tenant, name="web")
environment = Environment.objects.create(project=project, cluster=cluster, name="dev", namespace="{RIVAL_NAMESPACE}")
user = get_user_model().objects.create_user("rival", password="{RIVAL_PASSWORD}")
TenantMember.objects.create(tenant=tenant, user=user, role=TenantMember.Role.ADMIN)
seed_cluster_objects(cluster, environment.namespace)
"""


@pytest.fixture(scope="module")
def served_console(control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory, postgres: Postgres | None):
    """One console for the module's tests (set-up takes most of their time); each test counts its own routes."""
    tmp_path = tmp_path_factory.mktemp("load")
    database_url = postgres.create_database("load") if postgres else f"sqlite:///{tmp_path / 'load.sqlite3'}"
    env = production_env(tmp_path, database_url)
    manage(env, "migrate", "-v0")
    manage(env, "collectstatic", "--noinput", "-v0")
    seeded = manage(env, "seed_demo", "--kubeconfig", str(control_plane.kubeconfig_path))
    password = re.search(r"user 'demo' password '([^']+)'", seeded.stdout).group(1)
    manage(env, "shell", "-c", SEED_RIVAL)
    with gunicorn(env, tmp_path) as (base, log, _proc):
        yield base, password, env, log


class Console:
    """One logged-in user's browser session: the create form of their environment."""

    def __init__(self, base: str, username: str, password: str) -> None:
        self.session = requests.Session()
        self.session.get(f"{base}/login/", timeout=10)
        response = self.session.post(
            f"{base}/login/",
            data={"username": username, "password": password, "csrfmiddlewaretoken": self.session.cookies["csrftoken"]},
            headers={"Referer": f"{base}/login/"},
            timeout=10,
        )
        assert response.url.endswith("/workbench/"), response.text[:500]
        workbench = self.session.get(f"{base}/workbench/", timeout=10).text
        env_id = re.search(r"/workbench/environments/(\d+)/", workbench).group(1)
        self.create_url = f"{base}/workbench/environments/{env_id}/routes/-/new/"
        self.form = self.session.get(self.create_url, timeout=10).text
        self.token = self.session.cookies["csrftoken"]

    def gateway(self, label: str) -> str:
        return re.search(rf'<option value="(\d+)"[^>]*>{label}', self.form).group(1)

    def create(self, gateway: str, name: str, host: str) -> requests.Response:
        data = route_data(gateway, name=name, host=host, csrfmiddlewaretoken=self.token)
        headers = {"Referer": self.create_url}
        return self.session.post(self.create_url, data=data, headers=headers, allow_redirects=False, timeout=90)


def _route_count(env: dict[str, str], prefix: str) -> int:
    script = (
        "from kubegems_routes.routes.models import Route; "
        f"print(Route.objects.filter(name__startswith={prefix!r}).count())"
    )
    return int(manage(env, "shell", "-c", script).stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_fifty_distinct_and_ten_same_name_creates(served_console, kube: KubeClient):
    base, password, env, _log = served_console
    console = Console(base, "demo", password)
    gateway = console.gateway("public")

    jobs = [(f"load-{i:02}", f"load-{i:02}.demo.kubegems.io") for i in range(50)]
    jobs += [("same-name", f"same-{i}.demo.kubegems.io") for i in range(10)]
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        responses = list(pool.map(lambda job: console.create(gateway, *job), jobs))

    statuses = [r.status_code for r in responses]
    assert 500 not in statuses
    assert statuses[:50] == [302] * 50
    same = responses[50:]
    assert sorted(r.status_code for r in same) == [200] * 9 + [302]
    for loser in (r for r in same if r.status_code == 200):
        assert re.search(r'id="error_\d+_id_name"[^>]*>.*already exists', loser.text, re.S), loser.text[:3000]

    managed = kube.list_ingresses(NAMESPACE, label_selector="app.kubernetes.io/managed-by=kubegems-routes")
    assert len([i for i in managed if i["metadata"]["name"].startswith(("load-", "same-name"))]) == 51
    assert _route_count(env, "load-") + _route_count(env, "same-name") == 51


def test_two_tenants_racing_for_the_same_hosts_get_one_each(served_console, kube: KubeClient):
    base, password, env, _log = served_console
    demo = Console(base, "demo", password)
    rival = Console(base, "rival", RIVAL_PASSWORD)
    shared = demo.gateway("default-gateway")
    assert rival.gateway("default-gateway") == shared

    hosts = [f"race-{i:02}.kubegems.io" for i in range(12)]
    jobs = [(console, f"race-{i:02}", host) for i, host in enumerate(hosts) for console in (demo, rival)]
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        responses = list(pool.map(lambda job: job[0].create(shared, job[1], job[2]), jobs))

    assert 500 not in [r.status_code for r in responses]
    for i, host in enumerate(hosts):
        pair = responses[2 * i : 2 * i + 2]
        assert sorted(r.status_code for r in pair) == [200, 302], (host, [r.status_code for r in pair])
        loser = next(r for r in pair if r.status_code == 200)
        assert f"Host {host} is already served on this gateway for another tenant." in loser.text, loser.text[:3000]

    ingresses = kube.list_ingresses()
    for host in hosts:
        claims = [
            (i["metadata"]["namespace"], i["metadata"]["name"])
            for i in ingresses
            if any(rule.get("host") == host for rule in i["spec"].get("rules", []))
        ]
        assert len(claims) == 1, (host, claims)
    assert _route_count(env, "race-") == len(hosts)


@pytest.mark.slow
def test_one_process_serves_the_load_and_lists_each_kind_once(served_console):
    """The process model (gunicorn.conf.py): one process, never recycled, so the cluster is listed once per kind
    whatever the number of requests, and every later read follows the watches."""
    base, password, _env, log = served_console
    console = Console(base, "demo", password)  # the create form: starts the cluster's cache
    for _ in range(20):
        assert console.session.get(console.create_url, timeout=30).status_code == 200

    def entries() -> list[dict]:
        return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]

    deadline = time.monotonic() + 30
    while not any("local/services cache: listed" in e["message"] for e in entries()):
        assert time.monotonic() < deadline, "the cache did not list the cluster"
        time.sleep(0.2)
    messages = [e["message"] for e in entries()]
    assert sum("Booting worker" in m for m in messages) == 1, [m for m in messages if "worker" in m]
    for kind in ("ingresses", "services", "namespaces"):
        assert sum(m.startswith(f"local/{kind} cache: listed") for m in messages) == 1, kind
