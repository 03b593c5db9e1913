from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from kubegems_routes.gateways.models import ensure_default_gateway
from kubegems_routes.tenancy.models import Cluster


@receiver(post_save, sender=Cluster)
def _cluster_has_default_gateway(sender: type[Cluster], instance: Cluster, created: bool, **kwargs: Any) -> None:
    # Every cluster offers the shared default gateway to every tenant.
    if created:
        ensure_default_gateway(instance)
