"""Can the console reach a cluster's API server with its credentials, and which Kubernetes does it run?"""

from __future__ import annotations

from dataclasses import dataclass

import yaml
from django.conf import settings
from django.utils.translation import gettext as _

from kubegems_routes.kube.client import KubeClient
from kubegems_routes.kube.errors import KubeError
from kubegems_routes.tenancy.models import Cluster


@dataclass(frozen=True)
class Reachability:
    reachable: bool
    detail: str  # the version when reachable, else why not

    def __str__(self) -> str:
        if self.reachable:
            return _("reachable, Kubernetes %(version)s") % {"version": self.detail}
        return _("unreachable: %(why)s") % {"why": self.detail}

    @classmethod
    def of(cls, cluster: Cluster) -> Reachability:
        try:
            return cls(True, cluster.client().version())
        except KubeError as exc:
            return cls(False, exc.message)


def check_credentials(in_cluster: bool, kubeconfig: str) -> Reachability:
    """Ask /version with credentials that are not stored yet (a throwaway client, short timeouts)."""
    timeouts: dict[str, float] = {
        "connect_timeout": settings.KUBE_CONNECT_TIMEOUT,
        "read_timeout": settings.KUBE_READ_TIMEOUT,
    }
    try:
        if in_cluster:
            token, ca = str(settings.KUBE_IN_CLUSTER_TOKEN_FILE), str(settings.KUBE_IN_CLUSTER_CA_FILE)
            client = KubeClient.in_cluster(token_file=token, ca_file=ca, **timeouts)
        else:
            client = KubeClient.from_kubeconfig(yaml.safe_load(kubeconfig), context=None, **timeouts)
    except Exception as exc:  # the kubernetes loader raises its own ConfigException, ValueError, OSError...
        return Reachability(False, _("the credentials cannot be used (%(why)s)") % {"why": exc})
    try:
        return Reachability(True, client.version())
    except KubeError as exc:
        return Reachability(False, exc.message)
