"""Gateways, per tenant and cluster: an ingress class served by an NGINX ingress controller,
or a Gateway API Gateway whose listeners routes attach to (HTTPRoute, GRPCRoute)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from kubegems_routes.gateways.parents import GatewayParent
from kubegems_routes.lib.protocols import TLS_FROM_CERT_MANAGER
from kubegems_routes.lib.validators import (
    validate_annotation_key,
    validate_default_domain,
    validate_dns_label,
    validate_dns_subdomain,
    validate_domain_list,
    validate_gateway_address,
    validate_service_reference,
)
from kubegems_routes.tenancy.models import Cluster, Environment, Tenant

DEFAULT_GATEWAY = "default-gateway"


class GatewayQuerySet(models.QuerySet["Gateway"]):
    def for_environment(self, environment: Environment) -> QuerySet[Gateway]:
        """The tenant's own gateways in the environment's cluster, plus the shared default."""
        return self.filter(
            Q(tenant_id=environment.project.tenant_id) | Q(tenant__isnull=True),
            cluster_id=environment.cluster_id,
        ).order_by(F("tenant").asc(nulls_first=True), "name")


class Gateway(models.Model):
    class Kind(models.TextChoices):
        INGRESS = "ingress", _("Ingress class")
        GATEWAY_API = "gateway-api", _("Gateway API Gateway")

    tenant = models.ForeignKey(
        Tenant,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="gateways",
        verbose_name=_("tenant"),
        help_text=_("Leave empty for a gateway shared by every tenant of the cluster."),
    )
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="gateways", verbose_name=_("cluster"))
    name = models.CharField(_("name"), max_length=63, validators=[validate_dns_label])
    ingress_class = models.CharField(
        _("ingress class"),
        max_length=253,
        blank=True,
        validators=[validate_dns_subdomain],
        help_text=_("Defaults to the name, a dash and the tenant's name (e.g. public-acme)."),
    )
    kind = models.CharField(
        _("kind"),
        max_length=16,
        choices=Kind.choices,
        default=Kind.INGRESS,
        help_text=_("What routes on this gateway become: Ingresses, or HTTPRoutes and GRPCRoutes."),
    )
    gateway_namespace = models.CharField(
        _("Gateway namespace"),
        max_length=63,
        blank=True,
        validators=[validate_dns_label],
        help_text=_("Gateway API only: the namespace of the Gateway routes attach to."),
    )
    gateway_name = models.CharField(
        _("Gateway name"),
        max_length=180,
        blank=True,
        validators=[validate_dns_subdomain],
        help_text=_("Gateway API only: the name of the Gateway routes attach to."),
    )
    http_listener = models.CharField(
        _("HTTP listener"),
        max_length=253,
        blank=True,
        validators=[validate_dns_subdomain],
        help_text=_("Gateway API only: the listener http and ws routes attach to (empty: the whole Gateway)."),
    )
    https_listener = models.CharField(
        _("HTTPS listener"),
        max_length=253,
        blank=True,
        validators=[validate_dns_subdomain],
        help_text=_(
            "Gateway API only: the listener https, wss and grpc routes attach to (empty: the whole Gateway). "
            "Its certificate serves them: routes carry no TLS secret."
        ),
    )
    default_domain = models.CharField(
        _("default domain"),
        max_length=253,
        validators=[validate_default_domain],
        help_text=_("Random hosts are made from it: each '*' label becomes 5 letters, e.g. *.kubegems.io."),
    )
    extra_domains = models.TextField(
        _("other allowed domains"),
        blank=True,
        validators=[validate_domain_list],
        help_text=_(
            "One a line, e.g. *.shop.example.com or www.example.com; each '*' stands for one label. "
            "Routes may use hosts of the default domain and of these, and their tenant's own domains."
        ),
    )
    address = models.CharField(
        _("address"),
        max_length=253,
        blank=True,
        validators=[validate_gateway_address],
        help_text=_(
            "Where the gateway answers: an IP address or a DNS name. With a NodePort Service, a node's address; "
            "left empty, it is read from the controller's LoadBalancer Service."
        ),
    )
    service = models.CharField(
        _("controller Service"),
        max_length=317,
        blank=True,
        validators=[validate_service_reference],
        help_text=_("namespace/name of the ingress controller's Service, e.g. nginx-ingress/nginx-ingress."),
    )
    cluster_issuer = models.CharField(
        _("ClusterIssuer (cert-manager)"),
        max_length=253,
        blank=True,
        validators=[validate_dns_subdomain],
        help_text=_(
            "Ingress classes only: the cert-manager ClusterIssuer that issues a certificate to each https, wss "
            "or grpc route that asks for one instead of choosing a TLS secret. Empty: routes choose a secret."
        ),
    )
    http2 = models.BooleanField(_("HTTP/2"), default=True, help_text=_("Needed by gRPC routes."))
    allow_snippets = models.BooleanField(
        _("allow snippet annotations"),
        default=False,
        help_text=_("Let routes on this gateway inject NGINX configuration through *-snippets annotations."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = GatewayQuerySet.as_manager()

    class Meta:
        ordering = ["cluster__name", "name"]
        verbose_name = _("gateway")
        verbose_name_plural = _("gateways")
        constraints = [
            models.UniqueConstraint(fields=["cluster", "ingress_class"], name="gateway_class_unique_per_cluster"),
            models.UniqueConstraint(fields=["cluster", "tenant", "name"], name="gateway_name_unique_per_tenant"),
            models.UniqueConstraint(
                fields=["cluster", "name"], condition=Q(tenant__isnull=True), name="shared_gateway_name_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name if self.tenant_id is None else f"{self.name} ({self.tenant})"

    def save(self, *args: object, **kwargs: object) -> None:
        if not self.ingress_class:
            self.ingress_class = self.default_ingress_class()
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        if self.is_default:
            raise ValidationError(_("The default gateway cannot be deleted."))
        return super().delete(*args, **kwargs)  # type: ignore[arg-type]

    def clean(self) -> None:
        if self.kind == self.Kind.GATEWAY_API:
            missing = {
                f: _("A Gateway API gateway needs this.")
                for f in ("gateway_namespace", "gateway_name")
                if not getattr(self, f)
            }
            if missing:
                raise ValidationError(missing)
        self._clean_cluster_issuer()
        if not self.ingress_class and self.name:
            self.ingress_class = self.default_ingress_class()
            try:
                validate_dns_subdomain(self.ingress_class)
            except ValidationError as exc:
                raise ValidationError({"ingress_class": exc.messages}) from None

    def _clean_cluster_issuer(self) -> None:
        if self.cluster_issuer and self.is_gateway_api:
            raise ValidationError(
                {
                    "cluster_issuer": _(
                        "A Gateway API gateway's certificate belongs to its HTTPS listener: leave this empty."
                    )
                }
            )
        if not self.cluster_issuer and self.pk is not None:
            asking = self.routes.filter(tls_source=TLS_FROM_CERT_MANAGER).count()
            if asking:
                raise ValidationError(
                    {
                        "cluster_issuer": ngettext(
                            "%(count)d route gets its certificate from this issuer: "
                            "give it a TLS secret before removing the issuer.",
                            "%(count)d routes get their certificate from this issuer: "
                            "give them a TLS secret before removing the issuer.",
                            asking,
                        )
                        % {"count": asking}
                    }
                )

    @property
    def is_gateway_api(self) -> bool:
        return self.kind == self.Kind.GATEWAY_API

    def parent(self) -> GatewayParent | None:
        """The Gateway routes attach to, or None for an ingress-class gateway."""
        if not self.is_gateway_api:
            return None
        return GatewayParent(
            namespace=self.gateway_namespace,
            name=self.gateway_name,
            http_listener=self.http_listener,
            https_listener=self.https_listener,
        )

    @property
    def is_default(self) -> bool:
        return self.tenant_id is None and self.name == DEFAULT_GATEWAY

    def default_ingress_class(self) -> str:
        if self.tenant_id is None or self.tenant is None:
            return self.name
        return f"{self.name}-{self.tenant.name}"

    def allowed_domains(self) -> list[str]:
        """The default domain, then the others the admin listed."""
        extra = [line.strip().lower() for line in self.extra_domains.splitlines() if line.strip()]
        return [self.default_domain, *(d for d in extra if d != self.default_domain)]

    def annotation_dict(self) -> dict[str, str]:
        return {a.key: a.value for a in self.annotations.all()}


class GatewayAnnotation(models.Model):
    gateway = models.ForeignKey(
        Gateway, on_delete=models.CASCADE, related_name="annotations", verbose_name=_("gateway")
    )
    key = models.CharField(_("key"), max_length=317, validators=[validate_annotation_key])
    value = models.TextField(_("value"), blank=True)

    class Meta:
        ordering = ["key"]
        verbose_name = _("default annotation")
        verbose_name_plural = _("default annotations")
        constraints = [models.UniqueConstraint(fields=["gateway", "key"], name="gateway_annotation_once")]

    def __str__(self) -> str:
        return f"{self.key}: {self.value}"


class TenantDomain(models.Model):
    """A domain granted to one tenant in a cluster: its hosts are the tenant's on every gateway of the cluster."""

    cluster = models.ForeignKey(
        Cluster, on_delete=models.CASCADE, related_name="tenant_domains", verbose_name=_("cluster")
    )
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="domains", verbose_name=_("tenant"))
    domain = models.CharField(
        _("domain"),
        max_length=253,
        validators=[validate_dns_subdomain],
        help_text=_("e.g. acme.com: the name and every name under it, refused to every other tenant."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["cluster__name", "domain"]
        verbose_name = _("tenant domain")
        verbose_name_plural = _("tenant domains")
        constraints = [models.UniqueConstraint(fields=["cluster", "domain"], name="tenant_domain_once_per_cluster")]

    def __str__(self) -> str:
        return self.domain

    def clean(self) -> None:
        self.domain = self.domain.strip().lower()
        if not self.cluster_id or not self.tenant_id:
            return
        from kubegems_routes.gateways.domains import domains_overlap

        others = TenantDomain.objects.filter(cluster_id=self.cluster_id).exclude(tenant_id=self.tenant_id)
        if any(domains_overlap(self.domain, other.domain) for other in others.exclude(pk=self.pk)):
            raise ValidationError(
                {"domain": _("This domain overlaps a domain granted to another tenant in this cluster.")}
            )


def ensure_default_gateway(cluster: Cluster) -> Gateway:
    gateway, _created = Gateway.objects.get_or_create(
        cluster=cluster,
        tenant=None,
        name=DEFAULT_GATEWAY,
        defaults={"ingress_class": DEFAULT_GATEWAY, "default_domain": settings.DEFAULT_GATEWAY_DOMAIN},
    )
    return gateway
