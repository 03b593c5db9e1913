"""Benchmarks 11-14 (issue 25): the process model, side by side in one run.

    .venv/bin/python bench/run.py --only process-model [--ingresses N] [--window S] [--runs N]

"before" is the former production model: 4 sync workers recycled after
2,000 (+-200) requests each; "now" is gunicorn.conf.py: one process with 8
threads, never recycled. Both serve the same database and control plane, one
after the other, under the same traffic.

- 11. LIST calls the API server receives at cluster scope (the caches' full
  lists; pages list in their namespace) from the console's start to the end
  of a window of steady traffic, read from kube-apiserver's own
  ``apiserver_request_total{verb="LIST",scope="cluster"}``, sampled every
  10 s to show whether the count is flat. ``max_requests`` of "before" is
  scaled down by window / 30 minutes, so its workers recycle as often
  within the window as they would in 30 minutes.
- 12. A fresh process's first page of a cluster whose cache is still
  listing (it reads the API server), and how long the lists take (the
  cache's "listed" log lines).
- 13. Memory of the pod (the RSS of gunicorn's master and workers) with
  the 3 clusters' caches synced, against the same model before any cache
  started.
- 14. The list page's throughput with 8 clients.

The 3 clusters are 3 registrations of one control plane holding --ingresses
Ingresses: each registration has its own cache, so the console holds the
records 3 times, as it would for 3 clusters, at the cost of one API server.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
FULL_WINDOW = 1800.0  # the 30 minutes
CACHED_KINDS = ("ingresses", "services", "namespaces", "httproutes", "grpcroutes", "gateways")


class Model:
    def __init__(self, name: str, args: list[str]) -> None:
        self.name = name
        self.args = args


def models(window: float) -> list[Model]:
    scale = window / FULL_WINDOW
    recycle = max(10, round(2000 * scale))
    jitter = max(1, round(200 * scale))
    before = Model(
        f"before: 4 sync workers, recycled every {recycle} (+-{jitter}) requests",
        [
            "-w",
            "4",
            "-k",
            "sync",
            "--threads",
            "1",
            "--max-requests",
            str(recycle),
            "--max-requests-jitter",
            str(jitter),
        ],
    )
    return [before, Model("now: 1 process, 8 threads (gunicorn.conf.py)", [])]


def metrics_client(kubeconfig: Path) -> Callable[[], str]:
    import yaml
    from kubernetes import config

    api = config.new_client_from_config_dict(yaml.safe_load(kubeconfig.read_text()))

    def scrape() -> str:
        method, url, headers, _body, _post = api.param_serialize(
            method="GET",
            resource_path="/metrics",
            header_params={"Accept": "text/plain"},
            auth_settings=["BearerToken"],
        )
        return api.call_api(method, url, header_params=headers).read().decode()

    return scrape


def cluster_lists(metrics: str) -> dict[str, int]:
    """LIST requests at cluster scope by resource, of the kinds the caches list."""
    counts: dict[str, int] = {}
    for line in metrics.splitlines():
        if not line.startswith("apiserver_request_total{") or 'verb="LIST"' not in line:
            continue
        if 'scope="cluster"' not in line:
            continue
        resource = re.search(r'resource="([^"]*)"', line)
        if resource and resource.group(1) in CACHED_KINDS:
            counts[resource.group(1)] = counts.get(resource.group(1), 0) + int(float(line.rsplit(" ", 1)[1]))
    return counts


def pod_rss_mb(master: int) -> float:
    """RSS of the master and its children (the pod's processes), in MB."""
    pids = [master]
    children = Path(f"/proc/{master}/task/{master}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        total += int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1])
    return total / 1024


class Served:
    """gunicorn with one model, its log in a file."""

    def __init__(self, bench: Any, model: Model, tag: str) -> None:
        self.bench = bench
        self.model = model
        self.log = bench.workdir / f"gunicorn-{tag}.log"

    def __enter__(self) -> Served:
        import requests

        from kubegems_routes.controlplane.server import free_port

        port = free_port()
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-c",
                    "gunicorn.conf.py",
                    "kubegems_routes.wsgi",
                    "-b",
                    f"127.0.0.1:{port}",
                    *self.model.args,
                ],
                cwd=ROOT,
                env={**os.environ, "GUNICORN_LOG_LEVEL": "info"},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.base = f"http://127.0.0.1:{port}"
        self.started = time.monotonic()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not start: {self.log.read_text()[-2000:]}")

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=60)

    def session(self) -> Any:
        self.bench.base = self.base
        return self.bench.session()

    def listed(self) -> list[tuple[str, int, float]]:
        """(cluster/kind, records, seconds) of every list the caches logged."""
        found = []
        for line in self.log.read_text().splitlines():
            match = re.search(r'"message": "([^"]+) cache: listed (\d+) in ([\d.]+) s"', line)
            if match:
                found.append((match.group(1), int(match.group(2)), float(match.group(3))))
        return found


def setup(bench: Any, ingresses: int) -> list[Any]:
    """Two more registrations of the control plane (3 clusters' caches), an environment on each, and
    ``ingresses`` Ingresses in 100 other namespaces; the environments of the traffic."""
    from kubegems_routes.controlplane.objects import ensure_namespace
    from kubegems_routes.demo.seed import seed_cluster_objects
    from kubegems_routes.gateways.models import Gateway
    from kubegems_routes.kube.client import KubeClient
    from kubegems_routes.routes import manifest
    from kubegems_routes.tenancy.models import Cluster, Environment

    environments = [bench.environment_with("n100", 100)]
    for i in (2, 3):
        cluster = Cluster.objects.create(name=f"copy-{i}", kubeconfig=bench.cluster.kubeconfig)
        env = Environment.objects.create(
            project=bench.environment.project, cluster=cluster, name=f"copy-{i}", namespace=f"bench-copy-{i}"
        )
        Gateway.objects.create(
            cluster=cluster,
            tenant=bench.environment.project.tenant,
            name="public",
            ingress_class=f"copy-{i}",
            default_domain=f"*.copy{i}.bench.io",
        )
        seed_cluster_objects(cluster, env.namespace)
        environments.append(env)
    client = KubeClient.from_kubeconfig(yaml.safe_load(bench.cluster.kubeconfig))
    namespaces = [f"many-{i:03}" for i in range(100)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda n: ensure_namespace(client, n), namespaces))

    def create(i: int) -> None:
        namespace = namespaces[i % len(namespaces)]
        spec = manifest.RouteSpec(
            name=f"ing-{i:05}",
            namespace=namespace,
            host=f"h{i}.others.bench.io",
            protocol="http",
            ingress_class="others",
            backends=(manifest.Backend(path="/", service="web", port="80"),),
        )
        client.create_ingress(namespace, manifest.build_ingress(spec))

    started = time.monotonic()
    with ThreadPoolExecutor(10) as pool:
        list(pool.map(create, range(ingresses)))
    print(f"{ingresses:,} Ingresses created in {time.monotonic() - started:.0f} s")
    return environments


def traffic(
    served: Served, environments: list[Any], seconds: float, rate: float, samples: list[Any], errors: list[int]
) -> int:
    """Mixed pages and saves at ``rate`` requests/s for ``seconds``: each round, each environment's list page
    and create form, and one create POST on the first; the count so far into ``samples`` every 10 s, the status
    of each answer that was not the expected one into ``errors``. The requests made."""
    from tests.helpers import route_data

    sessions = [served.session() for _ in range(4)]
    form_urls = [f"{served.base}/workbench/environments/{e.pk}/routes/-/new/" for e in environments]
    gateway = re.search(r'<option value="(\d+)"[^>]*>public', sessions[0].get(form_urls[0]).text).group(1)
    pages = [f"{served.base}/workbench/environments/{e.pk}/routes/" for e in environments] + form_urls
    done = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    interval = len(sessions) / rate

    def client(i: int) -> None:
        session = sessions[i]
        n = 0
        while time.monotonic() < stop:
            started = time.monotonic()
            n += 1
            if n % 10 == 0:
                name = f"mix-{id(served) % 1000}-{i}-{n}"
                data = route_data(
                    gateway, name=name, host=f"{name}.bench.io", csrfmiddlewaretoken=session.cookies["csrftoken"]
                )
                response = session.post(form_urls[0], data=data, allow_redirects=False)
                expected = 302
            else:
                response = session.get(pages[(n + i) % len(pages)])
                expected = 200
            with lock:
                done[0] += 1
                if response.status_code != expected:
                    errors.append(response.status_code)
            time.sleep(max(0.0, interval - (time.monotonic() - started)))

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(len(sessions))]
    for thread in threads:
        thread.start()
    next_sample = time.monotonic()
    while any(t.is_alive() for t in threads):
        if time.monotonic() >= next_sample:
            samples.append(done[0])
            next_sample += 10
        time.sleep(0.2)
    return done[0]


def throughput(served: Served, environment: Any, seconds: float, clients: int = 8) -> float:
    url = f"{served.base}/workbench/environments/{environment.pk}/routes/"
    sessions = [served.session() for _ in range(clients)]
    for session in sessions:
        session.get(url)
    done = [0] * clients
    stop = time.monotonic() + seconds

    def worker(i: int) -> None:
        while time.monotonic() < stop:
            if sessions[i].get(url).status_code == 200:
                done[i] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.monotonic() - started)


def measure(bench: Any, model: Model, tag: str, environments: list[Any], window: float, rate: float) -> dict[str, Any]:
    import requests

    scrape = metrics_client(bench.kubeconfig)
    result: dict[str, Any] = {}
    lists_at_start = cluster_lists(scrape())

    def lists_since_start() -> dict[str, int]:
        return {kind: n - lists_at_start.get(kind, 0) for kind, n in cluster_lists(scrape()).items()}

    with Served(bench, model, tag) as served:
        requests.get(f"{served.base}/login/", timeout=30)  # Django's URLs and templates loaded, no cluster
        result["empty_mb"] = pod_rss_mb(served.proc.pid)
        # 12. The first page of a cluster while its cache lists (the first request of the process).
        session = served.session()
        started = time.monotonic()
        first = session.get(f"{served.base}/workbench/environments/{environments[1].pk}/routes/")
        result["first_page_ms"] = (time.monotonic() - started) * 1000
        assert first.status_code == 200 and "cannot be reached" not in first.text, first.text[:300]
        samples: list[int] = []
        served_requests: list[int] = []
        errors: list[int] = []
        mix = threading.Thread(
            target=lambda: served_requests.append(traffic(served, environments, window, rate, samples, errors)),
            daemon=True,
        )
        mix.start()
        series = []
        while mix.is_alive():
            if len(samples) > len(series):
                series.append((samples[len(series)], sum(lists_since_start().values())))
            time.sleep(0.2)
        mix.join()
        series.append((served_requests[0], sum(lists_since_start().values())))
        result["requests"] = served_requests[0]
        result["errors"] = errors
        result["series"] = series
        result["lists"] = lists_since_start()
        result["pod_mb"] = pod_rss_mb(served.proc.pid)
        result["listed"] = served.listed()
        result["throughput"] = statistics.mean(throughput(served, environments[0], 5) for _ in range(2))
    print(tag, {k: v for k, v in result.items() if k != "listed"})
    return result


def run(bench: Any, ingresses: int, window: float, rate: float = 20) -> None:
    environments = setup(bench, ingresses)
    named = models(window)
    results = {
        tag: measure(bench, model, tag, environments, window, rate)
        for tag, model in zip(("before", "now"), named, strict=True)
    }
    write_rows(bench, results, named, ingresses, window, rate)


def write_rows(
    bench: Any, results: dict[str, dict[str, Any]], named: list[Model], ingresses: int, window: float, rate: float
) -> None:
    before, now = results["before"], results["now"]
    kinds = len(CACHED_KINDS)
    rows = bench.rows
    total = {tag: sum(r["lists"].values()) for tag, r in results.items()}
    biggest = max((count for name, count, _s in now["listed"] if name.endswith("/ingresses")), default=ingresses)
    pages = -(-max(biggest, 1) // 500)  # a list of the Ingresses is that many LIST requests (pages of 500)
    first = 3 * (pages + kinds - 1)
    rows.append(
        (
            f"11. cluster-wide LIST requests (pages of 500) from start to the end of {window:.0f} s of traffic at "
            f"{rate:.0f} req/s; the first lists of 3 clusters x {kinds} kinds are {first} per process",
            f"{total['now']} (now: {_kinds(now['lists'])})",
            f"{total['before']} (before: {_kinds(before['lists'])})",
            "",
            f"now: {first}, 0 beyond the first list per kind",
        )
    )
    rows.append(
        (
            "11b. the same, sampled every 10 s (requests served: LISTs so far)",
            ", ".join(f"{c}: {n}" for c, n in now["series"]),
            ", ".join(f"{c}: {n}" for c, n in before["series"]),
            "",
            "flat after start",
        )
    )
    rows.append(
        (
            "11c. answers other than 200/302 during the traffic (status: count)",
            _statuses(now["errors"]) or "none",
            _statuses(before["errors"]) or "none",
            "",
            "none",
        )
    )
    synced = [seconds for name, _count, seconds in now["listed"] if name.endswith("/ingresses")]
    rows.append(
        (
            f"12. a new process's first page of a cluster whose cache is listing ({biggest:,} Ingresses)",
            f"{now['first_page_ms']:.0f} ms",
            f"{before['first_page_ms']:.0f} ms (before)",
            "",
            "answered",
        )
    )
    rows.append(
        (
            "12b. the caches' list of the Ingresses at start, per cluster (now)",
            ", ".join(f"{s:.1f} s" for s in synced),
            "",
            "",
            "report",
        )
    )
    rows.append(
        (
            f"13. memory of the pod (all its processes) with 3 clusters of {biggest:,} Ingresses cached",
            f"{now['pod_mb']:.0f} MB (now)",
            f"{before['pod_mb']:.0f} MB (before)",
            f"{now['pod_mb'] / before['pod_mb']:.2f}",
            "report",
        )
    )
    rows.append(
        (
            "13b. the same over the pod before any cache started (an empty console)",
            f"+{now['pod_mb'] - now['empty_mb']:.0f} MB (now)",
            f"+{before['pod_mb'] - before['empty_mb']:.0f} MB (before)",
            "",
            "now: <= +150 MB",
        )
    )
    rows.append(
        (
            "14. list page (100 routes) with 8 clients, after the traffic",
            f"{now['throughput']:.1f} req/s (now)",
            f"{before['throughput']:.1f} req/s (before)",
            f"{now['throughput'] / before['throughput']:.2f}",
            ">= 27.5 req/s",
        )
    )
    for row in rows[-8:]:
        print(" | ".join(row))
    print("models:", "; ".join(m.name for m in named))


def _kinds(lists: dict[str, int]) -> str:
    return ", ".join(f"{kind} {lists.get(kind, 0)}" for kind in CACHED_KINDS)


def _statuses(codes: list[int]) -> str:
    return ", ".join(f"{code}: {codes.count(code)}" for code in sorted(set(codes)))


SECTION = "## The process model (issue 25): benchmarks 11-14"


def replace_section(text: str, body: str) -> str:
    """RESULTS.md with this section (from its title to the next "## ") replaced, or put before the notes."""
    start = text.find(SECTION)
    if start >= 0:
        end = text.find("\n## ", start + len(SECTION))
        return text[:start] + body + (text[end + 1 :] if end >= 0 else "")
    notes = text.find("## Notes")
    if notes < 0:
        return text.rstrip("\n") + "\n\n" + body
    return text[:notes] + body + text[notes:]


def section_of(text: str) -> str:
    start = text.find(SECTION)
    if start < 0:
        return ""
    end = text.find("\n## ", start + len(SECTION))
    return text[start : end + 1] if end >= 0 else text[start:]
