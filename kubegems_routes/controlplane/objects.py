"""Objects the local control plane's users put in it (the demo, the data plane, tests, the bench).

Not the console's: it never creates namespaces or CRDs in the clusters it serves.
"""

from __future__ import annotations

from typing import Any

from kubegems_routes.kube.client import KubeClient
from kubegems_routes.kube.errors import AlreadyExists

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def ensure_namespace(kube: KubeClient, name: str) -> None:
    kube.ensure("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


def apply_crd(kube: KubeClient, manifest: dict[str, Any]) -> dict[str, Any]:
    """Create the CRD, or replace the stored one with this version of it."""
    try:
        return kube.create(CRDS, manifest)
    except AlreadyExists:
        path = f"{CRDS}/{manifest['metadata']['name']}"
        current = kube.request("GET", path)
        version = {"resourceVersion": current["metadata"]["resourceVersion"]}
        return kube.request("PUT", path, body={**manifest, "metadata": {**manifest["metadata"], **version}})


def crd_established(kube: KubeClient, name: str) -> bool:
    crd = kube.request("GET", f"{CRDS}/{name}")
    # Null until the API server has looked at a new CRD (seen with cert-manager's).
    conditions = (crd.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)
