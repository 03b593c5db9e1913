from django.contrib import admin

from kubegems_routes.routes.models import Route, RoutePath


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
