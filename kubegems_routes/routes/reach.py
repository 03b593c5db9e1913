"""Where a route's gateway answers and how to reach the route there; see gateways/address.py and commands.py.

Read by the detail view (the controller's Service may be asked for its address), never from a template.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kubegems_routes.gateways.address import Address, gateway_address
from kubegems_routes.kube.client import load_balancer_addresses
from kubegems_routes.routes.commands import TryCommand, try_commands
from kubegems_routes.routes.models import Route


@dataclass(frozen=True)
class Reach:
    address: Address | None
    published: tuple[str, ...] = ()  # the Ingress's status.loadBalancer, as the controller wrote it
    commands: list[TryCommand] = field(default_factory=list)


def reach(route: Route, ingress: dict[str, Any] | None = None) -> Reach:
    published = load_balancer_addresses((ingress or {}).get("status"))
    address = gateway_address(route.gateway, published)
    if address is None:
        return Reach(None, published)
    return Reach(address, published, try_commands(route, address.address, address.http_port, address.https_port))
