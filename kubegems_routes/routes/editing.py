"""Where an edit starts: the cluster's current version of the route's object, never a stale one."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.utils.translation import gettext as _

from kubegems_routes.kube.errors import KubeError, NotFound
from kubegems_routes.routes import drift, manifest
from kubegems_routes.routes.models import Route
from kubegems_routes.routes.ports import route_port_numbers

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EditStart:
    """The object's version an edit carries, and how the cluster differs from the route."""

    resource_version: str
    sync: drift.Sync
    diff: str = ""


def start_edit(route: Route) -> EditStart:
    """Read the route's object, so an edit starts from the cluster's current version."""
    client = route.environment.cluster.client()
    try:
        numbers = route_port_numbers(route)
        expected = manifest.build(route.spec(numbers))
        live = client.get_route_object(expected["kind"], route.environment.namespace, route.name)
    except NotFound:
        return EditStart(route.resource_version, drift.Sync.MISSING)
    except (KubeError, manifest.UnresolvedPort) as exc:
        logger.warning("reading route %s/%s failed: %s", route.environment.namespace, route.name, exc)
        return EditStart(route.resource_version, drift.Sync.UNKNOWN)
    sync = drift.Sync(route.sync_with(live, numbers))
    return EditStart(
        live["metadata"]["resourceVersion"],
        sync,
        drift.diff(expected, live, _("the route"), _("the cluster")) if sync == drift.Sync.CHANGED else "",
    )
