"""Concurrent creates through a real HTTP server: nothing lost, nothing doubled, no server error.

The console runs under gunicorn on loopback with its own SQLite file, against
the session's control plane, as it would in production.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from kubegems_routes.controlplane.server import ControlPlane, free_port
from kubegems_routes.kube.client import KubeClient
from tests.helpers import route_data

ROOT = Path(__file__).resolve().parent.parent
NAMESPACE = "demo-shop-dev"


def _wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {proc.stdout.read() if proc.stdout else ''}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


@pytest.fixture
def served_console(control_plane: ControlPlane, tmp_path: Path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kubegems_routes.settings",
        "DJANGO_SECRET_KEY": "load-test-secret-key-not-for-production-0123456789",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_SECURE_COOKIES": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'load.sqlite3'}",
    }
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    seeded = subprocess.run(
        [*manage, "seed_demo", "--kubeconfig", str(control_plane.kubeconfig_path)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    password = re.search(r"user 'demo' password '([^']+)'", seeded.stdout).group(1)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "kubegems_routes.wsgi", "-b", f"127.0.0.1:{port}", "-w", "4"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}", password, env
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _login(base: str, password: str, username: str = "demo") -> requests.Session:
    session = requests.Session()
    session.get(f"{base}/login/", timeout=10)
    response = session.post(
        f"{base}/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": f"{base}/login/"},
        timeout=10,
    )
    assert response.url.endswith("/workbench/"), response.text[:500]
    return session


@pytest.mark.slow
def test_fifty_distinct_and_ten_same_name_creates(served_console, kube: KubeClient):
    base, password, env = served_console
    session = _login(base, password)
    workbench = session.get(f"{base}/workbench/", timeout=10).text
    env_id = re.search(r"/workbench/environments/(\d+)/", workbench).group(1)
    create = f"{base}/workbench/environments/{env_id}/routes/-/new/"
    form = session.get(create, timeout=10).text
    gateway = re.search(r'<option value="(\d+)"[^>]*>public', form).group(1)
    token = session.cookies["csrftoken"]

    def post(name: str, host: str) -> requests.Response:
        data = route_data(gateway, name=name, host=host, csrfmiddlewaretoken=token)
        return session.post(create, data=data, headers={"Referer": create}, allow_redirects=False, timeout=60)

    jobs = [(f"load-{i:02}", f"load-{i:02}.demo.kubegems.io") for i in range(50)]
    jobs += [("same-name", f"same-{i}.demo.kubegems.io") for i in range(10)]
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        responses = list(pool.map(lambda job: post(*job), jobs))

    statuses = [r.status_code for r in responses]
    assert 500 not in statuses
    assert statuses[:50] == [302] * 50
    same = responses[50:]
    assert sorted(r.status_code for r in same) == [200] * 9 + [302]
    for loser in (r for r in same if r.status_code == 200):
        assert re.search(r'id="error_\d+_id_name"[^>]*>.*already exists', loser.text, re.S), loser.text[:3000]

    managed = kube.list_ingresses(NAMESPACE, label_selector="app.kubernetes.io/managed-by=kubegems-routes")
    assert len(managed) == 51
    count = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from kubegems_routes.routes.models import Route; print(Route.objects.count())",
        ],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    assert count.stdout.strip().splitlines()[-1] == "51"


RIVAL = """
from django.contrib.auth import get_user_model
from kubegems_routes.demo.seed import seed_cluster_objects
from kubegems_routes.tenancy.models import Cluster, Environment, Project, Tenant, TenantMember
cluster = Cluster.objects.get(name="local")
tenant = Tenant.objects.create(name="rival")
project = Project.objects.create(tenant=tenant, name="web")
environment = Environment.objects.create(project=project, cluster=cluster, name="prod", namespace="{namespace}")
user = get_user_model().objects.create_user("rival", password="{password}")
TenantMember.objects.create(tenant=tenant, user=user, role="admin")
seed_cluster_objects(cluster, "{namespace}")
print("ENVIRONMENT", environment.pk)
"""


@pytest.mark.slow
def test_two_tenants_racing_for_one_host_never_both_win(served_console, kube: KubeClient):
    """20 concurrent saves of one host on the shared gateway, 10 from each of two tenants."""
    base, password, env = served_console
    rival_namespace = f"rival-{uuid.uuid4().hex[:8]}"
    rival_password = uuid.uuid4().hex
    script = RIVAL.format(namespace=rival_namespace, password=rival_password)
    created = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    rival_env = re.search(r"ENVIRONMENT (\d+)", created.stdout).group(1)
    demo, rival = _login(base, password), _login(base, rival_password, "rival")
    demo_env = re.search(r"/workbench/environments/(\d+)/", demo.get(f"{base}/workbench/", timeout=10).text).group(1)
    host = f"contested-{uuid.uuid4().hex[:8]}.kubegems.io"

    def job(session: requests.Session, env_id: str, i: int):
        create = f"{base}/workbench/environments/{env_id}/routes/-/new/"
        form = session.get(create, timeout=30).text
        shared = re.search(r'<option value="(\d+)"[^>]*>default-gateway', form).group(1)
        # One path each: the same tenant may share its host, not a path.
        data = route_data(shared, name=f"race-{i:02}", host=host, csrfmiddlewaretoken=session.cookies["csrftoken"])
        data["paths-0-path"] = f"/p{i}"
        return session.post(create, data=data, headers={"Referer": create}, allow_redirects=False, timeout=60)

    jobs = [(demo, demo_env, i) if i % 2 else (rival, rival_env, i) for i in range(20)]
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        responses = list(pool.map(lambda j: job(*j), jobs))

    statuses = [r.status_code for r in responses]
    assert 500 not in statuses
    winners = {jobs[i][1] for i, r in enumerate(responses) if r.status_code == 302}
    assert len(winners) == 1, f"both tenants won the host: {statuses}"
    for i, response in enumerate(responses):
        if jobs[i][1] not in winners:
            assert response.status_code == 200
            assert "already served on this gateway for another tenant" in response.text
    # The cluster agrees: every Ingress serving the host is in the winner's namespace.
    serving = {
        item["metadata"]["namespace"]
        for item in kube.list_ingresses()
        if any(rule.get("host") == host for rule in item["spec"].get("rules", []))
    }
    assert serving == {NAMESPACE if winners == {demo_env} else rival_namespace}
