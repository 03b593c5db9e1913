from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from kubegems_routes.controlplane.server import ControlPlane
from kubegems_routes.dataplane.server import DataPlane, DataPlaneError
from kubegems_routes.demo.dataplane import start_demo_data_plane, stop_demo_data_plane, why_off
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
        self.stdout.write(f"Open http://{addrport}/ and log in as 'demo' (tenant admin) or 'admin' (system admin).")
        try:
            call_command("runserver", addrport, use_reloader=False)
        except KeyboardInterrupt:
            pass
        finally:
            if plane is not None:
                stop_demo_data_plane(data_plane, gateway)

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
