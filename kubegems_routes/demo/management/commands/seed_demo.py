from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kubegems_routes.demo.seed import demo_users, seed_cluster_objects, seed_database
from kubegems_routes.kube.errors import KubeError


class Command(BaseCommand):
    help = "Seed a demo tenant, project, environment and gateways, and the namespace's Services and TLS Secret."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--kubeconfig", type=Path, required=True, help="kubeconfig of the demo cluster")
        parser.add_argument("--cluster-name", default="local")

    def handle(self, *args: Any, kubeconfig: Path, cluster_name: str, **options: Any) -> None:
        cluster, environment = seed_database(kubeconfig, cluster_name)
        try:
            seed_cluster_objects(cluster, environment.namespace)
        except KubeError as exc:
            raise CommandError(f"could not seed cluster {cluster.name}: {exc}") from exc
        for cred in demo_users():
            self.stdout.write(f"  user {cred.username!r} password {cred.password!r}")
