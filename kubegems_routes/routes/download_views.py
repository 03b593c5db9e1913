"""A route as a YAML file: the manifest it writes (the preview's builder), or a version's from its History."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from kubegems_routes.kube.client import Manifest
from kubegems_routes.kube.errors import KubeError
from kubegems_routes.lib.htmx import AuthenticatedHttpRequest
from kubegems_routes.routes import manifest
from kubegems_routes.routes.models import Route, RouteVersion
from kubegems_routes.routes.ports import expected_manifest
from kubegems_routes.routes.refusals import port_message
from kubegems_routes.tenancy.access import get_environment_for_user
from kubegems_routes.tenancy.models import Environment

CONTENT_TYPE = "application/yaml; charset=utf-8"  # RFC 9512


def _get_route_for_user(environment: Environment, name: str) -> Route:
    """A route of an environment the caller already got through the access helper."""
    return get_object_or_404(
        Route.objects.select_related("gateway", "environment__project__tenant", "environment__cluster"),
        environment=environment,
        name=name,
    )


def _attachment(body: Manifest, filename: str) -> HttpResponse:
    response = HttpResponse(manifest.to_yaml(body), content_type=CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    return response


@login_required
@require_GET
def route_manifest(request: AuthenticatedHttpRequest, environment_id: int, name: str) -> HttpResponse:
    """What the route writes, as ``<name>.yaml``: for whoever may read the route. Port names of a Gateway API
    route are resolved from the Services, as a save resolves them; when that fails, the route's page says why."""
    environment = get_environment_for_user(request.user, environment_id)
    route = _get_route_for_user(environment, name)
    try:
        body = expected_manifest(route)
    except manifest.UnresolvedPort as exc:
        messages.error(request, port_message(exc))
    except KubeError:
        messages.error(request, _("The cluster cannot be reached to resolve port names; try again once it answers."))
    else:
        return _attachment(body, f"{route.name}.yaml")
    return redirect("routes:detail", environment.pk, route.name)


@login_required
@require_GET
def version_manifest(request: AuthenticatedHttpRequest, environment_id: int, name: str, number: int) -> HttpResponse:
    """The object one version of the route applied, as ``<name>-v<number>.yaml``."""
    environment = get_environment_for_user(request.user, environment_id)
    route = _get_route_for_user(environment, name)
    version = get_object_or_404(RouteVersion, route=route, number=number)
    return _attachment(version.manifest, f"{route.name}-v{version.number}.yaml")
