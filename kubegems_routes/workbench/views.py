from __future__ import annotations

from itertools import groupby

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from kubegems_routes.tenancy.access import get_environment_for_user, visible_environments


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return redirect("workbench:environments")


@login_required
@require_GET
def environments(request: HttpRequest) -> HttpResponse:
    """The workbench: every environment the user may enter, grouped by tenant and project."""
    visible = list(visible_environments(request.user).order_by("project__tenant__name", "project__name", "name"))
    tenants = [
        (tenant, [(project, list(envs)) for project, envs in groupby(items, key=lambda e: e.project)])
        for tenant, items in groupby(visible, key=lambda e: e.project.tenant)
    ]
    return render(request, "workbench/environments.html", {"tenants": tenants})


@login_required
@require_GET
def environment(request: HttpRequest, environment_id: int) -> HttpResponse:
    env = get_environment_for_user(request.user, environment_id)
    return render(
        request,
        "workbench/environment.html",
        {"environment": env, "route_count": env.routes.count(), "section": "overview"},
    )
