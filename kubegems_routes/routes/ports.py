"""Port names resolved to numbers: a Gateway API backendRef takes a number, an Ingress backend a name too."""

from __future__ import annotations

from collections.abc import Iterable

from kubegems_routes.gateways.models import Gateway
from kubegems_routes.kube.client import Manifest, Service
from kubegems_routes.routes import cluster_reads, manifest
from kubegems_routes.routes.models import Route, route_spec
from kubegems_routes.routes.values import RouteValues
from kubegems_routes.tenancy.models import Environment


def port_numbers(
    environment: Environment, gateway: Gateway, backends: tuple[manifest.Backend, ...]
) -> dict[tuple[str, str], int]:
    """Port names of the backends' Services, resolved to numbers when the gateway's objects need them.

    Empty for an ingress-class gateway, or when every port is a number (no cluster call then).
    """
    if not needs_port_numbers(gateway, backends):
        return {}
    return service_port_numbers(environment)


def needs_port_numbers(gateway: Gateway, backends: tuple[manifest.Backend, ...]) -> bool:
    return gateway.is_gateway_api and not all(b.port.isdigit() for b in backends)


def service_port_numbers(environment: Environment) -> dict[tuple[str, str], int]:
    """(service, port name) -> number for every named port of the environment's Services (one read)."""
    return numbers_of(cluster_reads.services(environment))


def numbers_of(services: Iterable[Service]) -> dict[tuple[str, str], int]:
    """(service, port name) -> number for every named port of these Services."""
    return {(service.name, port.name): port.port for service in services for port in service.ports if port.name}


def route_port_numbers(route: Route) -> dict[tuple[str, str], int]:
    """``port_numbers`` for a stored route (may call the cluster; none for an ingress-class gateway)."""
    return port_numbers(route.environment, route.gateway, route.backends())


def resolved_spec(route: Route) -> manifest.RouteSpec:
    """The route's spec with its port names resolved when its gateway needs numbers (may call the cluster)."""
    return route.spec(route_port_numbers(route))


def values_spec(route: Route, values: RouteValues) -> manifest.RouteSpec:
    """The spec ``values`` would give the route, before they are saved (a review, a move), with its port names
    resolved when the gateway needs numbers (may call the cluster)."""
    environment = route.environment
    return route_spec(
        environment=environment,
        gateway=values.gateway,
        name=route.name,
        host=values.host,
        protocol=values.protocol,
        tls_secret=values.tls_secret,
        tls_source=values.tls_source,
        backends=values.backends,
        annotations=values.annotations,
        port_numbers=port_numbers(environment, values.gateway, values.backends),
        kept=route.kept if values.kept is None else values.kept,
    )


def expected_manifest(route: Route) -> Manifest:
    """What the cluster should hold for the route; raises KubeError, or UnresolvedPort for a port the Service lost."""
    return manifest.build(resolved_spec(route))
