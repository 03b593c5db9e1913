from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.utils import translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from kubegems_routes.gateways.admin import GatewayAdmin, GatewayAnnotationInline
from kubegems_routes.gateways.models import Gateway
from kubegems_routes.lib.admin import LabelledInlineFormSet
from kubegems_routes.routes import gateway_defaults
from kubegems_routes.routes.lifecycle import reapplying_gateway, routes_of_gateway
from kubegems_routes.routes.models import AuditEntry, Route, RoutePath, RouteVersion

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class ReadOnlyAdminMixin:
    """Shown, never edited here: routes and their audit log change only through the
    console, which keeps the database and the cluster in step."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class RoutePathInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = RoutePath
    extra = 0


@admin.register(Route)
class RouteAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["name", "environment", "gateway", "host", "protocol", "created_at"]
    list_filter = ["protocol", "gateway", "environment__project__tenant"]
    search_fields = ["name", "host"]
    list_select_related = ["environment__project__tenant", "gateway"]
    inlines = [RoutePathInline]


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "user", "action", "route_name", "environment"]
    list_filter = ["action", "environment__project__tenant"]
    search_fields = ["route_name", "user__username"]
    list_select_related = ["user", "environment__project__tenant"]
    date_hierarchy = "created_at"


@admin.register(RouteVersion)
class RouteVersionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["route", "number", "action", "user", "created_at"]
    list_filter = ["action", "route__environment__project__tenant"]
    search_fields = ["route__name", "user__username"]
    list_select_related = ["route", "user"]
    date_hierarchy = "created_at"


_RESULTS_MARKER = "<!-- kgr: re-apply results -->"


def _streamed_results(
    user: User, plan: list[tuple[Gateway, list[Route]]], head: str, tail: str, language: str
) -> Iterator[str]:
    """The results page in pieces: its head, a table per gateway whose rows come as each route is
    re-applied, the totals, its foot. Runs after the view has returned, hence the language again."""
    total = sum(len(routes) for _gateway, routes in plan)
    done = failed = 0
    with translation.override(language):
        yield head
        for gateway, routes in plan:
            yield render_to_string("admin/gateways/reapply_table.html", {"gateway": gateway, "part": "start"})
            for result in reapplying_gateway(gateway, user, routes):
                failed += bool(result.error)
                done += not result.error
                yield render_to_string(
                    "admin/gateways/reapply_row.html", {"result": result, "n": done + failed, "total": total}
                )
            yield render_to_string(
                "admin/gateways/reapply_table.html", {"gateway": gateway, "part": "end", "empty": not routes}
            )
        yield render_to_string("admin/gateways/reapply_summary.html", {"done": done, "failed": failed})
        yield tail


class CheckedDefaultsFormSet(LabelledInlineFormSet):
    """A gateway's default annotations, each refused on its row where the controller would reject it on every
    route of the gateway (``gateway_defaults``); an ingress-class gateway's only."""

    instance: Gateway

    def clean(self) -> None:
        super().clean()
        if self.instance.is_gateway_api:
            return
        rows: dict[str, tuple[forms.ModelForm, str]] = {}
        for form in self.forms:
            cleaned = getattr(form, "cleaned_data", None) or {}
            if cleaned.get("key") and not form.errors and not cleaned.get("DELETE"):
                rows[str(cleaned["key"])] = (form, str(cleaned.get("value") or ""))
        defaults = {key: value for key, (_form, value) in rows.items()}
        for key, (form, value) in rows.items():
            found = gateway_defaults.refusal(key, value, defaults)
            if found is not None:
                form.add_error(found.field, found.message)


class CheckedDefaultsInline(GatewayAnnotationInline):
    formset = CheckedDefaultsFormSet


def _refused_message(gateway: Gateway, refusals: list[gateway_defaults.Refusal]) -> str:
    return _(
        "The routes of gateway %(gateway)s were not re-applied: the controller would reject every one of them "
        "for its default annotations. %(refusals)s Correct them on the gateway first."
    ) % {"gateway": gateway.name, "refusals": " ".join(f"{r.key}: {r.message}" for r in refusals)}


# The gateways app knows nothing of routes (imports run downward); the routes app gives the
# gateway's admin page what concerns its routes: default annotations checked as every route will carry
# them, and re-applying the routes after a change of defaults.
class GatewayWithRoutesAdmin(GatewayAdmin):
    actions = ["reapply_routes"]
    inlines = [CheckedDefaultsInline]

    def save_related(self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        gateway = form.instance
        if not gateway.is_gateway_api:
            for warning in gateway_defaults.warnings(gateway.annotation_dict()):
                messages.warning(
                    request, _("%(warning)s It was kept as typed; the controller ignores it.") % {"warning": warning}
                )

    @admin.action(description=_("Re-apply all routes of the selected gateways"), permissions=["change"])
    def reapply_routes(self, request: HttpRequest, queryset: QuerySet[Gateway]) -> HttpResponseBase | None:
        """After a change to a gateway's defaults: each route's object gets them, one result per route,
        streamed to the page as each is known (a gateway with many routes takes a while)."""
        assert request.user.is_authenticated
        # Stored before defaults were checked, or written around admin: the routes keep what they have.
        plan = []
        for gateway in queryset:
            refused = [] if gateway.is_gateway_api else gateway_defaults.refusals(gateway.annotation_dict())
            if refused:
                messages.error(request, _refused_message(gateway, refused))
            else:
                plan.append((gateway, list(routes_of_gateway(gateway))))
        if not plan:
            return None
        page = TemplateResponse(
            request,
            "admin/gateways/reapply_results.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Re-applying routes"),
                "opts": self.model._meta,
                "total": sum(len(routes) for _gateway, routes in plan),
                "results_marker": mark_safe(_RESULTS_MARKER),  # noqa: S308 - a constant comment
            },
        ).render()
        head, _marker, tail = page.content.decode().partition(_RESULTS_MARKER)
        response = StreamingHttpResponse(
            _streamed_results(request.user, plan, head, tail, translation.get_language()),
            content_type="text/html; charset=utf-8",
        )
        response["X-Accel-Buffering"] = "no"  # a proxy in front must pass each result on as it comes
        response["Cache-Control"] = "no-store"
        return response


admin.site.unregister(Gateway)
admin.site.register(Gateway, GatewayWithRoutesAdmin)
