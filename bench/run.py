"""Benchmarks: what the console costs over the raw API call, and how it scales.

    make bench        (or: .venv/bin/python bench/run.py [--runs N] [--out bench/RESULTS.md])

Everything runs side by side in one process against one local control plane:
a real kube-apiserver + etcd, the console under gunicorn (2 workers) on
loopback with its own SQLite file, and the official `kubernetes` client for
the raw calls. As root it also starts the data plane (the NGINX Ingress
Controller and nginx, backends in a network namespace) for benchmark 6.
Each measurement is the median of --runs runs (at least 5), interleaved with
its baseline so both see the same machine state.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

from kubegems_routes.controlplane.objects import ensure_namespace, install_crds
from tests.kube_calls import record_calls

ROOT = Path(__file__).resolve().parent.parent
FORM = "application/x-www-form-urlencoded"
BENCH_DOMAINS = "*.bench.io\n*.small.bench.io\n*.big.bench.io"
sys.path.insert(0, str(ROOT))


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


class Bench:
    def __init__(self, runs: int, workdir: Path, kubeconfig: Path) -> None:
        self.runs = runs
        self.workdir = workdir
        self.kubeconfig = kubeconfig
        self.lines: list[str] = []
        self.rows: list[tuple[str, str, str, str, str]] = []

    # -- set-up ----------------------------------------------------------------

    def setup_django(self) -> None:
        os.environ.update(
            {
                "DJANGO_SETTINGS_MODULE": "kubegems_routes.settings",
                "DJANGO_SECRET_KEY": "benchmark-secret-key-not-for-production-0123456789",
                "DJANGO_DEBUG": "0",
                "DJANGO_SECURE_SSL_REDIRECT": "0",
                "DJANGO_SECURE_COOKIES": "0",
                "DJANGO_ALLOWED_HOSTS": "127.0.0.1,testserver",
                "DATABASE_URL": f"sqlite:///{self.workdir / 'bench.sqlite3'}",
                "DJANGO_STATIC_ROOT": str(self.workdir / "static"),
            }
        )
        import django

        django.setup()
        from django.core.management import call_command

        from kubegems_routes.demo.seed import demo_users, seed_cluster_objects, seed_database

        call_command("migrate", verbosity=0)
        call_command("collectstatic", "--noinput", verbosity=0)  # hashed names, as in production
        cluster, self.environment = seed_database(self.kubeconfig)
        seed_cluster_objects(cluster, self.environment.namespace)
        self.password = next(c.password for c in demo_users() if c.username == "demo")
        self.cluster = cluster
        # The benchmarks' hosts (a route's host must lie in its gateway's domains since issue 13).
        from kubegems_routes.gateways.models import Gateway

        Gateway.objects.filter(cluster=cluster).update(extra_domains=BENCH_DOMAINS)

    def setup_gateway_api(self) -> None:
        """Gateway API's CRDs, a Gateway in namespace platform admitting the demo namespace by a label selector,
        and the demo tenant's gateway `gw-api` on it (before gunicorn starts, so its caches find the kinds served)."""
        from kubegems_routes.controlplane.gatewayapi import ensure_crds
        from kubegems_routes.gateways.models import Gateway
        from kubegems_routes.kube.client import KubeClient

        client = KubeClient.from_kubeconfig(yaml_load(self.kubeconfig))
        install_crds(client, ensure_crds(), ["/apis/gateway.networking.k8s.io/v1/httproutes"])
        selector = {
            "from": "Selector",
            "selector": {
                "matchExpressions": [
                    {"key": "kubernetes.io/metadata.name", "operator": "In", "values": [self.environment.namespace]}
                ]
            },
        }
        ensure_namespace(client, "platform")
        client.create(
            "/apis/gateway.networking.k8s.io/v1/namespaces/platform/gateways",
            {
                "apiVersion": "gateway.networking.k8s.io/v1",
                "kind": "Gateway",
                "metadata": {"name": "bench-edge", "namespace": "platform"},
                "spec": {
                    "gatewayClassName": "nginx",
                    "listeners": [
                        {"name": "http", "protocol": "HTTP", "port": 80, "allowedRoutes": {"namespaces": selector}}
                    ],
                },
            },
        )
        Gateway.objects.create(
            cluster=self.cluster,
            tenant=self.environment.project.tenant,
            name="gw-api",  # benchmark 6's ingress-class gateway is "edge"
            kind=Gateway.Kind.GATEWAY_API,
            gateway_namespace="platform",
            gateway_name="bench-edge",
            http_listener="http",
            default_domain="*.edge.bench.io",
        )

    def start_gunicorn(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.gunicorn = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "gunicorn.conf.py",
                "kubegems_routes.wsgi",
                "-b",
                f"127.0.0.1:{self.port}",
            ],
            cwd=ROOT,
            env=dict(os.environ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        import requests

        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:  # not listening yet, or still importing under load
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not start")

    def session(self):  # noqa: ANN201
        import requests

        session = requests.Session()
        session.get(f"{self.base}/login/")
        session.post(
            f"{self.base}/login/",
            data={"username": "demo", "password": self.password, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
            headers={"Referer": f"{self.base}/login/"},
        )
        return session

    def raw_clients(self):  # noqa: ANN201
        import yaml
        from kubernetes import client, config

        api = config.new_client_from_config_dict(yaml.safe_load(self.kubeconfig.read_text()))
        return client.NetworkingV1Api(api), client.CoreV1Api(api)

    def report(self, what: str, console: float, baseline: float, baseline_name: str, goal: str) -> None:
        ratio = console / baseline
        self.rows.append((what, f"{console:.1f} ms", f"{baseline:.1f} ms ({baseline_name})", f"{ratio:.2f}", goal))
        print(f"{what}: console {console:.1f} ms, {baseline_name} {baseline:.1f} ms, ratio {ratio:.2f} (goal {goal})")

    # -- helpers -----------------------------------------------------------------

    @staticmethod
    def form_data(token: str, name: str, host: str, gateway: str) -> dict[str, str]:
        from tests.helpers import route_data

        return route_data(gateway, name=name, host=host, csrfmiddlewaretoken=token)

    def manifest_for(self, environment, name: str, host: str) -> dict:  # noqa: ANN001
        from kubegems_routes.gateways.models import Gateway
        from kubegems_routes.routes import manifest
        from kubegems_routes.routes.models import route_spec

        gateway = Gateway.objects.get(cluster=environment.cluster, tenant=environment.project.tenant, name="public")
        return manifest.build_ingress(
            route_spec(
                environment=environment,
                gateway=gateway,
                name=name,
                host=host,
                protocol="http",
                tls_secret="",
                backends=(manifest.Backend(path="/", service="web", port="80"),),
                annotations={},
            )
        )

    def populate(self, environment, count: int, prefix: str) -> None:  # noqa: ANN001
        """count routes: database rows in bulk, Ingresses through the raw client, 8 at a time."""
        from kubegems_routes.gateways.models import Gateway
        from kubegems_routes.routes.models import Route, RoutePath

        gateway = Gateway.objects.get(cluster=environment.cluster, tenant=environment.project.tenant, name="public")
        routes = Route.objects.bulk_create(
            Route(environment=environment, name=f"{prefix}{i:05}", gateway=gateway, host=f"{prefix}{i}.bench.io")
            for i in range(count)
        )
        RoutePath.objects.bulk_create(RoutePath(route=r, path="/", service="web", port="80") for r in routes)
        networking, _core = self.raw_clients()
        bodies = [self.manifest_for(environment, r.name, r.host) for r in routes]
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda b: networking.create_namespaced_ingress(environment.namespace, b), bodies))

    def environment_with(self, name: str, count: int):  # noqa: ANN201
        from kubegems_routes.demo.seed import seed_cluster_objects
        from kubegems_routes.tenancy.models import Environment

        env = Environment.objects.create(
            project=self.environment.project, cluster=self.cluster, name=name, namespace=f"bench-{name}"
        )
        seed_cluster_objects(self.cluster, env.namespace)
        self.populate(env, count, f"{name}-")
        return env

    def setup_big_cluster(self, kubeconfig: Path, count: int) -> None:
        """A second cluster holding `count` Ingresses of the demo gateway's class, in 200 other namespaces."""
        from kubegems_routes.demo.seed import seed_cluster_objects
        from kubegems_routes.gateways.models import Gateway
        from kubegems_routes.kube.client import KubeClient
        from kubegems_routes.routes import manifest
        from kubegems_routes.tenancy.models import Cluster, Environment

        self.big_kubeconfig = kubeconfig
        cluster = Cluster.objects.create(name="big", kubeconfig=kubeconfig.read_text())
        env = Environment.objects.create(
            project=self.environment.project, cluster=cluster, name="big", namespace="bench-big"
        )
        gateway = Gateway.objects.create(
            cluster=cluster,
            tenant=self.environment.project.tenant,
            name="public",
            default_domain="*.big.io",
            extra_domains=BENCH_DOMAINS,
        )
        seed_cluster_objects(cluster, env.namespace)
        client = KubeClient.from_kubeconfig(yaml_load(kubeconfig))
        namespaces = [f"other-{i:03}" for i in range(200)]
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda n: ensure_namespace(client, n), namespaces))

        def create(i: int) -> None:
            namespace = namespaces[i % len(namespaces)]
            spec = manifest.RouteSpec(
                name=f"ing-{i:05}",
                namespace=namespace,
                host=f"h{i}.others.big.io",
                protocol="http",
                ingress_class=gateway.ingress_class,
                backends=(manifest.Backend(path="/", service="web", port="80"),),
            )
            client.create_ingress(namespace, manifest.build_ingress(spec))

        started = time.monotonic()
        with ThreadPoolExecutor(10) as pool:  # the client's connection pool holds 10
            list(pool.map(create, range(count)))
        self.big_count = count
        self.big_populate_seconds = time.monotonic() - started
        print(f"{count} Ingresses created in {self.big_populate_seconds:.0f} s")
        self.big_environment = env

    # -- the benchmarks --------------------------------------------------------------

    def create_at_scale(self) -> None:
        """Create POSTs interleaved: the empty cluster's environment, and the one with 20,000 Ingresses."""
        session = self.session()
        envs = {"small": self.environment, "big": self.big_environment}
        urls = {k: f"{self.base}/workbench/environments/{e.pk}/routes/-/new/" for k, e in envs.items()}
        gateways = {
            k: re.search(r'<option value="(\d+)"[^>]*>public', session.get(u).text).group(1) for k, u in urls.items()
        }
        # Every gunicorn worker starts its caches on first use and reads the API
        # server directly until they have synced (listing 20,000 Ingresses takes
        # seconds there): warm up until 10 creates in a row take the cached path.
        for url in urls.values():
            session.get(url)
        fast, attempt, deadline = 0, 0, time.monotonic() + 300
        while fast < 10 and time.monotonic() < deadline:
            attempt += 1
            data = self.form_data(
                session.cookies["csrftoken"], f"warm-{attempt}", f"w{attempt}.big.io", gateways["big"]
            )
            post = lambda d=data: self._expect(session.post(urls["big"], data=d, allow_redirects=False), 302)  # noqa: E731
            fast = fast + 1 if timed(post) < 0.1 else 0
        print(f"warm after {attempt} creates")
        from kubegems_routes.kube.client import KubeClient

        raw = {k: KubeClient.from_kubeconfig(yaml_load_text(e.cluster.kubeconfig)) for k, e in envs.items()}
        samples: dict[str, list[float]] = {"small": [], "big": [], "raw-small": [], "raw-big": []}
        for i in range(self.runs * 4 + 2):
            for key in ("small", "big") if i % 2 else ("big", "small"):
                data = self.form_data(
                    session.cookies["csrftoken"], f"scale-{key}-{i}", f"s{i}.{key}.bench.io", gateways[key]
                )
                elapsed = timed(
                    lambda u=urls[key], d=data: self._expect(session.post(u, data=d, allow_redirects=False), 302)
                )
                body = self.manifest_for(envs[key], f"scale-raw-{i}", f"r{i}.{key}.bench.io")
                raw_elapsed = timed(lambda k=key, b=body: raw[k].create_ingress(envs[k].namespace, b))
                if i >= 2:
                    samples[key].append(elapsed)
                    samples[f"raw-{key}"].append(raw_elapsed)
        self.report(
            f"7. create POST: {self.big_count:,} Ingresses in other namespaces vs none",
            median_ms(samples["big"]),
            median_ms(samples["small"]),
            "empty cluster",
            "<= 1.2",
        )
        self.report(
            f"7b. raw create (the API server's part): {self.big_count:,} Ingresses vs none",
            median_ms(samples["raw-big"]),
            median_ms(samples["raw-small"]),
            "empty cluster",
            "report",
        )

    def cache_memory(self) -> None:
        """RSS of a fresh Django process before and after its cache of the big cluster has synced."""
        code = (
            "import gc, os, sys, time, django; django.setup()\n"
            "from kubegems_routes.tenancy.models import Cluster\n"
            "def rss():\n"
            "    gc.collect(); time.sleep(0.5)\n"
            "    return int(next(l for l in open('/proc/self/status') if l.startswith('VmRSS')).split()[1]) // 1024\n"
            "small = Cluster.objects.get(name='local').cache(); assert small.wait_synced(60)\n"
            "before = rss()\n"
            "t = time.perf_counter(); gc.collect(); pause0 = (time.perf_counter() - t) * 1e6\n"
            "big = Cluster.objects.get(name='big').cache(); assert big.wait_synced(300)\n"
            "after = rss()\n"
            "t = time.perf_counter(); gc.collect(); pause = (time.perf_counter() - t) * 1e6\n"
            "t = time.perf_counter()\n"
            "for i in range(1000): big.ingresses_overlapping('public-demo', f'h{i}.others.big.io')\n"
            "lookup = (time.perf_counter() - t) * 1000\n"
            "print(before, after, len(big.ingresses.store), round(pause0), round(pause), round(lookup))\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=dict(os.environ), capture_output=True, text=True
        )
        if out.returncode:
            raise RuntimeError(out.stderr[-2000:])
        before, after, count, gc0_us, gc_us, lookup_us = (int(x) for x in out.stdout.split()[-6:])
        self.rows.append(
            (
                f"8b. one full GC (gc.collect) with {count:,} cached Ingresses vs the small cluster's cache",
                f"{gc_us / 1000:.1f} ms",
                f"{gc0_us / 1000:.1f} ms",
                f"{gc_us / max(gc0_us, 1):.2f}",
                "report",
            )
        )
        self.rows.append(
            (
                f"8c. one host-ownership lookup in the cache's index, {count:,} Ingresses",
                f"{lookup_us} µs",
                "",
                "",
                "report",
            )
        )
        self.rows.append(
            (
                f"8. memory: Django process with {count:,} cached Ingresses vs its cache of the small cluster",
                f"{after} MB",
                f"{before} MB",
                f"+{after - before} MB",
                "< +100 MB",
            )
        )
        print(f"8. memory: {before} MB -> {after} MB with {count} Ingresses cached")

    def cache_lag(self) -> None:
        """From a raw create's answer to the cache holding the Ingress (cluster with 20,000 Ingresses)."""
        from kubegems_routes.kube.cache import ClusterCache
        from kubegems_routes.kube.client import KubeClient
        from kubegems_routes.routes import manifest

        document = yaml_load(self.big_kubeconfig)
        cache = ClusterCache(KubeClient.from_kubeconfig(document)).start()
        raw = KubeClient.from_kubeconfig(document)
        try:
            if not cache.wait_synced(300):
                raise RuntimeError("the cache did not sync")
            lags = []
            for i in range(self.runs * 5):
                name = f"lag-{i}"
                spec = manifest.RouteSpec(
                    name=name,
                    namespace="bench-big",
                    host=f"lag{i}.big.io",
                    protocol="http",
                    ingress_class="lag",
                    backends=(manifest.Backend(path="/", service="web", port="80"),),
                )
                raw.create_ingress("bench-big", manifest.build_ingress(spec))
                answered = time.perf_counter()
                while cache.ingresses.store.get(("bench-big", name)) is None:
                    time.sleep(0.0001)
                lags.append(time.perf_counter() - answered)
        finally:
            cache.stop()
        self.rows.append(
            (
                f"9. cache lag: raw create answered -> cache holds it ({len(lags)} creates)",
                f"median {median_ms(lags):.1f} ms",
                f"max {max(lags) * 1000:.1f} ms",
                "",
                "report",
            )
        )
        print(f"9. cache lag: median {median_ms(lags):.1f} ms, max {max(lags) * 1000:.1f} ms")

    def create_overhead(self) -> None:
        session = self.session()
        networking, _ = self.raw_clients()
        env = self.environment
        url = f"{self.base}/workbench/environments/{env.pk}/routes/-/new/"
        gateway = re.search(r'<option value="(\d+)"[^>]*>public', session.get(url).text).group(1)
        console, raw = [], []
        for i in range(self.runs + 1):  # the first pair warms both paths up and is not counted
            data = self.form_data(session.cookies["csrftoken"], f"bench-c{i}", f"c{i}.bench.io", gateway)
            t_console = timed(lambda d=data: self._expect(session.post(url, data=d, allow_redirects=False), 302))
            body = self.manifest_for(env, f"bench-r{i}", f"r{i}.bench.io")
            t_raw = timed(lambda b=body: networking.create_namespaced_ingress(env.namespace, b))
            if i:
                console.append(t_console)
                raw.append(t_raw)
        self.report("1. create: form POST vs raw create", median_ms(console), median_ms(raw), "raw create", "<= 3")

    def create_gateway_api(self) -> None:
        """Create POSTs interleaved: on the Gateway API gateway (an HTTPRoute, its host checked against the
        cache's HTTPRoutes and GRPCRoutes, the Gateway's allowedRoutes with a namespace selector) and on the
        ingress-class gateway (an Ingress); and the raw creates of both kinds."""
        from kubegems_routes.kube.client import KubeClient
        from kubegems_routes.routes import manifest

        session = self.session()
        env = self.environment
        url = f"{self.base}/workbench/environments/{env.pk}/routes/-/new/"
        page = session.get(url).text
        gateways = {
            kind: re.search(rf'<option value="(\d+)"[^>]*>{label}', page).group(1)
            for kind, label in (("ingress", "public"), ("gateway-api", "gw-api"))
        }
        domains = {"ingress": "bench.io", "gateway-api": "edge.bench.io"}

        def post(kind: str, name: str) -> float:
            data = self.form_data(session.cookies["csrftoken"], name, f"{name}.{domains[kind]}", gateways[kind])
            return timed(lambda: self._expect(session.post(url, data=data, allow_redirects=False), 302))

        # Both workers' caches synced for both paths: warm up until 10 creates in a row of each are fast.
        fast, attempt, deadline = 0, 0, time.monotonic() + 120
        while fast < 10 and time.monotonic() < deadline:
            attempt += 1
            slow = max(post(kind, f"warm-{kind}-{attempt}") for kind in gateways)
            fast = fast + 1 if slow < 0.1 else 0
        print(f"warm after {attempt} pairs")
        raw = KubeClient.from_kubeconfig(yaml_load(self.kubeconfig))
        samples: dict[str, list[float]] = {"ingress": [], "gateway-api": [], "raw-ingress": [], "raw-gateway-api": []}
        for i in range(self.runs * 4 + 2):
            for kind in ("ingress", "gateway-api") if i % 2 else ("gateway-api", "ingress"):
                elapsed = post(kind, f"gw-{kind}-{i}")
                spec = manifest.RouteSpec(
                    name=f"gw-raw-{kind}-{i}",
                    namespace=env.namespace,
                    host=f"raw{i}.{domains[kind]}",
                    protocol="http",
                    ingress_class="public-demo",
                    backends=(manifest.Backend(path="/", service="web", port="80"),),
                    parent=manifest.GatewayParent("platform", "bench-edge", "http") if kind == "gateway-api" else None,
                )
                body = manifest.build(spec)
                raw_elapsed = timed(lambda s=spec, b=body: raw.create_route_object(s.kind, env.namespace, b))
                if i >= 2:
                    samples[kind].append(elapsed)
                    samples[f"raw-{kind}"].append(raw_elapsed)
        self.report(
            "10. create POST: Gateway API gateway (HTTPRoute) vs ingress class (Ingress)",
            median_ms(samples["gateway-api"]),
            median_ms(samples["ingress"]),
            "Ingress POST",
            "<= 1.2",
        )
        self.report(
            "10b. raw create (the API server's part): HTTPRoute vs Ingress",
            median_ms(samples["raw-gateway-api"]),
            median_ms(samples["raw-ingress"]),
            "raw Ingress create",
            "report",
        )

    def kubectl_apply(self) -> None:
        kubectl = shutil.which("kubectl")
        if kubectl is None:
            raise SystemExit("kubectl is needed for benchmark 4: apt-get install kubernetes-client (Debian's kubectl)")
        version = subprocess.run([kubectl, "version", "--client"], capture_output=True, text=True).stdout
        self.kubectl_version = version.splitlines()[0] if version else kubectl
        session = self.session()
        env = self.environment
        url = f"{self.base}/workbench/environments/{env.pk}/routes/-/new/"
        gateway = re.search(r'<option value="(\d+)"[^>]*>public', session.get(url).text).group(1)
        import yaml

        console, apply = [], []
        for i in range(self.runs):
            data = self.form_data(session.cookies["csrftoken"], f"bench-k{i}", f"k{i}.bench.io", gateway)
            console.append(timed(lambda d=data: self._expect(session.post(url, data=d, allow_redirects=False), 302)))
            path = self.workdir / f"apply-{i}.yaml"
            path.write_text(yaml.safe_dump(self.manifest_for(env, f"bench-a{i}", f"a{i}.bench.io")))
            cmd = [kubectl, "--kubeconfig", str(self.kubeconfig), "apply", "-f", str(path)]
            apply.append(timed(lambda c=cmd: subprocess.run(c, check=True, capture_output=True)))
        self.report(
            "4. create: form POST vs kubectl apply", median_ms(console), median_ms(apply), "kubectl apply", "report"
        )

    def list_at_scale(self) -> None:
        session = self.session()
        networking, _ = self.raw_clients()
        env1000 = self.environment_with("n1000", 1000)
        env100 = self.environment_with("n100", 100)
        env5000 = self.environment_with("n5000", 5000)

        def page(env) -> float:  # noqa: ANN001
            url = f"{self.base}/workbench/environments/{env.pk}/routes/"
            return timed(lambda: self._expect(session.get(url), 200))

        console, raw = [], []
        for _ in range(self.runs + 1):
            console.append(page(env1000))
            raw.append(timed(lambda: networking.list_namespaced_ingress(env1000.namespace)))
        self.report(
            "2a. list page, 1,000 routes vs raw list", median_ms(console[1:]), median_ms(raw[1:]), "raw list", "<= 2"
        )
        small, large = [], []
        for _ in range(self.runs + 1):
            small.append(page(env100))
            large.append(page(env5000))
        self.report(
            "2b. first page: 5,000 routes vs 100 routes",
            median_ms(large[1:]),
            median_ms(small[1:]),
            "100 routes",
            "<= 1.5",
        )
        self.env100 = env100

    def htmx_toggle(self) -> None:
        """Server time in-process (no network), with the cluster calls counted."""
        from django.contrib.auth import get_user_model
        from django.test import Client
        from django.urls import reverse

        client = Client()
        client.force_login(get_user_model().objects.get(username="demo"))
        env = self.environment
        url = reverse("routes:create-action", args=[env.pk, "secret"])
        gateway = str(env.project.tenant.gateways.get(name="public", cluster=env.cluster).pk)
        data = self.form_data("", "toggle", "", gateway)
        data["protocol"] = "https"
        body = urlencode(data)  # as htmx sends it
        overview = reverse("workbench:environment", args=[env.pk])  # an authenticated view that reads no cluster
        partial, trivial, authenticated = [], [], []
        with record_calls() as calls:
            for _ in range(self.runs * 4 + 1):
                partial.append(
                    timed(lambda: self._expect(client.post(url, body, content_type=FORM, HTTP_HX_REQUEST="true"), 200))
                )
                trivial.append(timed(lambda: self._expect(client.get("/healthz"), 200)))
                authenticated.append(timed(lambda: self._expect(client.get(overview), 200)))
        if calls:
            raise SystemExit(f"the protocol toggle called the cluster: {calls}")
        self.report(
            "3. HTMX protocol toggle vs trivial view (0 cluster calls)",
            median_ms(partial[1:]),
            median_ms(trivial[1:]),
            "/healthz",
            "<= 3",
        )
        self.report(
            "3b. HTMX protocol toggle vs an authenticated trivial view",
            median_ms(partial[1:]),
            median_ms(authenticated[1:]),
            "environment overview",
            "<= 2",
        )

    def throughput(self, seconds: float = 10, clients: int = 8) -> None:
        env = self.env100
        url = f"{self.base}/workbench/environments/{env.pk}/routes/"
        sessions = [self.session() for _ in range(clients)]
        done = [0] * clients
        stop = time.monotonic() + seconds

        def worker(i: int) -> None:
            while time.monotonic() < stop:
                self._expect(sessions[i].get(url), 200)
                done[i] += 1

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        rate = sum(done) / (time.monotonic() - started)
        self.rows.append(
            (f"5. list page (100 routes), {clients} clients, gunicorn.conf.py", f"{rate:.1f} req/s", "", "", "report")
        )
        print(f"5. throughput: {rate:.1f} requests/s")

    def traffic(self, control_plane, routes: int = 20, requests_each: int = 300) -> None:  # noqa: ANN001
        """6. Through the real NGINX Ingress Controller: how soon a saved route serves, and what nginx adds."""
        import urllib3

        from kubegems_routes.dataplane.server import HTTP_BACKENDS, DataPlane, requirements_problem
        from kubegems_routes.gateways.models import Gateway
        from kubegems_routes.tenancy.models import Environment

        problem = requirements_problem()
        if problem:
            self.rows.append(("6. data plane", "not run", problem, "", "report"))
            print(f"6. data plane not run: {problem}")
            return
        plane = DataPlane(control_plane, ingress_class="bench-traffic").start()
        try:
            env = Environment.objects.create(
                project=self.environment.project, cluster=self.cluster, name="traffic", namespace="bench-traffic"
            )
            ensure_namespace(self.cluster.client(), env.namespace)
            plane.publish_backends(env.namespace)  # web: Service port 80 -> backend 8081
            gateway = Gateway.objects.create(
                cluster=self.cluster,
                tenant=env.project.tenant,
                name="edge",
                ingress_class=plane.ingress_class,
                default_domain="*.traffic.bench.io",
            )
            session = self.session()
            url = f"{self.base}/workbench/environments/{env.pk}/routes/-/new/"
            session.get(url)
            nginx = urllib3.HTTPConnectionPool(plane.address, 80, timeout=5, retries=False)
            ready: list[float] = []
            for i in range(routes):
                host = f"t{i}.traffic.bench.io"
                data = self.form_data(session.cookies["csrftoken"], f"bench-t{i}", host, str(gateway.pk))
                self._expect(session.post(url, data=data, allow_redirects=False), 302)
                saved = time.perf_counter()
                while not self._serves(nginx, host):
                    if time.perf_counter() - saved > 30:
                        raise RuntimeError(f"route {host} did not serve within 30 s")
                    time.sleep(0.002)
                ready.append(time.perf_counter() - saved)
            self.rows.append(
                (
                    f"6a. save's redirect to first 200 through nginx ({routes} routes)",
                    f"median {median_ms(ready):.0f} ms",
                    f"max {max(ready) * 1000:.0f} ms",
                    "",
                    "report",
                )
            )
            print(f"6a. ready after save: median {median_ms(ready):.0f} ms, max {max(ready) * 1000:.0f} ms")

            direct = urllib3.HTTPConnectionPool(plane.address, HTTP_BACKENDS["web"], timeout=5, retries=False)
            through, straight = [], []
            for _ in range(requests_each + 10):  # interleaved; the first 10 of each warm up
                through.append(timed(lambda: nginx.request("GET", "/", headers={"Host": "t0.traffic.bench.io"})))
                straight.append(timed(lambda: direct.request("GET", "/")))
            self.report(
                f"6b. GET through nginx vs straight to the backend ({requests_each} each, keep-alive)",
                median_ms(through[10:]),
                median_ms(straight[10:]),
                "backend",
                "report",
            )
        finally:
            plane.stop()

    @staticmethod
    def _serves(pool, host: str) -> bool:  # noqa: ANN001
        import urllib3

        try:
            return bool(pool.request("GET", "/", headers={"Host": host}).status == 200)
        except urllib3.exceptions.HTTPError:  # a worker of the previous configuration closed a kept-alive connection
            return False

    @staticmethod
    def _expect(response, status: int):  # noqa: ANN001, ANN205
        code = getattr(response, "status_code", None)
        if code != status:
            raise RuntimeError(f"expected HTTP {status}, got {code}: {getattr(response, 'text', '')[:500]}")
        return response

    # -- results -------------------------------------------------------------------------

    def write(self, out: Path, started: float) -> None:
        cpu = ""
        try:
            cpu = next(
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            )
        except (OSError, StopIteration):
            cpu = platform.processor()
        memory = ""
        try:
            kb = int(Path("/proc/meminfo").read_text().split()[1])
            memory = f"{kb / 1024 / 1024:.0f} GiB"
        except (OSError, ValueError, IndexError):
            pass
        lines = [
            "# Benchmark results",
            "",
            f"- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
            f"- machine: {os.cpu_count()} cores ({cpu}), {memory}, {platform.system()} {platform.release()}",
            f"- Python {platform.python_version()}; command: `make bench` (`python bench/run.py --runs {self.runs}`)",
            f"- kubectl: {getattr(self, 'kubectl_version', '-')}",
            f"- big cluster: {getattr(self, 'big_count', 0):,} Ingresses created with 10 threads in "
            f"{getattr(self, 'big_populate_seconds', 0):.0f} s",
            f"- medians of {self.runs} runs each, measured side by side; total {time.monotonic() - started:.0f} s",
            f"- load average when done: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (other work on the machine)",
            "",
            "| benchmark | console | baseline | ratio | goal |",
            "| --- | --- | --- | --- | --- |",
            *[f"| {a} | {b} | {c} | {d} | {e} |" for a, b, c, d, e in self.rows],
            "",
        ]
        import process_model

        kept = process_model.section_of(out.read_text()) if out.exists() else ""
        if kept:  # benchmarks 11-14 run on their own (--only process-model)
            lines += [kept]
        notes = Path(__file__).with_name("NOTES.md")
        if notes.exists():
            lines += [notes.read_text()]
        out.write_text("\n".join(lines))
        print(f"written to {out}")


def yaml_load(path: Path) -> dict:
    return yaml_load_text(path.read_text())


def yaml_load_text(text: str) -> dict:
    import yaml

    return yaml.safe_load(text)


def process_model_only(args: argparse.Namespace, workdir: Path, started: float) -> int:
    import process_model

    from kubegems_routes.controlplane.server import ControlPlane

    try:
        with ControlPlane(kubeconfig_path=workdir / "kubeconfig") as plane:
            bench = Bench(args.runs, workdir, plane.kubeconfig_path)  # type: ignore[arg-type]
            bench.setup_django()
            bench.setup_gateway_api()  # served, so no cache relists an absent kind every 30 s
            process_model.run(bench, args.ingresses, args.window)
            load = " ".join(f"{x:.1f}" for x in os.getloadavg())
            body = "\n".join(
                [
                    process_model.SECTION,
                    "",
                    f"Run on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC (`python bench/run.py --only process-model "
                    f"--ingresses {args.ingresses} --window {args.window:.0f}`, {time.monotonic() - started:.0f} s; "
                    f"load average when done: {load}).",
                    "",
                    process_model.__doc__.split(chr(10) + chr(10), 2)[2].strip(),
                    "",
                    "| benchmark | now | before | ratio | goal |",
                    "| --- | --- | --- | --- | --- |",
                    *[f"| {a} | {b} | {c} | {d} | {e} |" for a, b, c, d, e in bench.rows],
                    "",
                    "",
                ]
            )
            text = args.out.read_text() if args.out.exists() else "# Benchmark results\n\n"
            args.out.write_text(process_model.replace_section(text, body))
            print(f"written to {args.out}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--ingresses", type=int, default=20_000, help="Ingresses in the big cluster (benchmarks 6-8)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    parser.add_argument(
        "--only",
        choices=["gateway-api", "process-model", "overhead"],
        help="run benchmark 10 (gateway-api) or 1 and 3 (overhead) alone on one control plane and print them "
        "(RESULTS.md is left alone), or the process model's 11-14 (bench/process_model.py; written to their "
        "section of --out)",
    )
    parser.add_argument("--window", type=float, default=90, help="seconds of steady traffic (benchmark 11)")
    args = parser.parse_args()
    if args.runs < 5:
        parser.error("--runs must be at least 5")
    from kubegems_routes.controlplane.server import ControlPlane

    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="kubegems-routes-bench-"))
    if args.only == "process-model":
        return process_model_only(args, workdir, started)
    if args.only:
        try:
            with ControlPlane(kubeconfig_path=workdir / "kubeconfig") as plane:
                bench = Bench(args.runs, workdir, plane.kubeconfig_path)  # type: ignore[arg-type]
                bench.setup_django()
                bench.setup_gateway_api()
                bench.start_gunicorn()
                try:
                    if args.only == "overhead":  # benchmarks 1 and 3
                        bench.create_overhead()
                        bench.htmx_toggle()
                    else:
                        bench.create_gateway_api()
                finally:
                    bench.gunicorn.terminate()
                    bench.gunicorn.wait()
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return 0
    try:
        with (
            ControlPlane(kubeconfig_path=workdir / "kubeconfig") as plane,
            ControlPlane(kubeconfig_path=workdir / "big-kubeconfig") as big,
        ):
            bench = Bench(args.runs, workdir, plane.kubeconfig_path)  # type: ignore[arg-type]
            bench.setup_django()
            bench.setup_gateway_api()
            bench.setup_big_cluster(big.kubeconfig_path, args.ingresses)  # type: ignore[arg-type]
            bench.start_gunicorn()
            try:
                bench.create_at_scale()
                bench.cache_memory()
                bench.cache_lag()
                bench.create_overhead()
                bench.create_gateway_api()
                bench.kubectl_apply()
                bench.htmx_toggle()
                bench.list_at_scale()
                bench.throughput()
                bench.traffic(plane)
            finally:
                bench.gunicorn.terminate()
                bench.gunicorn.wait()
            bench.write(args.out, started)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
