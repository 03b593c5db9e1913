from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from kubegems_routes.controlplane.build import BuildError
from kubegems_routes.controlplane.server import ControlPlane
from kubegems_routes.dataplane.server import DataPlane, DataPlaneError
from kubegems_routes.demo import oidc
from kubegems_routes.demo.dataplane import start_demo_data_plane, stop_demo_data_plane, why_off
from kubegems_routes.demo.keycloak import ADMIN_PASSWORD, Keycloak
from kubegems_routes.demo.seed import NAMESPACE, seed_every_gateway_kind
from kubegems_routes.gateways.models import Gateway
from kubegems_routes.tenancy.models import Cluster


class Command(BaseCommand):
    help = (
        "Start the console on its embedded defaults: SQLite, a local kube-apiserver + etcd "
        "(built on first use), demo data, and Django's server. With KUBECONFIG set, use that cluster instead."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args: Any, addrport: str, **options: Any) -> None:
        # SIGTERM stops etcd and kube-apiserver through the same clean path as Ctrl-C.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        # Ctrl-C too, even when started with SIGINT ignored (a shell's background job, nohup, CI):
        # Python then keeps it ignored, and Ctrl-C would leave the console and its control plane running.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        _make_sqlite_directory()
        call_command("migrate", interactive=False, verbosity=0)
        external = os.environ.get("KUBECONFIG")
        if external:
            self._serve(Path(external).expanduser(), "default", addrport)
            return
        kubeconfig = Path(settings.BASE_DIR) / "var" / "kubeconfig"
        self.stdout.write("Starting the local control plane (first run builds kube-apiserver and etcd)...")
        # etcd's data is kept in var/, like the SQLite database, so the two agree across restarts.
        data = Path(settings.BASE_DIR) / "var" / "etcd"
        with ControlPlane(kubeconfig_path=kubeconfig, etcd_data_dir=data) as plane:
            self.stdout.write(f"kube-apiserver {plane.url}; kubeconfig {kubeconfig}")
            self._serve(kubeconfig, "local", addrport, plane)

    def _serve(self, kubeconfig: Path, cluster_name: str, addrport: str, plane: ControlPlane | None = None) -> None:
        self.stdout.write("Demo data and log-ins:")
        call_command("seed_demo", kubeconfig=kubeconfig, cluster_name=cluster_name, stdout=self.stdout)
        if plane is not None:
            seed_every_gateway_kind(Cluster.objects.get(name=cluster_name))
        gateway = Gateway.objects.get(cluster__name=cluster_name, tenant__name="demo", name="public")
        data_plane = self._start_data_plane(plane, gateway) if plane else None
        provider = self._start_keycloak() if settings.DEMO_OIDC else None
        self.stdout.write(f"Open http://{addrport}/ and log in as 'demo' (tenant admin) or 'admin' (system admin).")
        try:
            call_command("runserver", addrport, use_reloader=False)
        except KeyboardInterrupt:
            pass
        finally:
            if provider is not None:
                provider.stop()
            if plane is not None:
                stop_demo_data_plane(data_plane, gateway)

    def _start_keycloak(self) -> Keycloak | None:
        """KGR_DEMO_OIDC=1: a demo Keycloak, its groups mapped onto the demo tenant (docs/sign-in.md)."""
        self.stdout.write("Starting the demo Keycloak (first run fetches it with Maven; about 30 s to start)...")
        try:
            server = oidc.start_demo_keycloak()
        except BuildError as exc:
            self.stdout.write(f"Sign-in with Keycloak off: {exc}")
            return None
        oidc.point_console_at(server)
        oidc.map_demo_groups()
        self.stdout.write(f"Keycloak {server.url} (admin console: admin / {ADMIN_PASSWORD}).")
        self.stdout.write("Press 'Sign in with Keycloak (demo)' on the log-in page, then sign in as:")
        for username, (password, grants) in oidc.USERS.items():
            self.stdout.write(f"  {username} / {password}  ({grants})")
        return server

    def _start_data_plane(self, plane: ControlPlane, gateway: Gateway) -> DataPlane | None:
        """As root, the demo's gateway `public` answers through a real NGINX Ingress Controller."""
        stop_demo_data_plane(None, gateway)  # an address from an earlier run that did not stop cleanly
        problem = why_off() if settings.DEMO_DATA_PLANE else "KGR_DEMO_DATA_PLANE=0"
        if problem:
            self.stdout.write(f"Data plane off ({problem}); routes are written but serve no traffic.")
            return None
        self.stdout.write("Starting the data plane for gateway 'public' (first run builds the controller and nginx)...")
        try:
            data_plane = start_demo_data_plane(plane, gateway, NAMESPACE)
        except DataPlaneError as exc:
            self.stdout.write(f"Data plane off: {exc}")
            return None
        self.stdout.write(
            f"Gateway 'public' ({gateway.ingress_class}) answers on {data_plane.address}, inside its own network "
            "namespace: each route's detail page prints a curl command that reaches it."
        )
        return data_plane


def _make_sqlite_directory() -> None:
    """SQLite creates its file but not the directory: a fresh clone has no var/ yet (it is ignored by git)."""
    database = settings.DATABASES["default"]
    name = str(database.get("NAME") or "")
    if database["ENGINE"] == "django.db.backends.sqlite3" and name and not name.startswith(("file:", ":memory:")):
        Path(name).parent.mkdir(parents=True, exist_ok=True)
