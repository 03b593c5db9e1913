from __future__ import annotations

from django import forms
from django.contrib import admin
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


@admin.register(Cluster)
class ClusterAdmin(admin.ModelAdmin):
    form = ClusterForm
    list_display = ["name", "description", "in_cluster", "created_at"]
    search_fields = ["name", "description"]

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return bool(request.user.is_superuser or request.user.is_staff)


class ProjectInline(admin.TabularInline):
    model = Project
    extra = 0


class TenantMemberInline(admin.TabularInline):
    model = TenantMember
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "display_name", "created_at"]
    search_fields = ["name", "display_name"]
    inlines = [TenantMemberInline, ProjectInline]


class ProjectMemberInline(admin.TabularInline):
    model = ProjectMember
    extra = 0
    autocomplete_fields = ["user"]


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


@admin.register(Environment)
class EnvironmentAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "cluster", "namespace", "type"]
    list_filter = ["type", "cluster", "project__tenant"]
    search_fields = ["name", "namespace", "project__name", "project__tenant__name"]
    list_select_related = ["project__tenant", "cluster"]
    inlines = [EnvironmentMemberInline]
