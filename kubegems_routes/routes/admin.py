from django.contrib import admin

from kubegems_routes.routes.models import AuditEntry, Route, RoutePath


class RoutePathInline(admin.TabularInline):  # type: ignore[type-arg]
    model = RoutePath
    extra = 0
    can_delete = False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Route)
class RouteAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Read-only here: routes change through the console, which keeps the cluster in step."""

    list_display = ["name", "environment", "gateway", "host", "protocol", "created_at"]
    list_filter = ["protocol", "gateway", "environment__project__tenant"]
    search_fields = ["name", "host"]
    list_select_related = ["environment__project__tenant", "gateway"]
    inlines = [RoutePathInline]

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The audit log, read-only: entries are written by the console as it changes the cluster."""

    list_display = ["created_at", "user", "action", "route_name", "environment"]
    list_filter = ["action", "environment__project__tenant"]
    search_fields = ["route_name", "user__username"]
    list_select_related = ["user", "environment__project__tenant"]
    date_hierarchy = "created_at"

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
