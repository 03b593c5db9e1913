"""Production settings and probes: liveness, readiness, JSON logs with request ids, hashed static files,
and a refusal in one line when the settings are wrong."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import yaml
from django.conf import settings

from kubegems_routes.controlplane.server import free_port
from kubegems_routes.tenancy.models import Cluster
from tests.served import GUNICORN, ROOT, gunicorn, manage, production_env

pytestmark = pytest.mark.django_db


def test_liveness_asks_nothing_and_answers_any_host(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz", HTTP_HOST="10.244.3.17:8000")  # kubelet: the pod's IP, plain HTTP
    assert response.status_code == 200
    assert response.content == b"ok"


def _kubeconfig(port: int) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "c", "cluster": {"server": f"https://127.0.0.1:{port}"}}],
            "users": [{"name": "u", "user": {"token": "x"}}],
            "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
            "current-context": "c",
        }
    )


def test_readiness_reports_each_cluster_and_one_bad_cluster_does_not_fail_it(client, cluster):
    Cluster.objects.create(name="gone", kubeconfig=_kubeconfig(free_port()))  # nothing listens there
    listener = socket.socket()  # accepts connections, never answers
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    Cluster.objects.create(name="silent", kubeconfig=_kubeconfig(listener.getsockname()[1]))
    try:
        started = time.monotonic()
        response = client.get("/readyz", HTTP_HOST="10.244.3.17:8000")
        elapsed = time.monotonic() - started
    finally:
        listener.close()
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "clusters": {"local": "ok", "gone": "unreachable", "silent": "unreachable"},
    }
    # The silent cluster is bounded by the readiness timeout, not the console's longer read timeout.
    assert elapsed < settings.READY_CLUSTER_TIMEOUT * 2 + 1.5, elapsed


def test_readiness_names_a_cluster_whose_credentials_this_replica_cannot_decrypt(client, cluster, settings):
    Cluster.objects.create(name="sealed", kubeconfig=_kubeconfig(free_port()))  # encrypted with today's key
    settings.CREDENTIALS_KEYS = ("another replica's key", "derived-from-secret-key:" + settings.SECRET_KEY)
    cluster.save()  # "local" is written again, with the new first key
    settings.CREDENTIALS_KEYS = ("another replica's key",)  # reads "local", not "sealed"
    response = client.get("/readyz", HTTP_HOST="10.244.3.17:8000")
    assert response.status_code == 200
    assert response.json()["clusters"] == {"local": "ok", "sealed": "misconfigured"}


def test_served_console_logs_json_with_request_ids_and_serves_hashed_static_files(tmp_path, database_url):
    env = production_env(tmp_path, database_url)
    manage(env, "migrate", "-v0")
    manage(env, "collectstatic", "--noinput", "-v0")
    with gunicorn(env, tmp_path) as (base, log_path, _proc):
        page = requests.get(f"{base}/login/", headers={"X-Request-ID": "probe-abc.123"}, timeout=10)
        assert page.status_code == 200
        assert page.headers["X-Request-ID"] == "probe-abc.123"
        generated = requests.get(f"{base}/login/", headers={"X-Request-ID": "bad id\twith spaces"}, timeout=10)
        assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["X-Request-ID"])

        stylesheet = re.search(r'href="(/static/css/console\.[0-9a-f]{12}\.css)"', page.text)
        assert stylesheet, "the page links the hashed stylesheet"
        css = requests.get(base + stylesheet.group(1), headers={"Accept-Encoding": "gzip"}, timeout=10)
        assert css.status_code == 200
        assert "immutable" in css.headers["Cache-Control"] and "max-age=315360000" in css.headers["Cache-Control"]
        assert css.headers.get("Content-Encoding") == "gzip"

        ready = requests.get(f"{base}/readyz", timeout=10)
        assert ready.status_code == 200 and ready.json()["database"] == "ok"
    lines = [line for line in log_path.read_text().splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line is one JSON object, gunicorn's own too
    access = {e.get("request_id"): e for e in entries if e["logger"] == "kubegems_routes.access"}
    sent = access["probe-abc.123"]
    assert (sent["method"], sent["path"], sent["status"], sent["level"]) == ("GET", "/login/", 200, "INFO")
    assert generated.headers["X-Request-ID"] in access
    assert any(e["logger"].startswith("gunicorn") for e in entries)


def test_readiness_fails_without_the_database_while_liveness_holds(tmp_path):
    env = production_env(tmp_path, f"postgres://nobody:nothing@127.0.0.1:{free_port()}/none")
    with gunicorn(env, tmp_path) as (base, _log, _proc):
        assert requests.get(f"{base}/healthz", timeout=10).status_code == 200
        ready = requests.get(f"{base}/readyz", timeout=10)
        assert ready.status_code == 503
        assert ready.json() == {"status": "unavailable", "database": "unavailable"}


BAD_SETTINGS = {
    "no secret key": ({"DJANGO_SECRET_KEY": ""}, "DJANGO_SECRET_KEY"),
    "boolean": ({"DJANGO_DEBUG": "maybe"}, "DJANGO_DEBUG"),
    "number": ({"KGR_KUBE_READ_TIMEOUT": "ten"}, "KGR_KUBE_READ_TIMEOUT"),
    "whole number": ({"DJANGO_SECURE_HSTS_SECONDS": "1y"}, "DJANGO_SECURE_HSTS_SECONDS"),
    "database url": ({"DATABASE_URL": "postgress://db/console"}, "DATABASE_URL"),
    "secret file": ({"DJANGO_SECRET_KEY_FILE": "/nonexistent/secret"}, "DJANGO_SECRET_KEY_FILE"),
    "log format": ({"DJANGO_LOG_FORMAT": "xml"}, "DJANGO_LOG_FORMAT"),
    "nameserver": ({"KGR_DNS_NAMESERVERS": "10.0.0.10,dns.example.com"}, "KGR_DNS_NAMESERVERS"),
    "versions kept": ({"KGR_ROUTE_VERSIONS_KEPT": "0"}, "KGR_ROUTE_VERSIONS_KEPT"),
    "provider without client": ({"KGR_OIDC_ISSUER": "https://sso.example.com/realms/x"}, "KGR_OIDC_CLIENT_ID"),
    "provider scopes": (
        {"KGR_OIDC_ISSUER": "https://sso.example.com/realms/x", "KGR_OIDC_CLIENT_ID": "c"}
        | {"KGR_OIDC_CLIENT_SECRET": "s", "KGR_OIDC_SCOPES": "email,profile"},
        "KGR_OIDC_SCOPES",
    ),
    "local log-in": ({"KGR_LOCAL_LOGIN": "sometimes"}, "KGR_LOCAL_LOGIN"),
}
COMMANDS = {
    "gunicorn": [*GUNICORN, "-b", "127.0.0.1:0"],
    "migrate": [sys.executable, "manage.py", "migrate"],
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", BAD_SETTINGS)
def test_wrong_settings_refuse_to_start_with_one_line(tmp_path, case, command):
    overrides, name = BAD_SETTINGS[case]
    env = production_env(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite3'}", **overrides)
    result = subprocess.run(COMMANDS[command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    output = (result.stdout + result.stderr).strip().splitlines()
    assert result.returncode == 2, output
    assert len(output) == 1, output
    assert output[0].startswith("kubegems-routes: refusing to start: ") and name in output[0]


def test_replicas_starting_together_migrate_one_at_a_time(tmp_path, database_url, postgres):
    """Each pod's init container runs migrate_locked; on PostgreSQL they queue on a lock, none fails."""
    env = production_env(tmp_path, database_url)
    replicas = 3 if postgres is not None else 1  # SQLite is one process on one machine
    command = [sys.executable, "manage.py", "migrate_locked", "--noinput", "-v1"]
    procs = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(replicas)
    ]
    outputs = [proc.communicate(timeout=180)[0] for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * replicas, outputs
    applied = [out.count("Applying ") for out in outputs]
    assert sorted(applied)[-1] > 0 and sorted(applied)[:-1] == [0] * (replicas - 1), applied
    assert "No migrations to apply" in "".join(outputs) or replicas == 1
    manage(env, "migrate", "--check")


def test_sigterm_lets_the_request_in_flight_finish_then_exits(tmp_path):
    """Graceful shutdown (gunicorn.conf.py): a pod being stopped answers what it has started."""
    listener = socket.socket()  # a cluster that accepts connections and never answers: a slow /readyz
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    env = production_env(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite3'}", KGR_READY_CLUSTER_TIMEOUT="3")
    manage(env, "migrate", "-v0")
    kubeconfig = _kubeconfig(listener.getsockname()[1])
    manage(
        env,
        "shell",
        "-c",
        "from kubegems_routes.tenancy.models import Cluster; "
        f"Cluster.objects.create(name='slow', kubeconfig={kubeconfig!r})",
    )
    try:
        with gunicorn(env, tmp_path, workers=1) as (base, _log, proc):
            with ThreadPoolExecutor(1) as pool:
                in_flight = pool.submit(requests.get, f"{base}/readyz", timeout=30)
                time.sleep(1)  # the worker is inside the request, waiting on the cluster
                stopping = time.monotonic()
                proc.send_signal(signal.SIGTERM)
                answer = in_flight.result()
            assert answer.status_code == 200 and answer.json()["clusters"] == {"slow": "unreachable"}
            proc.wait(timeout=30)
            assert proc.returncode == 0
            assert time.monotonic() - stopping < 25  # within graceful_timeout
    finally:
        listener.close()
