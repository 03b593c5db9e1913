"""Does each backend of a route have somewhere to send requests? Ready endpoints per Service and port.

From the Services and EndpointSlices of the route's namespace, read once per page
(``read_backends``: the watch-fed cache when synced, else one list of each), so a
list page costs the same for one route as for fifty. An EndpointSlice belongs to
its Service by the ``kubernetes.io/service-name`` label and names the Service
port it serves (the port's name, "" for an unnamed one); an endpoint whose
``ready`` condition is unset counts as ready, as Kubernetes says it should.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext as _

from kubegems_routes.kube.client import EndpointSlice, Service, ServicePort
from kubegems_routes.kube.errors import KubeError
from kubegems_routes.routes import cluster_reads, manifest
from kubegems_routes.routes.models import RoutePath
from kubegems_routes.tenancy.models import Environment

logger = logging.getLogger(__name__)


class Health(enum.StrEnum):
    READY = "ready"  # at least one ready endpoint
    NONE_READY = "none-ready"  # the Service and port exist; no endpoint is ready
    NO_SERVICE = "no-service"
    NO_PORT = "no-port"
    EXTERNAL = "external"  # an ExternalName Service: the gateway resolves a name, there are no endpoints
    UNKNOWN = "unknown"  # the cluster could not be read


@dataclass(frozen=True)
class BackendHealth:
    service: str
    port: str  # as the route names it: a number or a port name
    state: Health
    ready: int = 0
    not_ready: int = 0
    ports: tuple[str, ...] = ()  # the Service's ports (labels), said when the route's port is not one of them

    @property
    def failing(self) -> bool:
        """Requests to this backend cannot be answered (the gateway answers 502 or 503)."""
        return self.state in (Health.NONE_READY, Health.NO_SERVICE, Health.NO_PORT)

    @property
    def summary(self) -> str:
        """One line: the counts, or what is wrong."""
        if self.state in (Health.READY, Health.NONE_READY):
            return _("%(ready)s ready, %(not_ready)s not ready") % {"ready": self.ready, "not_ready": self.not_ready}
        if self.state == Health.NO_SERVICE:
            return _("Service %(service)s does not exist") % {"service": self.service}
        if self.state == Health.NO_PORT:
            return _("Service %(service)s has no port %(port)s (it has %(ports)s)") % {
                "service": self.service,
                "port": self.port,
                "ports": ", ".join(self.ports) or _("no ports"),
            }
        if self.state == Health.EXTERNAL:
            return _("an ExternalName Service: no endpoints to count")
        return _("not known: the cluster could not be read")

    @property
    def warning(self) -> str:
        """What the list page says of a failing backend, or ''."""
        if self.state == Health.NONE_READY:
            return _("%(service)s:%(port)s: 0 ready endpoints") % {"service": self.service, "port": self.port}
        return self.summary if self.failing else ""


@dataclass(frozen=True)
class BackendReads:
    """A namespace's Services by name and EndpointSlices by Service name; None where they could not be read."""

    services: dict[str, Service] | None
    slices: dict[str, list[EndpointSlice]] | None


def read_backends(environment: Environment) -> BackendReads:
    """The namespace's Services and EndpointSlices, once for a page (no call when the cache is synced)."""
    try:
        services: dict[str, Service] | None = {s.name: s for s in cluster_reads.services(environment)}
    except KubeError as exc:
        logger.warning("listing services of %s failed: %s", environment.namespace, exc.message)
        services = None
    try:
        slices = cluster_reads.endpoint_slices(environment) if services is not None else None
    except KubeError as exc:
        logger.warning("listing endpoint slices of %s failed: %s", environment.namespace, exc.message)
        slices = None
    return BackendReads(services, slices)


def _service_port(service: Service, port: str) -> ServicePort | None:
    if port.isdigit():
        return next((p for p in service.ports if p.port == int(port)), None)
    return next((p for p in service.ports if p.name == port), None)


def _count(slices: Iterable[EndpointSlice], port: ServicePort) -> tuple[int, int]:
    """(ready, not ready) endpoints serving the Service port, each address counted once."""
    ready: set[str] = set()
    not_ready: set[str] = set()
    for endpoint_slice in slices:
        if endpoint_slice.ports and (port.name, port.protocol) not in endpoint_slice.ports:
            continue
        for address, is_ready in endpoint_slice.endpoints:
            (ready if is_ready else not_ready).add(address)
    return len(ready), len(not_ready - ready)


def backend_health(service_name: str, port: str, reads: BackendReads) -> BackendHealth:
    if reads.services is None or reads.slices is None:
        return BackendHealth(service_name, port, Health.UNKNOWN)
    service = reads.services.get(service_name)
    if service is None:
        return BackendHealth(service_name, port, Health.NO_SERVICE)
    if service.exposure.type == "ExternalName":
        return BackendHealth(service_name, port, Health.EXTERNAL)
    found = _service_port(service, port)
    if found is None:
        return BackendHealth(service_name, port, Health.NO_PORT, ports=tuple(p.label for p in service.ports))
    ready, not_ready = _count(reads.slices.get(service_name, ()), found)
    return BackendHealth(service_name, port, Health.READY if ready else Health.NONE_READY, ready, not_ready)


def route_health(backends: Iterable[manifest.Backend], reads: BackendReads) -> list[BackendHealth]:
    """One entry per distinct (Service, port) the route sends requests to, in the order of its paths.

    A backend weighted 0 (beside another of its path) is sent none: it is not among them."""
    seen: dict[tuple[str, str], BackendHealth] = {}
    for backend in backends:
        key = (backend.service, backend.port)
        if key not in seen and backend.weight:
            seen[key] = backend_health(backend.service, backend.port, reads)
    return list(seen.values())


@dataclass(frozen=True)
class BackendRow:
    """A path row of the detail page: its backend's health, and its share of the path's requests."""

    path: RoutePath
    health: BackendHealth
    share: float | None = None  # a percentage, where several backends share the path by weight


def path_rows(paths: list[RoutePath], reads: BackendReads, *, protocol: str = "") -> list[BackendRow]:
    """Each path of the detail page with its backend's health; with ``protocol`` (a Gateway API route's), the
    share of each backend of a path split by weight."""
    shares = manifest.shares(protocol, tuple(p.backend() for p in paths)) if protocol else [None] * len(paths)
    return [
        BackendRow(path, backend_health(path.service, path.port, reads), share)
        for path, share in zip(paths, shares, strict=True)
    ]


def list_warning(health: list[BackendHealth]) -> str:
    """The list page's warning for a route: its first failing backend, or ''."""
    return next((h.warning for h in health if h.failing), "")
