"""Host claims: the database's word on which tenant holds a host on a gateway's ingress class.

Checking the cluster and then creating the Ingress leaves a window in which
another tenant's save checks the same host and creates too. A claim closes
it for the routes the console writes: inside the save's transaction, the
tenant takes (cluster, ingress class, host) before the Ingress is written.
The unique constraint lets one tenant have one exact host; wildcard overlaps
(``*.example.com`` against ``a.example.com``) are found by a query that the
transaction serialises: SQLite's writers take the database lock at BEGIN
(``transaction_mode=IMMEDIATE``), and PostgreSQL takes an advisory lock on
(cluster, class, parent domain) first. A tenant may hold a host in several
environments (one claim for them all); the claim goes when its last route
on that host does.

Ingresses written outside the console are not claimed: the ownership check
against the cluster (``ownership.py``) covers them.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from django.db import IntegrityError, connection, models, transaction
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _

from kubegems_routes.tenancy.models import Cluster, Tenant

if TYPE_CHECKING:
    from kubegems_routes.routes.models import Route


class HostClaim(models.Model):
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="+")
    ingress_class = models.CharField(_("ingress class"), max_length=253)
    host = models.CharField(_("host"), max_length=253)
    # For exact hosts, the domain a wildcard covering them names (a.example.com -> example.com).
    parent = models.CharField(max_length=253, blank=True, db_index=True)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "routes"
        verbose_name = _("host claim")
        verbose_name_plural = _("host claims")
        constraints = [
            models.UniqueConstraint(fields=["cluster", "ingress_class", "host"], name="host_claim_once_per_class")
        ]

    def __str__(self) -> str:
        return f"{self.host} ({self.ingress_class}) for {self.tenant_id}"


def _parent(host: str) -> str:
    return "" if host.startswith("*.") else host.partition(".")[2]


def _overlapping(cluster_id: int, ingress_class: str, host: str) -> models.QuerySet[HostClaim]:
    claims = HostClaim.objects.filter(cluster_id=cluster_id, ingress_class=ingress_class)
    if host.startswith("*."):
        return claims.filter(models.Q(host=host) | models.Q(parent=host[2:]))
    return claims.filter(host__in=[host, "*." + _parent(host)])


def _lock(cluster_id: int, ingress_class: str, host: str) -> None:
    if connection.vendor != "postgresql":
        return  # SQLite: this transaction holds the write lock since BEGIN IMMEDIATE
    domain = host[2:] if host.startswith("*.") else _parent(host)
    digest = hashlib.sha256(f"{cluster_id}/{ingress_class}/{domain}".encode()).digest()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(digest[:8], "big", signed=True)])


def claim(cluster_id: int, tenant_id: int, ingress_class: str, host: str) -> bool:
    """Take the host for the tenant inside the caller's transaction; False if another tenant holds it."""
    assert connection.in_atomic_block, "a claim lives and dies with the save's transaction"
    _lock(cluster_id, ingress_class, host)
    holders = set(_overlapping(cluster_id, ingress_class, host).values_list("host", "tenant_id"))
    if any(tenant != tenant_id for _host, tenant in holders):
        return False
    if (host, tenant_id) not in holders:
        try:
            with transaction.atomic():
                HostClaim.objects.create(
                    cluster_id=cluster_id,
                    ingress_class=ingress_class,
                    host=host,
                    parent=_parent(host),
                    tenant_id=tenant_id,
                )
        except IntegrityError:
            return False  # another tenant's claim committed in between
    return True


def claim_for_route(route: Route, ingress_class: str, host: str, *, replacing: bool) -> bool:
    """Claim the route's host for its tenant; after an edit, let go of hosts no route uses any more."""
    environment = route.environment
    tenant_id = environment.project.tenant_id
    if not claim(environment.cluster_id, tenant_id, ingress_class, host):
        return False
    if replacing:
        release_unused(environment.cluster_id, tenant_id)
    return True


def release_unused(cluster_id: int, tenant_id: int) -> None:
    """Drop the tenant's claims in the cluster that no route of the tenant uses any more."""
    from kubegems_routes.routes.models import Route

    in_use = Route.objects.filter(
        environment__cluster_id=OuterRef("cluster_id"),
        environment__project__tenant_id=OuterRef("tenant_id"),
        gateway__ingress_class=OuterRef("ingress_class"),
        host=OuterRef("host"),
    )
    HostClaim.objects.filter(cluster_id=cluster_id, tenant_id=tenant_id).exclude(Exists(in_use)).delete()
