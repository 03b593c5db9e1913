from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from kubegems_routes.tenancy.models import (
    Cluster,
    Environment,
    EnvironmentMember,
    Project,
    ProjectMember,
    Tenant,
    TenantMember,
)
from kubegems_routes.tenancy.reachability import Reachability, check_credentials


class ClusterForm(forms.ModelForm):
    class Meta:
        model = Cluster
        fields = ["name", "description", "in_cluster", "kubeconfig"]
        # Credentials are written, never rendered back.
        widgets = {"kubeconfig": forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"})}

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["kubeconfig"].widget = forms.Textarea(attrs={"rows": 6, "autocomplete": "off"})
        self.initial["kubeconfig"] = ""
        if self.instance.pk:
            self.fields["kubeconfig"].required = False
            self.fields["kubeconfig"].help_text = _("Leave empty to keep the stored kubeconfig.")

    def clean_kubeconfig(self) -> str:
        value = str(self.cleaned_data.get("kubeconfig") or "")
        if not value.strip() and self.instance.pk:
            return str(Cluster.objects.get(pk=self.instance.pk).kubeconfig)
        return value

    def clean(self) -> dict[str, object]:
        """Credentials that cannot reach their API server are refused before they are stored."""
        data = super().clean() or {}
        if self.errors:
            return data
        self.reachability = check_credentials(bool(data.get("in_cluster")), str(data.get("kubeconfig") or ""))
        if not self.reachability.reachable:
            field = None if data.get("in_cluster") else "kubeconfig"
            raise ValidationError(
                {field: _("The API server could not be reached with these credentials: %(why)s")}
                if field
                else _("The API server could not be reached with these credentials: %(why)s"),
                params={"why": self.reachability.detail},
            )
        return data


@admin.register(Cluster)
class ClusterAdmin(admin.ModelAdmin):
    form = ClusterForm
    list_display = ["name", "description", "in_cluster", "created_at"]
    search_fields = ["name", "description"]
    readonly_fields = ["api_server"]

    @admin.display(description=_("API server"))
    def api_server(self, obj: Cluster) -> str:
        if obj.pk is None:
            return "-"
        return str(Reachability.of(obj))

    def save_model(self, request: HttpRequest, obj: Cluster, form: ClusterForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        reachability = getattr(form, "reachability", None)
        if reachability is not None:
            messages.success(request, _("Cluster %(name)s: %(state)s") % {"name": obj.name, "state": reachability})

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return bool(request.user.is_superuser or request.user.is_staff)


class ProjectInline(admin.TabularInline):
    model = Project
    extra = 0


class TenantMemberInline(admin.TabularInline):
    model = TenantMember
    extra = 0
    autocomplete_fields = ["user"]
    readonly_fields = ["granted_by_sign_in"]


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "display_name", "created_at"]
    search_fields = ["name", "display_name"]
    inlines = [TenantMemberInline, ProjectInline]


class ProjectMemberInline(admin.TabularInline):
    model = ProjectMember
    extra = 0
    autocomplete_fields = ["user"]
    readonly_fields = ["granted_by_sign_in"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "tenant", "created_at"]
    list_filter = ["tenant"]
    search_fields = ["name", "tenant__name"]
    list_select_related = ["tenant"]
    inlines = [ProjectMemberInline]


class EnvironmentMemberInline(admin.TabularInline):
    model = EnvironmentMember
    extra = 0
    autocomplete_fields = ["user"]
    readonly_fields = ["granted_by_sign_in"]


@admin.register(Environment)
class EnvironmentAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "cluster", "namespace", "type"]
    list_filter = ["type", "cluster", "project__tenant"]
    search_fields = ["name", "namespace", "project__name", "project__tenant__name"]
    list_select_related = ["project__tenant", "cluster"]
    inlines = [EnvironmentMemberInline]
