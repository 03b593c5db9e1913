"""Revert a route to one of its versions: the version's values saved again, exactly as an edit saves them.

The values go through the route form's checks (``RouteEditor``: snippet policy, the Service's ports, the
host's domain, ...) and then ``save_route`` (host claims and ownership, the Gateway's allowedRoutes, the
API server's refusals, the object's resourceVersion), so a revert is refused for every reason an edit
with those values would be, and is recorded as a new version of its own.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from django.contrib.auth.models import User
from django.http import QueryDict
from django.utils.translation import gettext as _

from kubegems_routes.gateways.models import Gateway
from kubegems_routes.kube.errors import KubeError
from kubegems_routes.routes import cluster_reads, manifest
from kubegems_routes.routes.errors import FieldProblem, NotRevertible
from kubegems_routes.routes.forms import RouteEditor
from kubegems_routes.routes.models import Route, RouteVersion
from kubegems_routes.routes.review import Review, review_route
from kubegems_routes.routes.saving import save_route
from kubegems_routes.routes.values import RouteValues


def revert_route(route: Route, version: RouteVersion, user: User) -> Route:
    """Save the version's values as the route's new version, or raise a RouteError and change nothing.

    It applies over the object's version the console last wrote: an object changed in the cluster since
    is a conflict (StaleEdit), never overwritten."""
    values = reverted_values(route, version)
    return save_route(route, values, user, resource_version=route.resource_version, reverting_to=version.number)


def review_revert(route: Route, version: RouteVersion) -> Review:
    """What reverting would make the cluster store (a dry run, nothing written); a RouteError as the revert's."""
    return review_route(route, reverted_values(route, version), resource_version=route.resource_version)


def reverted_values(route: Route, version: RouteVersion) -> RouteValues:
    """The version's values as the form takes them now, or NotRevertible with the form's reasons.

    Binding the form puts the values on ``route`` in memory (as an edit's form does); nothing is saved."""
    editor = _bound_editor(route, version)
    if not editor.is_valid():
        problems = [FieldProblem(None, f"{label}: {msg}" if label else msg) for _id, label, msg in editor.errors()]
        raise NotRevertible(
            _("Version %(n)s cannot be saved as it is now:") % {"n": version.number}, on_fields=problems
        )
    values = editor.values()
    if "kept" in version.values:  # what the form does not show comes back as the version had it
        values = dataclasses.replace(values, kept=dict(version.values["kept"]))
    return values


def _bound_editor(route: Route, version: RouteVersion) -> RouteEditor:
    environment = route.environment
    values = version.values
    gateway = Gateway.objects.for_environment(environment).filter(pk=values.get("gateway")).first()
    if gateway is None:
        raise NotRevertible(_("The gateway of version %(n)s is no longer offered here.") % {"n": version.number})
    try:
        services = {s.name: s for s in cluster_reads.services(environment)}
    except KubeError:
        services = None  # as the form without the cluster's Services: the ports are checked by the save
    # Reverting is the confirmation: a version of another kind replaces the route's object by its kind.
    kind = manifest.object_kind(str(values.get("protocol", "")), gateway_api=gateway.is_gateway_api)
    data = _form_data(values, route.resource_version, kind)
    return RouteEditor(environment, data=data, instance=route, services=services)


def _form_data(values: dict[str, Any], resource_version: str, kind: str) -> QueryDict:
    """The version's values posted as the edit form posts them."""
    backends = list(values.get("backends") or [])
    annotations = list((values.get("annotations") or {}).items())
    data = QueryDict(mutable=True)
    data.update(
        {
            "gateway": str(values.get("gateway", "")),
            "host": str(values.get("host", "")),
            "protocol": str(values.get("protocol", "")),
            "tls_secret": str(values.get("tls_secret", "")),
            "tls_source": str(values.get("tls_source", "")),
            "resource_version": resource_version,
            "switch_to": kind,
            "paths-TOTAL_FORMS": str(len(backends)),
            "paths-INITIAL_FORMS": "0",
            "annotations-TOTAL_FORMS": str(len(annotations)),
            "annotations-INITIAL_FORMS": "0",
        }
    )
    for i, backend in enumerate(backends):
        for key in ("path", "path_type", "service", "port"):
            data[f"paths-{i}-{key}"] = str(backend.get(key, ""))
        # Versions recorded before weights existed had none: the default.
        data[f"paths-{i}-weight"] = str(backend.get("weight", manifest.DEFAULT_WEIGHT))
    for i, (key, value) in enumerate(annotations):
        data[f"annotations-{i}-key"] = str(key)
        data[f"annotations-{i}-value"] = str(value)
    return data
