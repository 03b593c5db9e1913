"""Where a gateway answers, and what a user does with that: a DNS record, or a curl line that works before DNS.

In order: the controller's Service (its LoadBalancer address, or for a
NodePort Service the node address the admin typed with the node ports); the
address the admin typed (``make run`` types its local data plane's); the
address the controller published in an Ingress's ``status.loadBalancer``.
A cluster that does not answer gives no address, never an error page.
"""

from __future__ import annotations

import enum
import ipaddress
import logging
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from kubegems_routes.gateways.models import Gateway
from kubegems_routes.kube.client import Exposure
from kubegems_routes.kube.errors import KubeError

logger = logging.getLogger(__name__)


class Source(enum.StrEnum):
    LOAD_BALANCER = "load-balancer"
    NODE_PORT = "node-port"
    TYPED = "typed"
    INGRESS_STATUS = "ingress-status"

    @property
    def label(self) -> str:
        return str(_SOURCE_LABELS[self])


_SOURCE_LABELS = {
    Source.LOAD_BALANCER: _("the controller's LoadBalancer Service"),
    Source.NODE_PORT: _("a node's address and the controller's node ports"),
    Source.TYPED: _("set by an admin"),
    Source.INGRESS_STATUS: _("published by the controller"),
}


@dataclass(frozen=True)
class Address:
    address: str  # an IP or a DNS name
    source: Source
    http_port: int = 80
    https_port: int = 443

    @property
    def is_ip(self) -> bool:
        try:
            ipaddress.ip_address(self.address)
        except ValueError:
            return False
        return True

    @property
    def where(self) -> str:
        """Where the address comes from, and the ports when they are not 80 and 443."""
        if (self.http_port, self.https_port) == (80, 443):
            return self.source.label
        ports = _("ports %(http)s (HTTP) and %(https)s (HTTPS)") % {"http": self.http_port, "https": self.https_port}
        return f"{self.source.label}; {ports}"

    @property
    def record_type(self) -> str:
        if not self.is_ip:
            return "CNAME"
        return "AAAA" if ipaddress.ip_address(self.address).version == 6 else "A"


def _from_service(gateway: Gateway, exposure: Exposure) -> Address | None:
    if exposure.load_balancer:
        return Address(exposure.load_balancer[0], Source.LOAD_BALANCER)
    if exposure.type in ("NodePort", "LoadBalancer") and gateway.address:
        http, https = exposure.node_port(80), exposure.node_port(443)
        if http or https:
            return Address(gateway.address, Source.NODE_PORT, http or 80, https or 443)
    return None


def _exposure(gateway: Gateway, *, cluster_calls: bool) -> Exposure | None:
    """The controller Service's exposure: from the cluster's watch-fed cache when it is synced, else
    (``cluster_calls``) from the API server; None when unknown."""
    namespace, _slash, name = gateway.service.partition("/")
    try:
        cache = gateway.cluster.cache()
        cached = cache.service_exposure(namespace, name) if cache is not None else None
        if cached is not None or not cluster_calls:
            return cached
        return gateway.cluster.client().service_exposure(namespace, name)
    except KubeError as exc:
        logger.warning("reading Service %s of gateway %s failed: %s", gateway.service, gateway.name, exc.message)
        return None


def gateway_address(gateway: Gateway, published: tuple[str, ...] = (), *, cluster_calls: bool = True) -> Address | None:
    """Where the gateway answers; ``published`` is an Ingress's status.loadBalancer, the last resort.
    Without ``cluster_calls`` (pages listing many gateways) the Service is read from the cache only."""
    if gateway.service:
        exposure = _exposure(gateway, cluster_calls=cluster_calls)
        found = _from_service(gateway, exposure) if exposure is not None else None
        if found is not None:
            return found
    if gateway.address:
        return Address(gateway.address, Source.TYPED)
    if published:
        return Address(published[0], Source.INGRESS_STATUS)
    return None
