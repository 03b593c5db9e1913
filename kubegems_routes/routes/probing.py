"""The Test button: probe a route through its own gateway, rate-limited per user and audit-logged.

Only the route's gateway address and port are ever probed (``gateways.address``): nothing the user sends
chooses where the request goes, so the button cannot be turned on other hosts of the console's network.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone
from django.utils.translation import gettext as _

from kubegems_routes.gateways.address import Address, gateway_address
from kubegems_routes.kube.client import load_balancer_addresses
from kubegems_routes.kube.errors import KubeError
from kubegems_routes.routes import manifest
from kubegems_routes.routes.gateway_status import GatewayStatus, Verdict, gateway_status, route_status
from kubegems_routes.routes.models import AuditEntry, Route
from kubegems_routes.routes.probe import Probe, probe

logger = logging.getLogger(__name__)


class TooManyTests(Exception):
    """The user has tested routes ``ROUTE_TESTS_PER_MINUTE`` times in the last minute."""


@dataclass(frozen=True)
class Tested:
    """A Test button's outcome: the probe (None when there was nothing to probe), why not, and what the
    gateway's controller says of the route when the probe failed."""

    probe: Probe | None
    address: Address | None
    refusal: str = ""
    gateway: GatewayStatus | None = None

    @property
    def hint(self) -> str:
        """What a failure most likely means, in the user's terms."""
        found = self.probe
        if found is None or found.ok:
            return ""
        if self.gateway is not None and self.gateway.verdict in (Verdict.REJECTED, Verdict.PENDING):
            return _("The gateway has not taken the route: see its word below.")
        if found.status in (502, 503, 504):
            return _("The gateway serves the route but could not get an answer from its backend Service.")
        if found.status == 404:
            return _(
                "The gateway does not serve this host and path (yet): its controller may not have taken the route."
            )
        if found.failed == "connect":
            return _("Nothing answers at the gateway's address: check the address an admin set on the gateway.")
        return ""


def probe_route(route: Route, user: User) -> Tested:
    """Probe the route once; TooManyTests past the per-user limit."""
    since = timezone.now() - timedelta(minutes=1)
    recent = AuditEntry.objects.filter(user=user, action=AuditEntry.Action.TEST, created_at__gte=since).count()
    if recent >= settings.ROUTE_TESTS_PER_MINUTE:
        raise TooManyTests
    live = _live(route)
    address = gateway_address(route.gateway, load_balancer_addresses((live or {}).get("status")))
    tested = _tested(route, address)
    if tested.probe is not None and not tested.probe.ok:
        tested = Tested(tested.probe, address, gateway=_gateway_word(route, live))
    AuditEntry.objects.create(
        environment=route.environment,
        route_name=route.name,
        action=AuditEntry.Action.TEST,
        user=user,
        note=_note(tested)[: AuditEntry._meta.get_field("note").max_length],
    )
    return tested


def _tested(route: Route, address: Address | None) -> Tested:
    if address is None:
        return Tested(None, None, _("The gateway's address is not known, so there is nowhere to send a test."))
    if not route.host or route.host.startswith("*."):
        return Tested(
            None, address, _("A wildcard host names no single host to test; test one of its hosts with curl.")
        )
    paths = list(route.paths.all())
    path = paths[0].path if paths else "/"
    port = address.https_port if manifest.needs_tls(route.protocol) else address.http_port
    return Tested(probe(route.host, route.protocol, path, address.address, port), address)


def _live(route: Route) -> dict | None:
    """The route's object in the cluster (for the address the controller published, and its status)."""
    try:
        return route.environment.cluster.client().get_route_object(
            route.spec().kind, route.environment.namespace, route.name
        )
    except KubeError as exc:
        logger.info("reading %s for a test failed: %s", route.name, exc.message)
        return None


def _gateway_word(route: Route, live: dict | None) -> GatewayStatus | None:
    kind = route.spec().kind
    if kind != "Ingress":
        return route_status(live)
    try:
        events = route.environment.cluster.client().list_events(route.environment.namespace, kind, route.name)
    except KubeError:
        return None
    return gateway_status(events, (live or {}).get("metadata", {}).get("uid"))


def _note(tested: Tested) -> str:
    found = tested.probe
    if found is None:
        return tested.refusal
    if found.ok:
        return f"{found.url} via {found.target}: {found.status} {found.http_version} {found.grpc_health}".strip()
    return f"{found.url} via {found.target}: {found.failed} failed: {found.error}"
