"""Routes of one environment: list, create, show, edit, delete, and the form's live fragments."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from kubegems_routes.kube.client import Service
from kubegems_routes.kube.errors import KubeError, NotFound
from kubegems_routes.lib.validators import is_random_host_of, random_host
from kubegems_routes.routes import cluster_reads, drift, manifest
from kubegems_routes.routes.forms import RouteEditor, initial_from_data
from kubegems_routes.routes.models import Route
from kubegems_routes.routes.services import (
    NotImportable,
    delete_route,
    import_ingress,
    reapply_route,
    save_route,
    take_over,
)
from kubegems_routes.tenancy.access import get_environment_for_user, is_tenant_admin
from kubegems_routes.tenancy.models import Environment
from kubegems_routes.workbench.htmx import wants_fragment

PAGE_SIZE = 50
FORM_TEMPLATE = "routes/route_form.html"
# Fragments of the form that HTMX may ask for, and whether each needs the
# cluster's services (the protocol toggle and the preview never call the cluster).
FRAGMENTS = {"secret": False, "preview": False, "annotations": False, "host": False, "paths": True}
# Swaps that change the form without a 'change' event: the preview re-renders after them.
REFRESHES_PREVIEW = {"annotations", "host", "paths"}


def _get_route_for_user(request: HttpRequest, environment: Environment, name: str) -> Route:
    return get_object_or_404(
        Route.objects.select_related("gateway", "environment__project__tenant", "environment__cluster"),
        environment=environment,
        name=name,
    )


@login_required
@require_GET
def route_list(request: HttpRequest, environment_id: int) -> HttpResponse:
    environment = get_environment_for_user(request.user, environment_id)
    query = request.GET.get("q", "").strip()
    routes = (
        Route.objects.filter(environment=environment)
        .select_related("gateway", "environment__project__tenant")
        .prefetch_related("paths", "gateway__annotations")
        .order_by("name")
    )
    if query:
        routes = routes.filter(name__icontains=query)
    page = Paginator(routes, PAGE_SIZE).get_page(request.GET.get("page"))
    live, unlabelled, cluster_error = _live_ingresses(environment, [r.name for r in page.object_list])
    for route in page.object_list:
        route.sync = (
            drift.sync_state(manifest.build_ingress(route.spec()), live.get(route.name))
            if live is not None
            else drift.Sync.UNKNOWN
        )
    unmanaged: list[str] = []
    if unlabelled and not query:
        known = set(Route.objects.filter(environment=environment, name__in=unlabelled).values_list("name", flat=True))
        unmanaged = sorted(set(unlabelled) - known)
    context = {
        "environment": environment,
        "page": page,
        "query": query,
        "cluster_error": cluster_error,
        "unmanaged": unmanaged,
        "section": "routes",
    }
    if wants_fragment(request):
        return render(request, "routes/route_list.html#table", context)
    return render(request, "routes/route_list.html", context)


def _live_ingresses(
    environment: Environment, names: list[str]
) -> tuple[dict[str, dict[str, Any]] | None, list[str], str]:
    """The Ingresses of one page of routes, the names of the unmanaged ones, or why the cluster could not tell."""
    try:
        live, unlabelled = cluster_reads.page_ingresses(environment, names)
    except KubeError as exc:
        message = _("The cluster cannot be reached (%(msg)s). Showing the routes the console knows.")
        return None, [], message % {"msg": exc.message}
    return live, unlabelled, ""


def _services(environment: Environment) -> tuple[dict[str, Service] | None, str]:
    try:
        services = cluster_reads.services(environment)
    except KubeError as exc:
        return None, _("Services could not be read from the cluster (%(msg)s); type the service and port.") % {
            "msg": exc.message
        }
    return {s.name: s for s in services}, ""


_REMOVE = re.compile(r"^remove-(paths|annotations)-(\d+)$")


def _apply_row_action(action: str, initial: tuple[dict[str, str], list[dict[str, str]], list[dict[str, str]]]) -> None:
    _form, paths, annotations = initial
    if action == "add-path":
        paths.append({"path": "/", "path_type": "Prefix", "service": "", "port": ""})
    elif action == "add-annotation":
        annotations.append({"key": "", "value": ""})
    elif match := _REMOVE.match(action):
        rows = paths if match.group(1) == "paths" else annotations
        index = int(match.group(2))
        if index < len(rows) and (rows is annotations or len(rows) > 1):
            rows.pop(index)


def _form_context(
    environment: Environment,
    editor: RouteEditor,
    services_error: str = "",
    suggested: str = "",
    *,
    with_preview: bool = True,
) -> dict[str, Any]:
    context = {
        "environment": environment,
        "editor": editor,
        "form": editor.form,
        "route": editor.instance if editor.instance.pk else None,
        "needs_tls": manifest.needs_tls(editor.protocol()),
        "services_error": services_error,
        "section": "routes",
    }
    if not with_preview:
        return context
    # The host an empty Host field will get, generated once and carried in the
    # form, so the preview shows exactly the host that saving sends.
    gateway = editor.gateway()
    if gateway is not None and not is_random_host_of(suggested, gateway.default_domain):
        suggested = random_host(gateway.default_domain)
    spec = editor.preview_spec(host=suggested)
    body = manifest.build_ingress(spec) if spec else None
    context.update(
        suggested_host=suggested,
        generated_annotations=(
            manifest.protocol_annotations(spec.protocol, [b.service for b in spec.backends]) if spec else {}
        ),
        effective_annotations=manifest.effective_annotations(spec) if spec else {},
        preview_yaml=manifest.to_yaml(body) if body else "",
    )
    return context


def _route_form(request: HttpRequest, environment: Environment, route: Route | None) -> HttpResponse:
    fragment = request.POST.get("_fragment", "") if request.method == "POST" else ""
    action = request.POST.get("_action", "save") if request.method == "POST" else ""
    needs_services = FRAGMENTS.get(fragment, True) if wants_fragment(request) else True
    services, services_error = _services(environment) if needs_services else (None, "")

    urls = {"form_url": request.path, "ports_url": reverse("routes:ports", args=[environment.pk])}
    if action == "save":
        editor = RouteEditor(environment, data=request.POST, instance=route, services=services, **urls)
        if editor.is_valid():
            saved = save_route(editor, request.user, fallback_host=request.POST.get("suggested_host", ""))
            if saved is not None:
                messages.success(request, _("Route %(name)s saved.") % {"name": saved.name})
                url = reverse("routes:detail", args=[environment.pk, saved.name])
                return HttpResponseClientRedirect(url) if wants_fragment(request) else redirect(url)
        fragment = "form-body"
    elif request.method == "POST":
        initial = initial_from_data(request.POST)
        _apply_row_action(action, initial)
        editor = RouteEditor(environment, instance=route, initial=initial, services=services, **urls)
        if action == "random-host" and (gateway := editor.gateway()) is not None:
            editor.form.initial["host"] = random_host(gateway.default_domain)
    else:
        editor = RouteEditor(environment, instance=route, services=services, **urls)

    partial = wants_fragment(request) and (fragment in FRAGMENTS or fragment == "form-body")
    context = _form_context(
        environment,
        editor,
        services_error,
        request.POST.get("suggested_host", ""),
        with_preview=not partial or fragment in {"preview", "form-body"},
    )
    if partial:
        response = render(request, f"{FORM_TEMPLATE}#{fragment}", context)
        if fragment in REFRESHES_PREVIEW:
            trigger_client_event(response, "refresh-preview")
        return response
    return render(request, FORM_TEMPLATE, context)


@login_required
@require_http_methods(["GET", "POST"])
def route_create(request: HttpRequest, environment_id: int) -> HttpResponse:
    environment = get_environment_for_user(request.user, environment_id, write=True)
    return _route_form(request, environment, None)


@login_required
@require_http_methods(["GET", "POST"])
def route_edit(request: HttpRequest, environment_id: int, name: str) -> HttpResponse:
    environment = get_environment_for_user(request.user, environment_id, write=True)
    route = _get_route_for_user(request, environment, name)
    return _route_form(request, environment, route)


@login_required
@require_GET
def route_detail(request: HttpRequest, environment_id: int, name: str) -> HttpResponse:
    environment = get_environment_for_user(request.user, environment_id)
    route = _get_route_for_user(request, environment, name)
    client = environment.cluster.client()
    ingress: dict[str, Any] | None = None
    events: list[dict[str, Any]] = []
    cluster_error = ""
    expected = manifest.build_ingress(route.spec())
    sync = drift.Sync.UNKNOWN
    try:
        ingress = client.get_ingress(environment.namespace, route.name)
        events = client.list_events(environment.namespace, "Ingress", route.name)
    except NotFound:
        sync = drift.Sync.MISSING
    except KubeError as exc:
        cluster_error = _("The cluster cannot be reached: %(msg)s") % {"msg": exc.message}
    else:
        sync = drift.sync_state(expected, ingress)
    if ingress is not None:
        ingress.get("metadata", {}).pop("managedFields", None)
    return render(
        request,
        "routes/route_detail.html",
        {
            "environment": environment,
            "route": route,
            "paths": list(route.paths.all()),
            "ingress": ingress,
            "ingress_yaml": manifest.to_yaml(ingress) if ingress else "",
            "annotations": (ingress or {}).get("metadata", {}).get("annotations", {}),
            "events": events,
            "cluster_error": cluster_error,
            "sync": sync,
            "drift_diff": (
                drift.diff(expected, ingress, "the route", "the cluster")
                if ingress and sync == drift.Sync.CHANGED
                else ""
            ),
            "audit": route.environment.audit_entries.filter(route_name=route.name).select_related("user")[:20],
            "section": "routes",
        },
    )


def _cluster_action(
    request: HttpRequest, environment_id: int, name: str, action: Callable[[Route, Any], None], done: str
) -> HttpResponse:
    environment = get_environment_for_user(request.user, environment_id, write=True)
    route = _get_route_for_user(request, environment, name)
    try:
        action(route, request.user)
    except (KubeError, NotImportable) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done % {"name": route.name})
    return redirect("routes:detail", environment.pk, route.name)


@login_required
@require_POST
def route_reapply(request: HttpRequest, environment_id: int, name: str) -> HttpResponse:
    return _cluster_action(request, environment_id, name, reapply_route, _("Route %(name)s re-applied to the cluster."))


@login_required
@require_POST
def route_take_over(request: HttpRequest, environment_id: int, name: str) -> HttpResponse:
    return _cluster_action(
        request, environment_id, name, take_over, _("Route %(name)s now matches the cluster's version.")
    )


@login_required
@require_POST
def ingress_import(request: HttpRequest, environment_id: int) -> HttpResponse:
    environment = get_environment_for_user(request.user, environment_id, write=True)
    name = request.POST.get("name", "")
    if Route.objects.filter(environment=environment, name=name).exists():
        messages.error(request, _("%(name)s is already a route.") % {"name": name})
        return redirect("routes:list", environment.pk)
    try:
        import_ingress(environment, name, request.user)
    except NotFound:
        messages.error(request, _("There is no Ingress %(name)s in this namespace.") % {"name": name})
    except NotImportable as exc:
        messages.error(request, _("Ingress %(name)s cannot be imported: %(why)s") % {"name": name, "why": exc})
    except KubeError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Ingress %(name)s imported as a route.") % {"name": name})
        return redirect("routes:detail", environment.pk, name)
    return redirect("routes:list", environment.pk)


@login_required
@require_GET
def audit_log(request: HttpRequest, environment_id: int) -> HttpResponse:
    """Who created, changed or deleted which route, and the manifest applied: for tenant admins."""
    environment = get_environment_for_user(request.user, environment_id)
    if not is_tenant_admin(request.user, environment):
        raise PermissionDenied(_("The audit log is for tenant admins."))
    entries = environment.audit_entries.select_related("user")
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    for entry in page.object_list:
        entry.manifest_yaml = manifest.to_yaml(entry.manifest) if entry.manifest else ""
    return render(request, "routes/audit_log.html", {"environment": environment, "page": page, "section": "audit"})


@login_required
@require_http_methods(["GET", "POST"])
def route_delete(request: HttpRequest, environment_id: int, name: str) -> HttpResponse:
    environment = get_environment_for_user(request.user, environment_id, write=True)
    route = _get_route_for_user(request, environment, name)
    error = ""
    if request.method == "POST":
        try:
            delete_route(route, request.user)
        except KubeError as exc:
            error = _("The Ingress could not be deleted, so the route is kept: %(msg)s") % {"msg": exc.message}
        else:
            messages.success(request, _("Route %(name)s deleted.") % {"name": name})
            url = reverse("routes:list", args=[environment.pk])
            return HttpResponseClientRedirect(url) if wants_fragment(request) else redirect(url)
    return render(
        request,
        "routes/route_confirm_delete.html",
        {"environment": environment, "route": route, "error": error, "section": "routes"},
    )


@login_required
@require_GET
def service_ports(request: HttpRequest, environment_id: int) -> HttpResponse:
    """The port picker of one path row, for the service chosen in that row."""
    environment = get_environment_for_user(request.user, environment_id, write=True)
    row = request.GET.get("row", "")
    if not re.fullmatch(r"paths-\d{1,2}", row):
        raise Http404("No such row")
    service_name = request.GET.get(f"{row}-service", "")
    ports: list[tuple[str, str]] = []
    error = ""
    if service_name:
        try:
            service = cluster_reads.service(environment, service_name)
            ports = [(str(p.port), p.label) for p in service.ports]
        except NotFound:
            error = _("There is no service %(name)s in this namespace.") % {"name": service_name}
        except KubeError as exc:
            error = exc.message
    response = render(
        request,
        "routes/fragments/port_field.html",
        {"field_name": f"{row}-port", "ports": ports, "error": error},
    )
    return trigger_client_event(response, "refresh-preview")


@login_required
@require_GET
def tls_secrets(request: HttpRequest, environment_id: int) -> HttpResponse:
    """Options for the secret picker: names of kubernetes.io/tls Secrets only, never their data."""
    environment = get_environment_for_user(request.user, environment_id, write=True)
    try:
        names = environment.cluster.client().list_tls_secret_names(environment.namespace)
    except KubeError:
        names = []
    return render(request, "routes/fragments/secret_options.html", {"names": names})
