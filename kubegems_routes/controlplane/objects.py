"""Objects the local control plane's users put in it (the demo, the data plane, tests, the bench).

Not the console's: it never creates namespaces or CRDs in the clusters it serves.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml

from kubegems_routes.kube.client import KubeClient
from kubegems_routes.kube.errors import AlreadyExists, KubeError

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


def install_crds(kube: KubeClient, files: list[Path], served: list[str], timeout: float = 60) -> list[str]:
    """Apply each file's CRD, then wait until all are Established and each path of ``served`` (a
    resource's collection) answers a list, from etcd and from the watch cache; their names.

    Established is the API server's word that a resource is served; its storage and watch cache answer a
    moment later ("storage is (re)initializing" until then), and the console reads from the watch cache.
    """
    names = []
    for path in files:
        crd = yaml.safe_load(path.read_text())
        apply_crd(kube, crd)
        names.append(crd["metadata"]["name"])
    deadline = time.monotonic() + timeout
    while not (all(crd_established(kube, name) for name in names) and all(_serves(kube, p) for p in served)):
        if time.monotonic() > deadline:
            raise TimeoutError(f"CRDs {', '.join(names)} were not served within {timeout:.0f} s")
        time.sleep(0.1)
    return names


def _serves(kube: KubeClient, path: str) -> bool:
    try:
        kube.request("GET", path, query={"limit": "1"})
        kube.request("GET", path, query={"resourceVersion": "0", "limit": "1"})
    except KubeError:
        return False
    return True
