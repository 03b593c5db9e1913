from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from kubegems_routes.gateways.models import Gateway, GatewayAnnotation, TenantDomain
from kubegems_routes.kube.errors import KubeError
from kubegems_routes.lib.admin import LabelledTabularInline


class GatewayAnnotationInline(LabelledTabularInline):
    model = GatewayAnnotation
    extra = 1
    formfield_overrides = {models.TextField: {"widget": forms.TextInput(attrs={"size": 60})}}


class GatewayForm(forms.ModelForm):
    class Meta:
        model = Gateway
        fields = [
            "cluster",
            "tenant",
            "name",
            "kind",
            "ingress_class",
            "gateway_namespace",
            "gateway_name",
            "http_listener",
            "https_listener",
            "default_domain",
            "extra_domains",
            "address",
            "service",
            "cluster_issuer",
            "http2",
            "allow_snippets",
        ]
        widgets = {"extra_domains": forms.Textarea(attrs={"rows": 3, "cols": 60})}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        tenant = cleaned.get("tenant")
        if (
            self.instance.pk
            and self.instance.is_default
            and (tenant is not None or cleaned.get("name") != self.instance.name)
        ):
            raise forms.ValidationError(_("The default gateway stays shared and keeps its name."))
        return cleaned

    # After the instance is built from the form (django-stubs does not declare this hook).
    def _post_clean(self) -> None:
        super()._post_clean()  # type: ignore[misc]
        if self.errors or self.instance.is_gateway_api:
            return
        # Saving a gateway makes sure its IngressClass exists; if the cluster
        # cannot be reached the gateway is not saved, so the two never disagree.
        try:
            self.instance.cluster.client().ensure_ingress_class(self.instance.ingress_class)
        except KubeError as exc:
            self.add_error(
                None,
                _("The IngressClass could not be created in cluster %(cluster)s: %(error)s")
                % {"cluster": self.instance.cluster, "error": exc},
            )


@admin.register(Gateway)
class GatewayAdmin(admin.ModelAdmin):
    form = GatewayForm
    list_display = [
        "name",
        "tenant",
        "cluster",
        "kind",
        "ingress_class",
        "domains",
        "address_display",
        "http2",
        "allow_snippets",
        "route_count",
    ]
    list_filter = ["cluster", "tenant", "kind", "http2", "allow_snippets"]
    search_fields = ["name", "ingress_class", "default_domain", "tenant__name"]
    list_select_related = ["tenant", "cluster"]
    inlines = [GatewayAnnotationInline]

    readonly_fields = ["current_address", "listener_certificate"]

    @admin.display(description=_("domains"))
    def domains(self, gateway: Gateway) -> str:
        return ", ".join(gateway.allowed_domains())

    @admin.display(description=_("address"))
    def address_display(self, gateway: Gateway) -> str:
        # Live where the cluster's watch-fed cache knows the controller's Service; never a cluster call
        # per row (this page would wait on every cluster), so else what is configured.
        from kubegems_routes.gateways.address import gateway_address

        found = gateway_address(gateway, cluster_calls=False)
        if found is not None and not (found.source == "typed" and gateway.service):
            return f"{found.address} ({found.where})"
        parts = [gateway.address] if gateway.address else []
        if gateway.service:
            parts.append(str(_("Service %(service)s") % {"service": gateway.service}))
        return " · ".join(parts) or "—"

    @admin.display(description=_("where it answers now"))
    def current_address(self, gateway: Gateway) -> str:
        from kubegems_routes.gateways.address import gateway_address

        if gateway.pk is None:
            return "—"
        found = gateway_address(gateway)
        return f"{found.address} ({found.where})" if found is not None else str(_("not known"))

    # On the change page only: the list would wait on every cluster for every Gateway API gateway.
    @admin.display(description=_("HTTPS listener's certificate"))
    def listener_certificate(self, gateway: Gateway) -> str | SafeString:
        from kubegems_routes.gateways.listeners import read_listeners

        if gateway.pk is None:
            return "—"
        if not gateway.is_gateway_api:
            return str(_("Gateway API gateways only: an ingress class's routes carry their own TLS secret."))
        return render_to_string(
            "admin/gateways/listener_tls.html", {"gateway": gateway, "report": read_listeners(gateway)}
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Gateway]:
        return super().get_queryset(request).annotate(_route_count=Count("routes"))

    @admin.display(description=_("routes"), ordering="_route_count")
    def route_count(self, gateway: Gateway) -> int:
        return int(getattr(gateway, "_route_count", 0))

    def has_delete_permission(self, request: HttpRequest, obj: Gateway | None = None) -> bool:
        if obj is not None and obj.is_default:
            return False
        return super().has_delete_permission(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Gateway]) -> None:
        defaults = [g for g in queryset if g.is_default]
        if defaults:
            messages.error(request, _("The default gateway cannot be deleted; it was kept."))
        for gateway in queryset:
            if not gateway.is_default:
                gateway.delete()


@admin.register(TenantDomain)
class TenantDomainAdmin(admin.ModelAdmin):
    list_display = ["domain", "tenant", "cluster", "created_at"]
    list_filter = ["cluster", "tenant"]
    search_fields = ["domain", "tenant__name"]
    list_select_related = ["tenant", "cluster"]
