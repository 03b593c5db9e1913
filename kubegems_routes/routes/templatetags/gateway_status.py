"""The gateway's word on routes, for the list and detail templates (see routes/gateway_status.py)."""

from __future__ import annotations

from typing import Any

from django import template

from kubegems_routes.kube.errors import KubeError
from kubegems_routes.routes.gateway_status import (
    CONTROLLER_COMPONENT,
    GatewayStatus,
    gateway_status,
    statuses_by_name,
)
from kubegems_routes.tenancy.models import Environment

register = template.Library()


@register.simple_tag
def gateway_statuses(environment: Environment) -> dict[str, GatewayStatus]:
    """One cluster call for a whole list page: the controller's Events on the namespace's Ingresses."""
    try:
        events = environment.cluster.client().list_events_from(environment.namespace, "Ingress", CONTROLLER_COMPONENT)
    except KubeError:
        return {}  # the page already says when the cluster cannot be reached
    return statuses_by_name(events)


@register.filter
def status_of(statuses: dict[str, GatewayStatus], name: str) -> GatewayStatus | None:
    return statuses.get(name)


@register.filter(name="gateway_status")
def gateway_status_filter(events: list[dict[str, Any]], ingress: dict[str, Any] | None = None) -> GatewayStatus | None:
    uid = (ingress or {}).get("metadata", {}).get("uid")
    return gateway_status(events, uid)
