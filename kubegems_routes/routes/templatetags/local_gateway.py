"""Commands that reach a route through a local data plane (``make run`` as root); see dataplane/local.py."""

from __future__ import annotations

from django import template

from kubegems_routes.dataplane.local import TryCommand, try_commands
from kubegems_routes.routes.models import Route

register = template.Library()


@register.simple_tag(name="try_commands")
def try_commands_tag(route: Route) -> list[TryCommand]:
    return try_commands(route, route.gateway.ingress_class)
