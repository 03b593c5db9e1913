"""The image `make image` builds, run the way the kubelet runs deploy/base's Pod.

Each pod is podman + runc (crun fails on these machines' cgroups) with what
the rendered Deployment says: its image, commands, user, read-only root,
dropped capabilities, no privilege escalation, memory limit, the ConfigMap's
values as environment, the Secret's keys as files where it mounts them (with
the values an overlay would set: a real key and the test PostgreSQL), /tmp as
a memory-backed emptyDir, and the ServiceAccount mount a kubelet makes: a
TokenRequest token of deploy/base's own ServiceAccount, the control plane's
CA and KUBERNETES_SERVICE_HOST/PORT, so the console reaches the cluster with
in-cluster credentials under the shipped RBAC. Differences from a cluster:
host networking, so each pod's gunicorn gets its own port (GUNICORN_BIND), and
requests come straight from the test, made as the ingress controller would
send them (Host routes.example.com, X-Forwarded-Proto https).

Run once per `make test` (the SQLite half: marker `image`); they need
PostgreSQL, so they start the test server when the run has none. They need
root (podman's storage and runc); without it they fail and say so.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest
import requests
import yaml
from django.urls import reverse

from kubegems_routes import image as image_build
from kubegems_routes.controlplane.build import BuildError
from kubegems_routes.controlplane.server import ControlPlane, free_port
from kubegems_routes.demo.seed import seed_services
from kubegems_routes.kube.client import KubeClient
from tests.helpers import route_data
from tests.postgres import Postgres, PostgresError
from tests.served import manage, production_env
from tests.test_deploy import NAMESPACE, SERVICE_ACCOUNT, _apply, _in_namespace, _render

pytestmark = [pytest.mark.image, pytest.mark.slow]

PASSWORD = "image-test-password-not-secret-0123"
SA_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"


# -- the image and its pods --------------------------------------------------


@pytest.fixture(scope="session")
def image() -> str:
    """The image deploy/base names, built once per session (or the cached one for this content)."""
    if os.geteuid() != 0:
        pytest.fail(
            "The image tests run the image with podman and runc, which needs root here (podman's storage, "
            "runc's cgroups): run `make test` as root.",
            pytrace=False,
        )
    try:
        built = image_build.ensure_image()
    except BuildError as exc:
        pytest.fail(f"The image could not be built (`make image`):\n{exc}", pytrace=False)
    return built.name


@pytest.fixture(scope="module")
def database_url_for_pods(postgres: Postgres | None) -> Iterator[str]:
    """A fresh database on this run's PostgreSQL, or on one started here (the SQLite run has none)."""
    server = postgres
    try:
        if server is None:
            server = Postgres()
            server.start()
        yield server.create_database("image")
    except PostgresError as exc:
        pytest.fail(str(exc), pytrace=False)
    finally:
        if postgres is None and server is not None:
            server.stop()


@dataclass
class Manifests:
    deployment: dict
    config: dict[str, str]
    secret_keys: list[str]

    @property
    def pod(self) -> dict:
        return self.deployment["spec"]["template"]["spec"]


@pytest.fixture(scope="module")
def manifests() -> Manifests:
    base = _render("deploy/base")
    secret = next(o for o in base if o["kind"] == "Secret")
    return Manifests(
        deployment=next(o for o in base if o["kind"] == "Deployment"),
        config=next(o for o in base if o["kind"] == "ConfigMap")["data"],
        secret_keys=sorted(secret.get("stringData", {}) | secret.get("data", {})),
    )


@pytest.fixture(scope="module")
def service_account_mount(control_plane: ControlPlane, kube: KubeClient, tmp_path_factory) -> dict[str, str]:
    """deploy/base's Namespace, ServiceAccount and cluster RBAC applied; the files kubelet would mount."""
    for obj in _render("deploy/base"):
        if obj["kind"] in {"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding"}:
            _apply(kube, obj)
    minted = kube.request(
        "POST",
        f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts/{SERVICE_ACCOUNT}/token",
        body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 3600}},
    )
    folder = tmp_path_factory.mktemp("serviceaccount")
    (folder / "token").write_text(minted["status"]["token"])
    (folder / "namespace").write_text(NAMESPACE)
    cluster = control_plane.kubeconfig["clusters"][0]["cluster"]
    (folder / "ca.crt").write_bytes(base64.b64decode(cluster["certificate-authority-data"]))
    _readable(folder)
    server = urlparse(cluster["server"])
    return {"dir": str(folder), "host": str(server.hostname), "port": str(server.port)}


def _readable(folder: Path) -> None:
    """As kubelet mounts them: readable by the pod's user (a bind mount shows the folder itself, not its parents)."""
    folder.chmod(0o755)
    for file in folder.iterdir():
        file.chmod(0o644)


def _quantity(value: str) -> str:
    """A Kubernetes memory quantity (512Mi) as podman takes it (512m)."""
    number, unit = re.fullmatch(r"(\d+)(Mi|Gi)", value).groups()  # type: ignore[union-attr]
    return f"{number}{unit[0].lower()}"


@dataclass
class Pod:
    """One replica of deploy/base's Deployment, as podman containers."""

    name: str
    port: int
    args: dict[str, list[str]] = field(default_factory=dict)  # container name -> podman run arguments

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Pods:
    def __init__(self, image: str, manifests: Manifests, sa: dict[str, str], secrets_dir: Path, conf: Path) -> None:
        self.image = image
        self.manifests = manifests
        self.sa = sa
        self.secrets_dir = secrets_dir
        self.env = {**os.environ, "CONTAINERS_CONF": str(conf)}
        self.started: list[str] = []

    def podman(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["podman", *args], env=self.env, capture_output=True, text=True, timeout=timeout)

    def pod(self) -> Pod:
        pod = Pod(name=f"kgr-test-{uuid.uuid4().hex[:8]}", port=free_port())
        spec = self.manifests.pod
        volumes = {v["name"]: v for v in spec["volumes"]}
        for container in spec["initContainers"] + spec["containers"]:
            args = [
                "--runtime",
                "runc",
                "run",
                "--pull=never",
                "--network=host",
                "--name",
                f"{pod.name}-{container['name']}",
            ]
            security = spec["securityContext"]
            assert security["runAsNonRoot"] and security["runAsUser"] != 0
            args += [f"--user={security['runAsUser']}:{security['runAsGroup']}"]
            # RuntimeDefault: podman applies its default seccomp profile unless told otherwise.
            assert security["seccompProfile"]["type"] == "RuntimeDefault"
            restricted = container["securityContext"]
            if restricted["readOnlyRootFilesystem"]:
                args += ["--read-only", "--read-only-tmpfs=false"]
            if not restricted["allowPrivilegeEscalation"]:
                args += ["--security-opt=no-new-privileges"]
            args += [f"--cap-drop={cap.lower()}" for cap in restricted["capabilities"]["drop"]]
            args += [f"--memory={_quantity(container['resources']['limits']['memory'])}"]
            for source in container.get("envFrom", []):
                assert source["configMapRef"]["name"] == "kubegems-routes"
                args += [f"--env={k}={v}" for k, v in self.manifests.config.items()]
            args += [f"--env={e['name']}={e['value']}" for e in container.get("env", [])]
            # What kubelet adds: the API server's address, and the ServiceAccount's mount.
            args += [
                f"--env=KUBERNETES_SERVICE_HOST={self.sa['host']}",
                f"--env=KUBERNETES_SERVICE_PORT={self.sa['port']}",
            ]
            args += [f"--volume={self.sa['dir']}:{SA_MOUNT}:ro"]
            # Host networking: each pod's gunicorn on its own port, as each pod would have its own IP.
            args += [f"--env=GUNICORN_BIND=127.0.0.1:{pod.port}"]
            for mount in container["volumeMounts"]:
                volume = volumes[mount["name"]]
                if "secret" in volume:
                    assert volume["secret"]["secretName"] == "kubegems-routes"
                    args += [f"--volume={self.secrets_dir}:{mount['mountPath']}:ro"]
                elif volume.get("emptyDir", {}).get("medium") == "Memory":
                    size = _quantity(volume["emptyDir"]["sizeLimit"])
                    args += [f"--tmpfs={mount['mountPath']}:rw,size={size},mode=1777"]
                else:
                    raise AssertionError(f"no podman equivalent written for volume {volume}")
            pod.args[container["name"]] = [*args, self.image, *container["command"]]
        return pod

    def init(self, pod: Pod) -> subprocess.Popen[str]:
        """The pod's init container (migrate_locked), started; its output is the process's stdout."""
        (init,) = self.manifests.pod["initContainers"]
        args = pod.args[init["name"]]
        args.insert(args.index("run") + 1, "--rm")
        return subprocess.Popen(
            ["podman", *args], env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )

    def start(self, pod: Pod) -> None:
        (console,) = self.manifests.pod["containers"]
        args = pod.args[console["name"]]
        args.insert(args.index("run") + 1, "--detach")
        self.started.append(f"{pod.name}-{console['name']}")
        result = self.podman(*args)
        assert result.returncode == 0, result.stdout + result.stderr

    def container(self, pod: Pod) -> str:
        return f"{pod.name}-{self.manifests.pod['containers'][0]['name']}"

    def logs(self, pod: Pod) -> str:
        result = self.podman("logs", self.container(pod))
        return result.stdout + result.stderr

    def wait_ready(self, pod: Pod, timeout: float = 90) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            try:
                answer = requests.get(f"{pod.base}/readyz", timeout=10)
                if answer.status_code == 200:
                    return answer.json()
            except requests.RequestException:
                pass
            state = self.podman("inspect", "--format", "{{.State.Status}}", self.container(pod)).stdout.strip()
            if state != "running" or time.monotonic() > deadline:
                raise AssertionError(f"pod {pod.name} is not ready ({state}):\n{self.logs(pod)[-5000:]}")
            time.sleep(0.5)

    def remove_all(self) -> None:
        for name in self.started:
            self.podman("rm", "--force", "--time=0", name)


@dataclass
class Deployed:
    pods: Pods
    replicas: list[Pod]
    migrations: list[str]  # each replica's init container output
    env: dict[str, str]  # the console's settings for manage.py on the host, against the same database
    namespace: str
    unbound_namespace: str
    environment: int
    unbound_environment: int
    gateway: int


SEED = """
from django.contrib.auth import get_user_model
from kubegems_routes.gateways.models import Gateway
from kubegems_routes.tenancy.models import Cluster, Environment, Project, Tenant, TenantMember
cluster = Cluster.objects.create(name="in-cluster", in_cluster=True)
tenant = Tenant.objects.create(name="acme")
project = Project.objects.create(tenant=tenant, name="shop")
bound = Environment.objects.create(project=project, cluster=cluster, name="dev", namespace="{namespace}")
unbound = Environment.objects.create(project=project, cluster=cluster, name="test", namespace="{unbound}")
gateway = Gateway.objects.create(
    cluster=cluster, tenant=tenant, name="public", ingress_class="{ingress_class}", default_domain="*.acme.example.com"
)
user = get_user_model().objects.create_user("olivia", password="{password}")
TenantMember.objects.create(tenant=tenant, user=user, role=TenantMember.Role.ADMIN)
print(bound.pk, unbound.pk, gateway.pk)
"""


@pytest.fixture(scope="module")
def deployed(
    image, manifests, service_account_mount, database_url_for_pods, kube, tmp_path_factory
) -> Iterator[Deployed]:
    """Two replicas started together: both init containers at once, then both consoles."""
    workdir = tmp_path_factory.mktemp("pods")
    secrets_dir = workdir / "secret"
    secrets_dir.mkdir()
    # The Secret's keys, with the values an overlay sets (the placeholder key is refused).
    values = {"DJANGO_SECRET_KEY": secrets.token_urlsafe(48), "DATABASE_URL": database_url_for_pods}
    assert manifests.secret_keys == sorted(values)
    for key, value in values.items():
        (secrets_dir / key).write_text(value)
    _readable(secrets_dir)
    conf = workdir / "containers.conf"
    conf.write_text("[containers]\ndefault_ulimits = []\n")  # runc refuses podman's default ulimits here
    pods = Pods(image, manifests, service_account_mount, secrets_dir, conf)
    try:
        replicas = [pods.pod(), pods.pod()]
        running = [pods.init(pod) for pod in replicas]
        migrations = [proc.communicate(timeout=300)[0] for proc in running]
        assert [proc.returncode for proc in running] == [0, 0], migrations

        suffix = uuid.uuid4().hex[:8]
        namespace, unbound = f"img-{suffix}", f"img-nobind-{suffix}"
        ingress_class = f"public-{namespace}"
        for ns in (namespace, unbound):
            seed_services(kube, ns)  # what the platform team has in an environment namespace
        for obj in _in_namespace(_render("deploy/environment"), namespace):  # only the first is bound
            _apply(kube, obj)
        kube.ensure_ingress_class(ingress_class)  # what saving the gateway in admin does
        # The console's settings on the host, for manage.py against the same database: same key, since
        # it encrypts stored cluster credentials.
        env = production_env(workdir, database_url_for_pods, DJANGO_SECRET_KEY=values["DJANGO_SECRET_KEY"])
        seed = SEED.format(namespace=namespace, unbound=unbound, ingress_class=ingress_class, password=PASSWORD)
        bound_pk, unbound_pk, gateway_pk = map(int, manage(env, "shell", "-c", seed).stdout.split()[-3:])

        for pod in replicas:
            pods.start(pod)
        yield Deployed(pods, replicas, migrations, env, namespace, unbound, bound_pk, unbound_pk, gateway_pk)
    finally:
        pods.remove_all()


class Browser:
    """A user's browser reaching one replica through the ingress controller that terminates TLS.

    The requests are what the controller sends on: plain HTTP to the pod, Host routes.example.com,
    X-Forwarded-Proto https. The cookies are Secure, so they are kept here rather than by requests
    (which would send them over https only)."""

    def __init__(self, pod: Pod, host: str) -> None:
        self.pod = pod
        self.host = host
        self.cookies: dict[str, str] = {}
        self.lock = threading.Lock()

    def request(self, method: str, path: str, data: dict[str, str] | None = None) -> requests.Response:
        origin = f"https://{self.host}"
        headers = {"Host": self.host, "X-Forwarded-Proto": "https", "Referer": origin + path}
        if method == "POST":
            headers["Origin"] = origin
            data = {**(data or {}), "csrfmiddlewaretoken": self.cookies.get("csrftoken", "")}
        with self.lock:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = requests.request(
            method, self.pod.base + path, data=data, headers=headers, allow_redirects=False, timeout=90
        )
        with self.lock:
            for line in response.raw.headers.getlist("Set-Cookie"):
                name, _, rest = line.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response

    def log_in(self, username: str, password: str) -> None:
        assert self.request("GET", "/login/").status_code == 200
        answer = self.request("POST", "/login/", {"username": username, "password": password})
        assert answer.status_code == 302 and answer.headers["Location"] == "/workbench/", answer.text[:2000]


def _host(manifests: Manifests) -> str:
    return manifests.config["DJANGO_ALLOWED_HOSTS"].split(",")[0]


def _count_routes(deployed: Deployed, host: str) -> int:
    script = f"from kubegems_routes.routes.models import Route; print(Route.objects.filter(host={host!r}).count())"
    return int(manage(deployed.env, "shell", "-c", script).stdout.split()[-1])


# -- the tests, in the order a rollout meets them -----------------------------


def test_two_replicas_start_together_one_migrates_and_both_are_ready(deployed: Deployed):
    applied = [out.count("Applying ") for out in deployed.migrations]
    assert sorted(applied)[0] == 0 and sorted(applied)[1] > 0, deployed.migrations
    waited = deployed.migrations[applied.index(0)]
    assert "Waiting for the migration lock" in waited and "No migrations to apply" in waited, waited
    for pod in deployed.replicas:
        ready = deployed.pods.wait_ready(pod)
        # The database, and the cluster reached with the ServiceAccount's in-cluster credentials.
        assert ready == {"status": "ok", "database": "ok", "clusters": {"in-cluster": "ok"}}, ready
    logs = deployed.pods.logs(deployed.replicas[0])
    booted = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    assert any("Booting worker" in entry["message"] for entry in booted), logs[-3000:]


def test_a_route_created_on_one_replica_is_in_the_cluster_and_shown_by_the_other(deployed, manifests, kube):
    for pod in deployed.replicas:
        deployed.pods.wait_ready(pod)
    first, second = (Browser(pod, _host(manifests)) for pod in deployed.replicas)
    first.log_in("olivia", PASSWORD)
    create = reverse("routes:create", args=[deployed.environment])
    form = first.request("GET", create)
    assert form.status_code == 200 and 'name="host"' in form.text
    saved = first.request("POST", create, route_data(deployed.gateway, name="shop", host="shop.acme.example.com"))
    assert saved.status_code == 302, saved.text[:3000]
    live = kube.get_ingress(deployed.namespace, "shop")
    assert live["spec"]["rules"][0]["host"] == "shop.acme.example.com"

    second.log_in("olivia", PASSWORD)
    detail = second.request("GET", reverse("routes:detail", args=[deployed.environment, "shop"]))
    assert detail.status_code == 200 and "shop.acme.example.com" in detail.text
    listing = second.request("GET", reverse("routes:list", args=[deployed.environment]))
    assert listing.status_code == 200 and "shop.acme.example.com" in listing.text


def test_twenty_saves_of_one_host_over_both_replicas_one_wins(deployed, manifests, kube):
    for pod in deployed.replicas:
        deployed.pods.wait_ready(pod)
    browsers = [Browser(pod, _host(manifests)) for pod in deployed.replicas]
    for browser in browsers:
        browser.log_in("olivia", PASSWORD)
    host = "contested.acme.example.com"
    create = reverse("routes:create", args=[deployed.environment])

    def save(i: int) -> requests.Response:
        return browsers[i % 2].request("POST", create, route_data(deployed.gateway, name=f"race-{i:02}", host=host))

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(save, range(20)))
    statuses = [r.status_code for r in responses]
    assert sorted(statuses) == [200] * 19 + [302], statuses
    for loser in (r for r in responses if r.status_code == 200):
        assert "already served" in loser.text, loser.text[:3000]
    ingresses = [i for i in kube.list_ingresses(deployed.namespace) if i["spec"]["rules"][0].get("host") == host]
    assert len(ingresses) == 1 == _count_routes(deployed, host)


def test_an_action_outside_the_shipped_rbac_says_so_without_a_server_error(deployed, manifests, kube):
    browser = Browser(deployed.replicas[1], _host(manifests))
    browser.log_in("olivia", PASSWORD)
    create = reverse("routes:create", args=[deployed.unbound_environment])
    refused = browser.request("POST", create, route_data(deployed.gateway, name="nope", host="nope.acme.example.com"))
    assert refused.status_code == 200, refused.text[:3000]
    message = f"The console is not allowed to change routes in namespace {deployed.unbound_namespace}"
    assert message in refused.text, refused.text[:3000]
    assert kube.list_ingresses(deployed.unbound_namespace) == []
    assert _count_routes(deployed, "nope.acme.example.com") == 0


def _drain(listener: socket.socket) -> None:
    listener.settimeout(0.2)
    while True:
        try:
            listener.accept()[0].close()
        except TimeoutError:
            return


def test_sigterm_lets_a_slow_request_finish_and_the_pod_exits_0_within_its_grace_period(deployed, manifests):
    """What a rollout does to an old pod: kubelet runs the preStop pause, then sends SIGTERM to gunicorn."""
    pods = deployed.pods
    pod = pods.pod()
    listener = socket.socket()  # a cluster that accepts connections and never answers: a slow /readyz
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    silent = yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "c", "cluster": {"server": f"https://127.0.0.1:{listener.getsockname()[1]}"}}],
            "users": [{"name": "u", "user": {"token": "x"}}],
            "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
            "current-context": "c",
        }
    )
    register = (
        "from kubegems_routes.tenancy.models import Cluster; "
        f"Cluster.objects.create(name='silent', kubeconfig={silent!r})"
    )
    manage(deployed.env, "shell", "-c", register)
    try:
        pods.start(pod)
        pods.wait_ready(pod)
        _drain(listener)  # the connections of the readiness checks so far
        with ThreadPoolExecutor(1) as pool:
            in_flight = pool.submit(requests.get, f"{pod.base}/readyz", timeout=60)
            listener.settimeout(30)
            # A worker is inside the request once it reaches the silent cluster, which then says nothing
            # for the readiness timeout.
            reached, _ = listener.accept()
            stopping = time.monotonic()
            killed = pods.podman("kill", "--signal=TERM", pods.container(pod))
            assert killed.returncode == 0, killed.stderr
            answer = in_flight.result()
            reached.close()
        assert time.monotonic() - stopping > 1, "the request was not in flight when SIGTERM came"
        assert answer.status_code == 200 and answer.json()["clusters"]["silent"] == "unreachable"
        exited = pods.podman("wait", pods.container(pod), timeout=60)
        elapsed = time.monotonic() - stopping
        assert exited.stdout.strip() == "0", (exited.stdout, exited.stderr, pods.logs(pod)[-3000:])
        spec = manifests.pod
        pre_stop = spec["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"]
        assert elapsed < spec["terminationGracePeriodSeconds"] - pre_stop, elapsed
    finally:
        listener.close()
        manage(
            deployed.env,
            "shell",
            "-c",
            "from kubegems_routes.tenancy.models import Cluster; Cluster.objects.filter(name='silent').delete()",
        )
