"""A route's History page and the revert to one of its versions."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from kubegems_routes.lib.htmx import AuthenticatedHttpRequest, wants_fragment
from kubegems_routes.routes.errors import RouteError, StaleEdit
from kubegems_routes.routes.history import history, version_diff
from kubegems_routes.routes.models import Route, RouteVersion
from kubegems_routes.routes.revert import revert_route, review_revert
from kubegems_routes.tenancy.access import get_environment_for_user
from kubegems_routes.tenancy.models import Environment


def _get_route_for_user(environment: Environment, name: str) -> Route:
    """A route of an environment the caller already got through the access helper."""
    return get_object_or_404(
        Route.objects.select_related("gateway", "environment__project__tenant", "environment__cluster"),
        environment=environment,
        name=name,
    )


@login_required
@require_GET
def route_history(request: AuthenticatedHttpRequest, environment_id: int, name: str) -> HttpResponse:
    """Every kept version of the route, newest first, each with what changed: for whoever may read the route."""
    environment = get_environment_for_user(request.user, environment_id)
    route = _get_route_for_user(environment, name)
    return render(
        request,
        "routes/route_history.html",
        {"environment": environment, "route": route, "entries": history(route), "section": "routes"},
    )


@login_required
@require_http_methods(["GET", "POST"])
def route_revert(request: AuthenticatedHttpRequest, environment_id: int, name: str, number: int) -> HttpResponse:
    """GET asks to confirm, showing what the revert changes; POST saves the version's values again."""
    environment = get_environment_for_user(request.user, environment_id, write=True)
    route = _get_route_for_user(environment, name)
    version = get_object_or_404(RouteVersion.objects.select_related("user"), route=route, number=number)
    problems: list[str] = []
    stale_diff = ""
    review = None
    try:
        if request.method == "POST":
            revert_route(route, version, request.user)
        else:  # what the cluster would store, or why the revert would be refused, before it is asked for
            review = review_revert(route, version)
    except RouteError as exc:
        problems = _problems(request, exc)
        if isinstance(exc, StaleEdit):
            stale_diff = exc.diff
    else:
        if request.method == "POST":
            messages.success(
                request, _("Route %(name)s reverted to version %(n)s.") % {"name": route.name, "n": version.number}
            )
            url = reverse("routes:detail", args=[environment.pk, route.name])
            return HttpResponseClientRedirect(url) if wants_fragment(request) else redirect(url)
    route = _get_route_for_user(environment, name)  # binding the form changed it in memory
    current = route.versions.order_by("-number").first()
    return render(
        request,
        "routes/route_revert.html",
        {
            "environment": environment,
            "route": route,
            "version": version,
            "current": current,
            "diff": version_diff(current, version) if current is not None and current != version else "",
            # A version of another kind of object: reverting replaces the route's object, as a confirmed switch.
            "switch": (
                (current.manifest.get("kind"), version.manifest.get("kind"))
                if current is not None and current.manifest.get("kind") != version.manifest.get("kind")
                else None
            ),
            "problems": problems,
            "stale_diff": stale_diff,
            "review": review,
            "section": "routes",
        },
    )


def _problems(request: AuthenticatedHttpRequest, exc: RouteError) -> list[str]:
    """The refusal in words: its message, then each reason (staff also read the API server's own words)."""
    message = f"{exc.message} ({exc.detail})" if exc.detail and request.user.is_staff else exc.message
    reasons = [p.message for p in exc.problems() if p.message != exc.message]
    return [message, *reasons]
