"""Routes of one environment: list, create, show, edit, delete, and the form's live fragments."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse, HttpResponseBadRequest, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from kubegems_routes.gateways.address import Address, gateway_address
from kubegems_routes.gateways.models import Gateway
from kubegems_routes.kube.client import Manifest, Service, load_balancer_addresses
from kubegems_routes.kube.errors import KubeError, NotFound
from kubegems_routes.lib.hosts import in_domain, is_random_host_of, random_host
from kubegems_routes.lib.htmx import AuthenticatedHttpRequest, wants_fragment
from kubegems_routes.routes import cluster_reads, drift, manifest
from kubegems_routes.routes.adopt import import_route, take_over
from kubegems_routes.routes.attachment import attachment_refusal
from kubegems_routes.routes.backends import BackendReads, list_warning, path_rows, read_backends, route_health
from kubegems_routes.routes.certificates import read_certificate
from kubegems_routes.routes.dns import check_route
from kubegems_routes.routes.editing import start_edit
from kubegems_routes.routes.errors import NotImportable, RouteError, StaleEdit
from kubegems_routes.routes.forms import (
    MAX_ANNOTATIONS,
    MAX_PATHS,
    AnnotationForm,
    FormState,
    PathForm,
    RouteEditor,
    new_row,
)
from kubegems_routes.routes.gateway_status import GatewayStatus, gateway_status, parent_statuses, route_status
from kubegems_routes.routes.lifecycle import delete_route, reapply_route
from kubegems_routes.routes.models import AuditEntry, Route, RouteMove
from kubegems_routes.routes.move import State, advance, move_route, waiting
from kubegems_routes.routes.paste import Pasted, PasteForm
from kubegems_routes.routes.ports import (
    needs_port_numbers,
    numbers_of,
    port_numbers,
    route_port_numbers,
    service_port_numbers,
)
from kubegems_routes.routes.preview import preview, splits
from kubegems_routes.routes.probing import TooManyTests, probe_route
from kubegems_routes.routes.reach import reach
from kubegems_routes.routes.refusals import port_message
from kubegems_routes.routes.review import review_route
from kubegems_routes.routes.saving import save_route
from kubegems_routes.routes.tls import secrets_of, tls_state, tls_warning
from kubegems_routes.routes.to_gateway_api import as_gateway_api
from kubegems_routes.routes.why import Facts, findings
from kubegems_routes.tenancy.access import get_environment_for_user
from kubegems_routes.tenancy.models import Environment

logger = logging.getLogger(__name__)

PAGE_SIZE = 50
TESTS_SHOWN = 10  # the route page's latest tests
FORM_TEMPLATE = "routes/route_form.html"


def _get_route_for_user(environment: Environment, name: str) -> Route:
    """A route of an environment the caller already got through the access helper."""
    return get_object_or_404(
        Route.objects.select_related("gateway", "environment__project__tenant", "environment__cluster"),
        environment=environment,
        name=name,
    )


def _unreachable(request: AuthenticatedHttpRequest, exc: KubeError, what: str) -> str:
    """Tenants read that the cluster cannot be reached; the API server's words go to the log and to staff."""
    logger.warning("%s: %s", what, exc.message)
    message = _("The cluster cannot be reached right now.")
    return f"{message} ({exc.message})" if request.user.is_staff else message


@login_required
@require_GET
def route_list(request: AuthenticatedHttpRequest, environment_id: int) -> HttpResponse:
    environment = get_environment_for_user(request.user, environment_id)
    query = request.GET.get("q", "").strip()
    routes = (
        Route.objects.filter(environment=environment)
        .select_related("gateway", "environment__project__tenant")
        .prefetch_related("paths", "gateway__annotations")
        .order_by("name")
    )
    if query:
        routes = routes.filter(Q(name__icontains=query) | Q(host__icontains=query))
    page = Paginator(routes, PAGE_SIZE).get_page(request.GET.get("page"))
    on_ingress = [r.name for r in page.object_list if not r.gateway.is_gateway_api]
    on_gateway_api = [r.name for r in page.object_list if r.gateway.is_gateway_api]
    live, unlabelled, cluster_error = _live_ingresses(request, environment, on_ingress)
    live_routes: dict[tuple[str, str], Manifest] | None = {}
    if on_gateway_api:
        try:
            live_routes = cluster_reads.page_gateway_routes(environment, on_gateway_api)
        except KubeError as exc:
            live_routes = None
            message = _unreachable(request, exc, f"listing Gateway API routes of {environment.namespace}")
            cluster_error = cluster_error or f"{message} {_('Showing the routes the console knows.')}"
    # The namespace's Services and EndpointSlices, once for the page: each route's backends' health.
    backends = read_backends(environment) if page.object_list and not cluster_error else BackendReads(None, None)
    # Port names resolved once for the page, not once per Gateway API route.
    numbers: dict[tuple[str, str], int] | None = {}
    if any(needs_port_numbers(r.gateway, r.backends()) for r in page.object_list):
        try:
            numbers = (
                numbers_of(backends.services.values())
                if backends.services is not None
                else service_port_numbers(environment)
            )
        except KubeError:
            numbers = None
    statuses = _controller_statuses(environment) if on_ingress and not cluster_error else {}
    for route in page.object_list:
        needed = numbers if needs_port_numbers(route.gateway, route.backends()) else {}
        route.sync = _list_sync(route, live, live_routes, needed)
        route.gateway_status = _list_gateway_status(route, statuses, live_routes)
        route.backend_warning = list_warning(route_health(route.backends(), backends))
    addresses: dict[int, Address | None] = {}
    for route in page.object_list:
        if route.gateway_id not in addresses and not cluster_error:
            addresses[route.gateway_id] = gateway_address(route.gateway)
        route.address = addresses.get(route.gateway_id) or (
            gateway_address(route.gateway, published)
            if live is not None and (published := load_balancer_addresses(live.get(route.name, {}).get("status")))
            else None
        )
    tls_routes = [r for r in page.object_list if r.uses_tls and r.tls_secret]
    secrets = secrets_of(environment) if tls_routes and live is not None else None
    for route in tls_routes:
        route.tls = tls_state(secrets, route.tls_secret, route.host, certificate=route.uses_certificate)
    # (kind, name) of objects in the namespace the console did not create: Ingresses, and HTTPRoutes and
    # GRPCRoutes attached to one of the environment's Gateway API gateways.
    candidates = [("Ingress", name) for name in unlabelled]
    if not query and live is not None:
        scopes = {p.scope for g in Gateway.objects.for_environment(environment) if (p := g.parent()) is not None}
        try:
            candidates += cluster_reads.unmanaged_gateway_routes(environment, scopes)
        except KubeError as exc:
            message = _unreachable(request, exc, f"listing Gateway API routes of {environment.namespace}")
            cluster_error = cluster_error or f"{message} {_('Showing the routes the console knows.')}"
    unmanaged: list[tuple[str, str]] = []
    if candidates and not query:
        names = {name for _kind, name in candidates}
        known = set(Route.objects.filter(environment=environment, name__in=names).values_list("name", flat=True))
        unmanaged = sorted(((kind, name) for kind, name in set(candidates) if name not in known), key=lambda c: c[::-1])
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


def _list_sync(
    route: Route,
    ingresses: dict[str, Manifest] | None,
    gateway_routes: dict[tuple[str, str], Manifest] | None,
    numbers: dict[tuple[str, str], int] | None,
) -> drift.Sync:
    """Whether the route's object in the cluster is what the route says, from the page's lists.

    ``numbers`` resolves the route's port names (None: the Services could not be read)."""
    kind = route.spec().kind
    live: Manifest | None
    if kind == "Ingress":
        if ingresses is None:
            return drift.Sync.UNKNOWN
        live = ingresses.get(route.name)
    else:
        if gateway_routes is None:
            return drift.Sync.UNKNOWN
        live = gateway_routes.get((kind, route.name))
    if numbers is None:  # the Services could not be read
        return drift.Sync.UNKNOWN
    try:
        return drift.Sync(route.sync_with(live, numbers))
    except manifest.UnresolvedPort:
        return drift.Sync.UNKNOWN


def _controller_statuses(environment: Environment) -> dict[str, GatewayStatus]:
    """The Ingress controller's word on each Ingress of the namespace: one Events list for the whole page."""
    try:
        return cluster_reads.controller_statuses(environment)
    except KubeError as exc:  # the page shows the routes without it; their Ingresses were just read
        logger.warning("listing the controller's events in %s failed: %s", environment.namespace, exc.message)
        return {}


def _list_gateway_status(
    route: Route, statuses: dict[str, GatewayStatus], gateway_routes: dict[tuple[str, str], Manifest] | None
) -> GatewayStatus | None:
    """From what the page already read: the controller's Events (Ingress) or the object's status.parents."""
    kind = manifest.object_kind(route.protocol, gateway_api=route.gateway.is_gateway_api)
    if kind == "Ingress":
        return statuses.get(route.name)
    return route_status((gateway_routes or {}).get((kind, route.name)))


def _live_ingresses(
    request: AuthenticatedHttpRequest, environment: Environment, names: list[str]
) -> tuple[dict[str, Manifest] | None, list[str], str]:
    """The Ingresses of one page of routes, the names of the unmanaged ones, or why the cluster could not tell."""
    try:
        live, unlabelled = cluster_reads.page_ingresses(environment, names)
    except KubeError as exc:
        message = _unreachable(request, exc, f"listing Ingresses of {environment.namespace}")
        return None, [], f"{message} {_('Showing the routes the console knows.')}"
    return live, unlabelled, ""


def _services(environment: Environment) -> tuple[dict[str, Service] | None, str]:
    try:
        services = cluster_reads.services(environment)
    except KubeError as exc:
        logger.warning("listing services of %s failed: %s", environment.namespace, exc.message)
        return None, _("Services could not be read from the cluster; type the service and port.")
    return {s.name: s for s in services}, ""


# -- the create/edit form ------------------------------------------------------------


@dataclass(frozen=True)
class _FormPage:
    """Where the form lives: its environment, the route (unsaved when creating) and its URL.

    GET shows the form, POST with _action=save saves; "<form_url><action>/" answers the form's row
    actions and its live parts."""

    environment: Environment
    route: Route
    form_url: str

    @classmethod
    def of(cls, environment: Environment, route: Route | None) -> _FormPage:
        if route is None:
            return cls(environment, Route(environment=environment), reverse("routes:create", args=[environment.pk]))
        return cls(environment, route, reverse("routes:edit", args=[environment.pk, route.name]))

    def editor(
        self,
        *,
        data: QueryDict | None = None,
        state: FormState | None = None,
        services: dict[str, Service] | None = None,
    ) -> RouteEditor:
        return RouteEditor(
            self.environment,
            data=data,
            instance=self.route,
            state=state,
            services=services,
            action_url=self.form_url,  # the live parts are at "<form_url><part>/"
        )

    def context(self, editor: RouteEditor, suggested_host: str, **extra: Any) -> dict[str, Any]:
        """What the form's template reads: the editor says what each part shows for what was typed."""
        return {
            "environment": self.environment,
            "route": self.route if self.route.pk else None,
            "form_url": self.form_url,
            "editor": editor,
            "form": editor.form,
            "attachment_warning": _attachment_warning(self.environment, editor),
            # Built only where it is shown (the whole page, the preview part): it may read the Services.
            "preview": SimpleLazyObject(lambda: preview(editor, suggested_host)),
            "section": "routes",
            # The create form's "paste a manifest" (views._paste fills the form from it).
            "paste": None if self.route.pk else PasteForm(environment=self.environment),
            **extra,
        }


def _attachment_warning(environment: Environment, editor: RouteEditor) -> str:
    """Whether the chosen Gateway admits routes from here: said live from the cluster's cache (no API call;
    nothing while it is not synced), and checked again with the cluster when saving."""
    parent = editor.gateway.parent() if editor.gateway is not None else None
    if parent is None:
        return ""
    return attachment_refusal(environment, parent, editor.protocol(), cached_only=True)


def _form_page(request: AuthenticatedHttpRequest, page: _FormPage) -> HttpResponse:
    if request.method == "POST" and request.POST.get("_action") == "review":
        return _review(request, page)
    if request.method == "POST":
        return _save(request, page)
    services, services_error = _services(page.environment)
    editor = page.editor(services=services)
    extra: dict[str, Any] = {}
    if page.route.pk:
        # Start from the cluster's version: an edit carrying a stale one could never be saved.
        start = start_edit(page.route)
        editor.form.initial["resource_version"] = start.resource_version
        extra = {"edit_sync": start.sync, "edit_diff": start.diff}
    return render(request, FORM_TEMPLATE, page.context(editor, "", services_error=services_error, **extra))


def _save(request: AuthenticatedHttpRequest, page: _FormPage) -> HttpResponse:
    # Only an explicit save writes: a post of the form without it (a forgotten
    # hx-vals, a stray button) must never reach the cluster.
    if request.POST.get("_action") != "save":
        return HttpResponseBadRequest(_("This form saves only with its Save button."))
    services, services_error = _services(page.environment)
    editor = page.editor(data=request.POST, services=services)
    conflict_diff = ""
    if editor.is_valid():
        try:
            saved = save_route(
                page.route,
                editor.values(),
                request.user,
                suggested_host=request.POST.get("suggested_host", ""),
                resource_version=editor.form.cleaned_data.get("resource_version", ""),
            )
        except RouteError as exc:
            conflict_diff = _put_on_form(request, editor, exc)
        else:
            messages.success(request, _("Route %(name)s saved.") % {"name": saved.name})
            if saved.uses_certificate:
                messages.info(
                    request,
                    _(
                        "cert-manager issues the certificate for %(host)s into Secret %(secret)s "
                        "(ClusterIssuer %(issuer)s); the route's page shows when it is ready."
                    )
                    % {"host": saved.host, "secret": saved.tls_secret, "issuer": saved.gateway.cluster_issuer},
                )
            elif saved.uses_tls and saved.tls_secret:
                warning = tls_warning(secrets_of(page.environment), saved.tls_secret, saved.host)
                if warning:
                    messages.warning(request, warning)
            url = reverse("routes:detail", args=[page.environment.pk, saved.name])
            return HttpResponseClientRedirect(url) if wants_fragment(request) else redirect(url)
    context = page.context(
        editor,
        request.POST.get("suggested_host", ""),
        services_error=services_error,
        conflict_diff=conflict_diff,
    )
    template = f"{FORM_TEMPLATE}#form-body" if wants_fragment(request) else FORM_TEMPLATE
    return render(request, template, context)


def _review(request: AuthenticatedHttpRequest, page: _FormPage) -> HttpResponse:
    """Review changes: the form again, with what the API server would store (a dry run; nothing written) or
    why it would refuse, on the fields as a save puts it."""
    services, services_error = _services(page.environment)
    editor = page.editor(data=request.POST, services=services)
    conflict_diff, review = "", None
    if editor.is_valid():
        try:
            review = review_route(
                page.route,
                editor.values(),
                suggested_host=request.POST.get("suggested_host", ""),
                resource_version=editor.form.cleaned_data.get("resource_version", ""),
            )
        except RouteError as exc:
            conflict_diff = _put_on_form(request, editor, exc)
    context = page.context(
        editor,
        request.POST.get("suggested_host", ""),
        services_error=services_error,
        conflict_diff=conflict_diff,
        review=review,
    )
    template = f"{FORM_TEMPLATE}#form-body" if wants_fragment(request) else FORM_TEMPLATE
    return render(request, template, context)


def _put_on_form(request: AuthenticatedHttpRequest, editor: RouteEditor, exc: RouteError) -> str:
    """Put a save's failure on the fields it concerns; returns the diff of a stale edit, if any."""
    for problem in exc.problems():
        editor.add_error(problem.field, problem.message if problem.field else _for_user(request, exc), problem.row)
    if isinstance(exc, StaleEdit):
        return exc.diff or _("The Ingress was deleted meanwhile.")
    return ""


def _for_user(request: AuthenticatedHttpRequest, exc: RouteError) -> str:
    """A failure in words for tenants; staff also see what the API server said."""
    if exc.detail and request.user.is_staff:
        return f"{exc.message} ({exc.detail})"
    return exc.message


# The form's live parts and row actions, at "<form_url><action>/". A live part of the template
# (the preview, the TLS secret, ...) posts the form to its own name and is rendered again from the
# posted values: it needs nothing here (NetBox's pattern, one part at a time). A change (FORM_CHANGES)
# alters what the form holds first, then answers with the part it changed. Without JavaScript
# (buttons' formaction), the whole page.


@dataclass(frozen=True)
class _Change:
    part: str  # the template's partial to render
    focus: str = ""  # the id of the input (or button) to focus after the swap
    row: int | None = None  # the path row, for a part of one row


# The parts showing path rows, whose service select lists the cluster's Services.
_PARTS_WITH_PATHS = frozenset({"form-body", "paths", "port"})


def _posted_row(data: QueryDict, rows: list[dict[str, str]]) -> int:
    try:
        row = int(data.get("row", ""))
    except ValueError:
        raise Http404("No such row") from None
    if not 0 <= row < len(rows):
        raise Http404("No such row")
    return row


def _gateway_changed(state: FormState, data: QueryDict, gateways: list[Gateway]) -> _Change:
    """A random host made for another gateway's domain follows the new gateway; a typed host stays."""
    chosen = _chosen(state, gateways)
    host = state.fields.get("host", "")
    if chosen is not None and host and not in_domain(host, chosen.default_domain):
        if any(is_random_host_of(host, g.default_domain) for g in gateways if g != chosen):
            state.fields["host"] = random_host(chosen.default_domain)
    return _Change("host")


def _random_host(state: FormState, data: QueryDict, gateways: list[Gateway]) -> _Change:
    chosen = _chosen(state, gateways)
    if chosen is not None:
        state.fields["host"] = random_host(chosen.default_domain)
    return _Change("host", focus="id_host")


def _add_path(state: FormState, data: QueryDict, gateways: list[Gateway]) -> _Change:
    if len(state.paths) >= MAX_PATHS:
        return _Change("paths")
    state.paths.append(new_row(PathForm))
    return _Change("paths", focus=f"id_paths-{len(state.paths) - 1}-path")


def _add_backend(state: FormState, data: QueryDict, gateways: list[Gateway]) -> _Change:
    """Another Service for a path (a canary): a row after the posted one (its path's last), with its path and
    path type; the rows then split the path's requests by weight."""
    row = _posted_row(data, state.paths)
    if len(state.paths) >= MAX_PATHS:
        return _Change("paths")
    shared = {f: state.paths[row][f] for f in ("path", "path_type", "rewrite")}
    state.paths.insert(row + 1, {**new_row(PathForm), **shared})
    return _Change("paths", focus=f"id_paths-{row + 1}-service")


def _remove_path(state: FormState, data: QueryDict, gateways: list[Gateway]) -> _Change:
    row = _posted_row(data, state.paths)
    if len(state.paths) > 1:
        state.paths.pop(row)
    return _Change("paths", focus=f"id_paths-{min(row, len(state.paths) - 1)}-path")


def _add_annotation(state: FormState, data: QueryDict, gateways: list[Gateway]) -> _Change:
    if len(state.annotations) >= MAX_ANNOTATIONS:
        return _Change("annotations")
    state.annotations.append(new_row(AnnotationForm))
    return _Change("annotations", focus=f"id_annotations-{len(state.annotations) - 1}-key")


def _remove_annotation(state: FormState, data: QueryDict, gateways: list[Gateway]) -> _Change:
    row = _posted_row(data, state.annotations)
    state.annotations.pop(row)
    if not state.annotations:
        return _Change("annotations", focus="add-annotation")
    return _Change("annotations", focus=f"id_annotations-{min(row, len(state.annotations) - 1)}-key")


def _service_chosen(state: FormState, data: QueryDict, gateways: list[Gateway]) -> _Change:
    """Another service: its ports are offered, the first one chosen (the old port belongs to the old service)."""
    row = _posted_row(data, state.paths)
    state.paths[row]["port"] = ""
    return _Change("port", row=row)


def _chosen(state: FormState, gateways: list[Gateway]) -> Gateway | None:
    chosen = state.fields.get("gateway", "")
    return next((g for g in gateways if str(g.pk) == chosen), gateways[0] if gateways else None)


# The actions that change what the form holds before the part they changed is rendered: row buttons,
# and the gateway select (a random host follows the gateway's domain).
FORM_CHANGES: dict[str, Callable[[FormState, QueryDict, list[Gateway]], _Change]] = {
    "gateway": _gateway_changed,
    "random-host": _random_host,
    "add-path": _add_path,
    "add-backend": _add_backend,
    "remove-path": _remove_path,
    "add-annotation": _add_annotation,
    "remove-annotation": _remove_annotation,
    "service": _service_chosen,
}


def _is_part(name: str) -> bool:
    """A partial of the form's template: a part the page may ask to have rendered again."""
    try:
        get_template(f"{FORM_TEMPLATE}#{name}")
    except TemplateDoesNotExist:
        return False
    return True


def _form_action(request: AuthenticatedHttpRequest, page: _FormPage, action: str) -> HttpResponse:
    fragment = wants_fragment(request)
    state = FormState.from_data(request.POST)
    if action in FORM_CHANGES:
        outcome = FORM_CHANGES[action](state, request.POST, list(Gateway.objects.for_environment(page.environment)))
    elif _is_part(action):
        outcome = _Change(action)  # a live part, rendered again as posted
    else:
        raise Http404("No such form action")
    # The whole form: without JavaScript (a formaction button), or when htmx posted the action for the
    # form itself. A button swapped in a moment ago is not wired up until htmx settles it (a timer after
    # the swap, late on a busy machine); clicked before, it submits the form, which htmx posts to the
    # button's formaction and swaps into the whole form, so the answer must be the whole form.
    whole = not fragment or request.htmx.target == "form-body"
    if not whole and outcome.part not in _PARTS_WITH_PATHS:
        services, services_error = None, ""
    else:
        services, services_error = _services(page.environment)
    editor = page.editor(state=state, services=services)
    editor.focus(outcome.focus)
    context = page.context(editor, request.POST.get("suggested_host", ""), services_error=services_error)
    if whole:
        return render(request, FORM_TEMPLATE if not fragment else f"{FORM_TEMPLATE}#form-body", context)
    if outcome.row is not None:
        context["row"] = editor.paths.forms[outcome.row]
    response = render(request, f"{FORM_TEMPLATE}#{outcome.part}", context)
    if outcome.part == "preview":
        return response
    # After the swap has settled, so the preview reads the form as it now is.
    return trigger_client_event(response, "refresh-preview", after="settle")


@login_required
@require_http_methods(["GET", "POST"])
def route_create(request: AuthenticatedHttpRequest, environment_id: int) -> HttpResponse:
    environment = get_environment_for_user(request.user, environment_id, write=True)
    return _form_page(request, _FormPage.of(environment, None))


@login_required
@require_POST
def route_create_action(request: AuthenticatedHttpRequest, environment_id: int, action: str) -> HttpResponse:
    environment = get_environment_for_user(request.user, environment_id, write=True)
    if action == "paste":
        return _paste(request, _FormPage.of(environment, None))
    return _form_action(request, _FormPage.of(environment, None), action)


def _paste(request: AuthenticatedHttpRequest, page: _FormPage) -> HttpResponse:
    """The create form filled from a pasted manifest, nothing saved; or, refused, the reason on the paste field
    and the form as it was posted (htmx includes it; without JavaScript only the paste is posted)."""
    paste = PasteForm(request.POST, environment=page.environment)
    pasted: Pasted | None = paste.cleaned_data["manifest"] if paste.is_valid() else None
    state = pasted.state() if pasted is not None else FormState.from_data(request.POST)
    services, services_error = _services(page.environment)
    editor = page.editor(state=state, services=services)
    if pasted is None:
        paste.fields["manifest"].widget.attrs["autofocus"] = True
    context = page.context(
        editor, request.POST.get("suggested_host", ""), services_error=services_error, paste=paste, pasted=pasted
    )
    return render(request, f"{FORM_TEMPLATE}#editor" if wants_fragment(request) else FORM_TEMPLATE, context)


@login_required
@require_http_methods(["GET", "POST"])
def route_edit(request: AuthenticatedHttpRequest, environment_id: int, name: str) -> HttpResponse:
    environment = get_environment_for_user(request.user, environment_id, write=True)
    return _form_page(request, _FormPage.of(environment, _get_route_for_user(environment, name)))


@login_required
@require_POST
def route_edit_action(request: AuthenticatedHttpRequest, environment_id: int, name: str, action: str) -> HttpResponse:
    environment = get_environment_for_user(request.user, environment_id, write=True)
    return _form_action(request, _FormPage.of(environment, _get_route_for_user(environment, name)), action)


@login_required
@require_GET
def route_detail(request: AuthenticatedHttpRequest, environment_id: int, name: str) -> HttpResponse:
    environment = get_environment_for_user(request.user, environment_id)
    route = _get_route_for_user(environment, name)
    client = environment.cluster.client()
    ingress: Manifest | None = None
    events: list[Manifest] = []
    cluster_error = ""
    expected: Manifest = {}
    sync = drift.Sync.UNKNOWN
    kind = route.spec().kind
    numbers: dict[tuple[str, str], int] = {}
    unresolved_port = False  # the cluster answered; a port name is not the Service's
    try:
        numbers = route_port_numbers(route)
        expected = manifest.build(route.spec(numbers))
        ingress = client.get_route_object(kind, environment.namespace, route.name)
        events = client.list_events(environment.namespace, kind, route.name)
    except NotFound:
        sync = drift.Sync.MISSING
    except manifest.UnresolvedPort as exc:
        cluster_error = port_message(exc)
        unresolved_port = True
    except KubeError as exc:
        cluster_error = _unreachable(request, exc, f"reading {kind} {environment.namespace}/{route.name}")
    else:
        sync = drift.Sync(route.sync_with(ingress, numbers))
    if ingress is not None:
        ingress.get("metadata", {}).pop("managedFields", None)
    if kind == "Ingress":
        status = gateway_status(events, (ingress or {}).get("metadata", {}).get("uid"))
    else:
        status = route_status(ingress)
    secrets = secrets_of(environment) if route.uses_tls and route.tls_secret and not cluster_error else None
    # Read here, once: None when cert-manager's CRDs are not installed (nothing said then).
    certificate = (
        read_certificate(environment, route.tls_secret) if route.uses_certificate and not cluster_error else None
    )
    paths = list(route.paths.all())
    access = reach(route, ingress)
    backends = read_backends(environment) if unresolved_port or not cluster_error else BackendReads(None, None)
    health = route_health((p.backend() for p in paths), backends)
    backend_rows = path_rows(paths, backends, protocol=route.protocol if kind != "Ingress" else "")
    dns = check_route(route, access.address)
    tls = tls_state(secrets, route.tls_secret, route.host, certificate=route.uses_certificate)
    why = findings(Facts(route, kind, sync, status, health, dns, tls, environment.can_write))
    return render(
        request,
        "routes/route_detail.html",
        {
            "environment": environment,
            "route": route,
            "paths": paths,
            "backend_rows": backend_rows,
            "splits": splits(route.protocol, tuple(p.backend() for p in paths)) if kind != "Ingress" else (),
            "backend_health": health,
            "kind": kind,
            "ingress": ingress,
            "ingress_yaml": manifest.to_yaml(ingress) if ingress else "",
            "annotations": (ingress or {}).get("metadata", {}).get("annotations", {}),
            "events": events,
            "gateway_status": status,
            "access": access,
            "dns": dns,
            "why": why,
            "gateway_api_elsewhere": kind == "Ingress"
            and any(g.is_gateway_api for g in Gateway.objects.for_environment(environment)),
            "parents": parent_statuses(ingress) if kind != "Ingress" else [],
            "cluster_error": cluster_error,
            "sync": sync,
            "tls": tls,
            "tls_warning": tls_warning(secrets, route.tls_secret, route.host, certificate=route.uses_certificate),
            "certificate": certificate,
            "drift_diff": (
                drift.diff(expected, ingress, _("the route"), _("the cluster"))
                if ingress and sync in (drift.Sync.CHANGED, drift.Sync.GATEWAY_CHANGED)
                else ""
            ),
            **_route_log(route),
            "move": RouteMove.objects.filter(route=route).select_related("gateway").first(),
            "section": "routes",
        },
    )


def _route_log(route: Route) -> dict[str, Any]:
    """The route's audit entries for its page: what was done to it, and apart (collapsed) the Test button's,
    which would otherwise crowd the changes out."""
    entries = route.environment.audit_entries.filter(route_name=route.name).select_related("user")
    tests = entries.filter(action=AuditEntry.Action.TEST)
    return {
        "audit": entries.exclude(action=AuditEntry.Action.TEST)[:20],
        "tests": tests[:TESTS_SHOWN],
        "tests_count": tests.count(),
    }


def _cluster_action(
    request: AuthenticatedHttpRequest,
    environment_id: int,
    name: str,
    action: Callable[[Route, Any], None],
    done: str,
) -> HttpResponse:
    environment = get_environment_for_user(request.user, environment_id, write=True)
    route = _get_route_for_user(environment, name)
    try:
        action(route, request.user)
    except RouteError as exc:
        messages.error(request, _for_user(request, exc))
    else:
        messages.success(request, done % {"name": route.name})
    return redirect("routes:detail", environment.pk, route.name)


@login_required
@require_POST
def route_reapply(request: AuthenticatedHttpRequest, environment_id: int, name: str) -> HttpResponse:
    return _cluster_action(request, environment_id, name, reapply_route, _("Route %(name)s re-applied to the cluster."))


@login_required
@require_POST
def route_take_over(request: AuthenticatedHttpRequest, environment_id: int, name: str) -> HttpResponse:
    return _cluster_action(
        request, environment_id, name, take_over, _("Route %(name)s now matches the cluster's version.")
    )


@login_required
@require_POST
def ingress_import(request: AuthenticatedHttpRequest, environment_id: int) -> HttpResponse:
    """Import an Ingress, HTTPRoute or GRPCRoute (``kind``, Ingress when absent) the console did not create."""
    environment = get_environment_for_user(request.user, environment_id, write=True)
    name = request.POST.get("name", "")
    kind = request.POST.get("kind", "Ingress")
    if Route.objects.filter(environment=environment, name=name).exists():
        messages.error(request, _("%(name)s is already a route.") % {"name": name})
        return redirect("routes:list", environment.pk)
    try:
        import_route(environment, kind, name, request.user)
    except NotImportable as exc:
        messages.error(
            request,
            _("%(kind)s %(name)s cannot be imported: %(why)s") % {"kind": kind, "name": name, "why": exc},
        )
    except RouteError as exc:
        messages.error(request, _for_user(request, exc))
    else:
        messages.success(request, _("%(kind)s %(name)s imported as a route.") % {"kind": kind, "name": name})
        return redirect("routes:detail", environment.pk, name)
    return redirect("routes:list", environment.pk)


@login_required
@require_GET
def audit_log(request: AuthenticatedHttpRequest, environment_id: int) -> HttpResponse:
    """Who created, changed or deleted which route, and the manifest applied: for tenant admins."""
    environment = get_environment_for_user(request.user, environment_id)
    if not environment.can_audit:
        raise PermissionDenied(_("The audit log is for tenant admins."))
    entries = environment.audit_entries.select_related("user")
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "routes/audit_log.html", {"environment": environment, "page": page, "section": "audit"})


@login_required
@require_http_methods(["GET", "POST"])
def route_delete(request: AuthenticatedHttpRequest, environment_id: int, name: str) -> HttpResponse:
    environment = get_environment_for_user(request.user, environment_id, write=True)
    route = _get_route_for_user(environment, name)
    error = ""
    if request.method == "POST":
        try:
            delete_route(route, request.user)
        except RouteError as exc:
            error = f"{_('The Ingress could not be deleted, so the route is kept.')} {_for_user(request, exc)}"
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
def tls_secrets(request: AuthenticatedHttpRequest, environment_id: int) -> HttpResponse:
    """Options for the secret picker: names of kubernetes.io/tls Secrets only, never their data."""
    environment = get_environment_for_user(request.user, environment_id, write=True)
    if not settings.SECRET_PICKER:  # KGR_SECRET_PICKER=false: Secrets are never listed
        return render(request, "routes/fragments/secret_options.html", {"names": []})
    try:
        names = environment.cluster.client().list_tls_secret_names(environment.namespace)
    except KubeError:
        names = []
    return render(request, "routes/fragments/secret_options.html", {"names": names})


@login_required
@require_POST
def route_test(request: AuthenticatedHttpRequest, environment_id: int, name: str) -> HttpResponse:
    """The Test button: one request through the route's gateway (readers may test; each test is audit-logged)."""
    environment = get_environment_for_user(request.user, environment_id)
    route = _get_route_for_user(environment, name)
    context: dict[str, Any] = {"environment": environment, "route": route, "section": "routes"}
    status = 200
    try:
        context["tested"] = probe_route(route, request.user)
    except TooManyTests:
        context["too_many"] = settings.ROUTE_TESTS_PER_MINUTE
        status = 429
    template = "routes/route_test.html#result" if wants_fragment(request) else "routes/route_test.html"
    return render(request, template, context, status=status)


@login_required
@require_GET
def route_as_gateway_api(request: AuthenticatedHttpRequest, environment_id: int, name: str) -> HttpResponse:
    """An Ingress route shown as the HTTPRoute or GRPCRoute it would be on one of the environment's Gateway API
    gateways (``?gateway=<id>``), with what becomes of each annotation. Read-only: nothing is written."""
    environment = get_environment_for_user(request.user, environment_id)
    route = _get_route_for_user(environment, name)
    if route.gateway.is_gateway_api:
        raise Http404("The route is already a Gateway API route")
    gateways = _gateway_api_gateways(environment)
    chosen = next((g for g in gateways if str(g.pk) == request.GET.get("gateway")), gateways[0] if gateways else None)
    context: dict[str, Any] = {
        "environment": environment,
        "route": route,
        "gateways": gateways,
        "chosen": chosen,
        "move_seconds": f"{settings.MOVE_ACCEPT_SECONDS:g}",
        "move": RouteMove.objects.filter(route=route).select_related("gateway").first(),
        "section": "routes",
    }
    if chosen is not None:
        try:
            numbers = port_numbers(environment, chosen, route.backends())
            context["shown"] = as_gateway_api(route, chosen, numbers)
        except manifest.UnresolvedPort as exc:
            context["problem"] = port_message(exc)
        except KubeError as exc:
            context["problem"] = _unreachable(request, exc, f"reading services of {environment.namespace}")
    return render(request, "routes/route_as_gateway_api.html", context)


def _gateway_api_gateways(environment: Environment) -> list[Gateway]:
    return [g for g in Gateway.objects.for_environment(environment) if g.is_gateway_api]


@login_required
@require_POST
def route_move(request: AuthenticatedHttpRequest, environment_id: int, name: str) -> HttpResponse:
    """Start moving an Ingress route to the Gateway API gateway ``gateway`` (``routes.move``): its HTTPRoute or
    GRPCRoute is created, then the move's page waits for the controller to accept it. ``confirm_dropped``
    confirms that the annotations with no equivalent are dropped."""
    environment = get_environment_for_user(request.user, environment_id, write=True)
    route = _get_route_for_user(environment, name)
    if route.gateway.is_gateway_api:
        raise Http404("The route is already a Gateway API route")
    chosen = next((g for g in _gateway_api_gateways(environment) if str(g.pk) == request.POST.get("gateway")), None)
    if chosen is None:
        return HttpResponseBadRequest(_("Choose a Gateway API gateway of this environment."))
    back = reverse("routes:as-gateway-api", args=[environment.pk, route.name]) + f"?gateway={chosen.pk}"
    try:
        shown = as_gateway_api(route, chosen, port_numbers(environment, chosen, route.backends()))
        move_route(route, shown, request.user, drops_confirmed=request.POST.get("confirm_dropped") == "on")
    except manifest.UnresolvedPort as exc:
        messages.error(request, port_message(exc))
    except KubeError as exc:
        messages.error(request, _unreachable(request, exc, f"moving route {environment.namespace}/{route.name}"))
    except RouteError as exc:
        messages.error(request, _for_user(request, exc))
    else:
        return redirect("routes:move-status", environment.pk, route.name)
    return redirect(back)


@login_required
@require_http_methods(["GET", "POST"])
def route_move_status(request: AuthenticatedHttpRequest, environment_id: int, name: str) -> HttpResponse:
    """A move under way: the page shows it, and posts (htmx, every second; or the button) for one look at it
    (``routes.move.advance``) until the move is made (the route's page) or not (the Gateway API page, saying
    why). No move under way: the route's page."""
    environment = get_environment_for_user(request.user, environment_id, write=True)
    route = _get_route_for_user(environment, name)
    move = RouteMove.objects.select_related("gateway", "user").filter(route=route).first()
    if move is None:
        url = reverse("routes:detail", args=[environment.pk, route.name])
        return HttpResponseClientRedirect(url) if wants_fragment(request) else redirect(url)
    move.route = route
    progress = advance(move) if request.method == "POST" else waiting(move)
    if progress.state == State.WAITING:
        template = "routes/route_move.html#progress" if wants_fragment(request) else "routes/route_move.html"
        context = {"environment": environment, "route": route, "move": move, "progress": progress, "section": "routes"}
        if request.method == "POST" and not wants_fragment(request):
            return redirect("routes:move-status", environment.pk, route.name)
        return render(request, template, context)
    if progress.state == State.MOVED:
        messages.success(
            request,
            _("Route %(name)s moved to gateway %(gateway)s: %(kind)s %(name)s replaced Ingress %(name)s.")
            % {"name": route.name, "gateway": move.gateway.name, "kind": move.kind},
        )
        url = reverse("routes:detail", args=[environment.pk, route.name])
    else:
        messages.error(request, progress.message)
        url = reverse("routes:as-gateway-api", args=[environment.pk, route.name]) + f"?gateway={move.gateway_id}"
    return HttpResponseClientRedirect(url) if wants_fragment(request) else redirect(url)
