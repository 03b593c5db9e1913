"""A data plane for the demo (``make run`` as root): the tenant gateway answers, the demo Services have backends."""

from __future__ import annotations

from typing import Any

from kubegems_routes.controlplane.server import ControlPlane
from kubegems_routes.dataplane.server import GRPC_PORT, HTTP_BACKENDS, WS_PORT, DataPlane, requirements_problem
from kubegems_routes.gateways.models import Gateway
from kubegems_routes.kube.client import KubeClient
from kubegems_routes.kube.errors import NotFound

# The demo Services' named ports, and the data plane's backend serving each.
DEMO_BACKENDS = {
    "web": {"http": HTTP_BACKENDS["web"], "metrics": HTTP_BACKENDS["api"]},
    "api": {"grpc": GRPC_PORT, "ws": WS_PORT},
}


def point_services_at(plane: DataPlane, kube: KubeClient, namespace: str, backends: dict[str, dict[str, int]]) -> None:
    """Give Services the data plane's backends: targetPorts set to them, and an EndpointSlice to its address.

    Nothing schedules the demo's Pods here, so the slices are written as a
    kubelet and the EndpointSlice controller would.
    """
    for service, ports in backends.items():
        path = f"/api/v1/namespaces/{namespace}/services/{service}"
        body: dict[str, Any] = kube.request("GET", path)
        for port in body["spec"]["ports"]:
            if port.get("name") in ports:
                port["targetPort"] = ports[port["name"]]
        kube.request("PUT", path, body=body)
        slices = f"/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices"
        name = f"{service}-local"
        try:
            kube.request("DELETE", f"{slices}/{name}")  # from an earlier run, with an earlier address
        except NotFound:
            pass
        kube.create(
            slices,
            {
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {"name": name, "labels": {"kubernetes.io/service-name": service}},
                "addressType": "IPv4",
                "endpoints": [{"addresses": [plane.address], "conditions": {"ready": True}}],
                "ports": [{"name": n, "port": p, "protocol": "TCP"} for n, p in ports.items()],
            },
        )


def start_demo_data_plane(control_plane: ControlPlane, gateway: Gateway, namespace: str) -> DataPlane:
    """Serve ``gateway``'s ingress class (with its HTTP/2 flag) with backends for the demo Services.

    Raises DataPlaneError (with what is missing, e.g. root) when it cannot start.
    """
    plane = DataPlane(control_plane, ingress_class=gateway.ingress_class, http2=gateway.http2).start()
    try:
        point_services_at(plane, plane.kube, namespace, DEMO_BACKENDS)
    except BaseException:
        plane.stop()
        raise
    # Where the gateway answers, as an admin would type it: the route pages print commands that reach it.
    gateway.address = plane.address
    gateway.save(update_fields=["address"])
    return plane


def stop_demo_data_plane(plane: DataPlane | None, gateway: Gateway) -> None:
    """Stop the data plane (if one started) and forget its address: nothing answers there any more."""
    if plane is not None:
        plane.stop()
    gateway.address = ""
    gateway.save(update_fields=["address"])


def why_off() -> str | None:
    """Why ``make run`` cannot start a data plane here, or None."""
    return requirements_problem()
