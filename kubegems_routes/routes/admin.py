from __future__ import annotations

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from kubegems_routes.routes.models import AuditEntry, Route, RoutePath


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
