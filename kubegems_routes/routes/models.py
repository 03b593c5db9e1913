"""A route: the console's record of one Ingress in an environment's namespace."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kubegems_routes.gateways.models import Gateway
from kubegems_routes.lib.validators import validate_dns_subdomain, validate_host, validate_path, validate_port
from kubegems_routes.routes import manifest
from kubegems_routes.routes.claims import HostClaim
from kubegems_routes.routes.kept import kept_fields
from kubegems_routes.tenancy.models import Environment

__all__ = [
    "AuditEntry",
    "HostClaim",
    "PathType",
    "Protocol",
    "Route",
    "RouteMove",
    "RoutePath",
    "RouteVersion",
    "TlsSource",
    "route_spec",
]


class Protocol(models.TextChoices):
    HTTP = manifest.HTTP, "HTTP"
    HTTPS = manifest.HTTPS, "HTTPS"
    WS = manifest.WS, _("WebSocket (ws)")
    WSS = manifest.WSS, _("WebSocket over TLS (wss)")
    GRPC = manifest.GRPC, "gRPC"


class TlsSource(models.TextChoices):
    SECRET = manifest.TLS_FROM_SECRET, _("A TLS secret of this namespace")
    CERT_MANAGER = manifest.TLS_FROM_CERT_MANAGER, _("A certificate from cert-manager")


class PathType(models.TextChoices):
    PREFIX = "Prefix", _("Prefix")
    EXACT = "Exact", _("Exact")
    IMPLEMENTATION_SPECIFIC = "ImplementationSpecific", _("Implementation specific")


class Route(models.Model):
    environment = models.ForeignKey(
        Environment, on_delete=models.CASCADE, related_name="routes", verbose_name=_("environment")
    )
    # At most 63 characters: the name is also the value of the kubegems.io/route label.
    name = models.CharField(_("name"), max_length=63, validators=[validate_dns_subdomain])
    gateway = models.ForeignKey(Gateway, on_delete=models.PROTECT, related_name="routes", verbose_name=_("gateway"))
    host = models.CharField(
        _("host"),
        max_length=253,
        blank=True,
        validators=[validate_host],
        help_text=_("Leave empty for a random host from the gateway's default domain."),
    )
    protocol = models.CharField(_("protocol"), max_length=8, choices=Protocol.choices, default=Protocol.HTTP)
    tls_secret = models.CharField(
        _("TLS secret"),
        max_length=253,
        blank=True,
        validators=[validate_dns_subdomain],
        help_text=_("A kubernetes.io/tls Secret of this namespace; it may be created later (cert-manager)."),
    )
    tls_source = models.CharField(
        _("TLS certificate"),
        max_length=16,
        choices=TlsSource.choices,
        default=TlsSource.SECRET,
        help_text=_("cert-manager is offered where the gateway names a ClusterIssuer."),
    )
    annotations = models.JSONField(_("annotations"), default=dict, blank=True)
    resource_version = models.CharField(_("resource version"), max_length=64, blank=True, editable=False)
    # The gateway's default annotations when the route was last applied: a later change to them is
    # the admin's (shown as "gateway defaults changed"), not drift.
    applied_gateway_annotations = models.JSONField(
        _("gateway defaults last applied"), default=dict, blank=True, editable=False
    )
    # Likewise the gateway's ClusterIssuer, for a route that asks cert-manager for its certificate.
    applied_cluster_issuer = models.CharField(
        _("ClusterIssuer last applied"), max_length=253, blank=True, editable=False
    )
    # What the route keeps of an object made elsewhere, though the form does not show it (routes.kept).
    kept = models.JSONField(_("kept from the imported object"), default=dict, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        editable=False,
        verbose_name=_("created by"),
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        editable=False,
        verbose_name=_("updated by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    # The cluster's state of the route's Ingress (routes.drift.Sync), set by the list view per page.
    sync: str = ""
    # Whether its TLS secret exists and covers the host (routes.tls.TlsState), set by the list view per page.
    tls: str = ""
    # Where its gateway answers (gateways.address.Address), set by the list view per page.
    address: object = None
    # What its gateway's controller said (routes.gateway_status.GatewayStatus), set by the list view per page.
    gateway_status: object = None
    # Its first backend without a ready endpoint, or without its Service or port (routes.backends), per page.
    backend_warning: str = ""

    class Meta:
        ordering = ["name"]
        verbose_name = _("route")
        verbose_name_plural = _("routes")
        constraints = [models.UniqueConstraint(fields=["environment", "name"], name="route_unique_per_environment")]
        indexes = [models.Index(fields=["host"])]

    def __str__(self) -> str:
        return self.name

    @property
    def uses_tls(self) -> bool:
        return manifest.needs_tls(self.protocol)

    @property
    def uses_certificate(self) -> bool:
        """Its certificate comes from cert-manager (into ``tls_secret``, named after the route)."""
        return self.uses_tls and self.tls_source == TlsSource.CERT_MANAGER

    def backends(self) -> tuple[manifest.Backend, ...]:
        return tuple(p.backend() for p in self.paths.all())

    def spec(
        self,
        port_numbers: dict[tuple[str, str], int] | None = None,
        *,
        gateway_annotations: dict[str, str] | None = None,
        cluster_issuer: str | None = None,
    ) -> manifest.RouteSpec:
        """What this route becomes, given its gateway and environment (pure data).

        ``port_numbers`` resolves port names for a Gateway API gateway, whose backendRefs take numbers;
        ``gateway_annotations`` and ``cluster_issuer`` stand in for the gateway's current ones.
        """
        return route_spec(
            port_numbers=port_numbers,
            environment=self.environment,
            gateway=self.gateway,
            name=self.name,
            host=self.host,
            protocol=self.protocol,
            tls_secret=self.tls_secret,
            tls_source=self.tls_source,
            backends=self.backends(),
            annotations=self.annotations,
            gateway_annotations=gateway_annotations,
            cluster_issuer=cluster_issuer,
            kept=self.kept,
        )

    def applied_spec(self, port_numbers: dict[tuple[str, str], int] | None = None) -> manifest.RouteSpec:
        """The route as last applied: with the gateway defaults and ClusterIssuer of that time."""
        return self.spec(
            port_numbers,
            gateway_annotations=self.applied_gateway_annotations,
            cluster_issuer=self.applied_cluster_issuer,
        )

    def sync_with(self, live: dict[str, object] | None, port_numbers: dict[tuple[str, str], int] | None = None) -> str:
        """The cluster's state of this route, given its live object (None: missing).

        ``port_numbers`` as for ``spec``; raises UnresolvedPort without them on a Gateway API gateway.
        """
        from kubegems_routes.routes import drift

        return drift.sync_state(
            manifest.build(self.spec(port_numbers)), live, manifest.build(self.applied_spec(port_numbers))
        )

    def kept_fields(self) -> list[str]:
        """The fields of its object the form does not show and every save keeps (routes.kept)."""
        return kept_fields(self.kept)

    def access_urls(self) -> list[str]:
        return manifest.access_urls(self.host, [p.path for p in self.paths.all()], self.uses_tls)


class RoutePath(models.Model):
    route = models.ForeignKey(Route, on_delete=models.CASCADE, related_name="paths", verbose_name=_("route"))
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    path = models.CharField(_("path"), max_length=1024, default="/", validators=[validate_path])
    path_type = models.CharField(_("path type"), max_length=32, choices=PathType.choices, default=PathType.PREFIX)
    service = models.CharField(_("service"), max_length=63)
    port = models.CharField(_("port"), max_length=15, validators=[validate_port])
    # Rows sharing a path split its requests by weight (Gateway API backendRefs[].weight).
    weight = models.PositiveIntegerField(
        _("weight"), default=manifest.DEFAULT_WEIGHT, validators=[MaxValueValidator(manifest.MAX_WEIGHT)]
    )

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = _("path")
        verbose_name_plural = _("paths")

    def __str__(self) -> str:
        return f"{self.path} -> {self.service}:{self.port}"

    @classmethod
    def from_backend(cls, route: Route, position: int, backend: manifest.Backend) -> RoutePath:
        return cls(
            route=route,
            position=position,
            path=backend.path,
            path_type=backend.path_type,
            service=backend.service,
            port=backend.port,
            weight=backend.weight,
        )

    def backend(self) -> manifest.Backend:
        return manifest.Backend(
            path=self.path, path_type=self.path_type, service=self.service, port=self.port, weight=self.weight
        )


def route_spec(
    *,
    environment: Environment,
    gateway: Gateway,
    name: str,
    host: str,
    protocol: str,
    tls_secret: str,
    backends: tuple[manifest.Backend, ...],
    annotations: dict[str, str],
    tls_source: str = manifest.TLS_FROM_SECRET,
    port_numbers: dict[tuple[str, str], int] | None = None,
    gateway_annotations: dict[str, str] | None = None,
    cluster_issuer: str | None = None,
    kept: dict[str, Any] | None = None,
) -> manifest.RouteSpec:
    project = environment.project
    certificate = tls_source == manifest.TLS_FROM_CERT_MANAGER and manifest.needs_tls(protocol)
    return manifest.RouteSpec(
        name=name,
        namespace=environment.namespace,
        host=host,
        protocol=protocol,
        tls_secret=manifest.tls_secret_for(name, protocol, tls_source, tls_secret),
        cluster_issuer=(gateway.cluster_issuer if cluster_issuer is None else cluster_issuer) if certificate else "",
        ingress_class=gateway.ingress_class,
        backends=backends,
        gateway_annotations=gateway.annotation_dict() if gateway_annotations is None else dict(gateway_annotations),
        annotations=dict(annotations),
        labels=manifest.route_labels(project.tenant.name, project.name, environment.name, gateway.name, name),
        parent=gateway.parent(),
        port_numbers=dict(port_numbers or {}),
        kept=dict(kept or {}),
    )


class AuditEntry(models.Model):
    """Who did what to which route, and the manifest that was applied."""

    class Action(models.TextChoices):
        CREATE = "create", _("created")
        UPDATE = "update", _("changed")
        DELETE = "delete", _("deleted")
        REAPPLY = "reapply", _("re-applied")
        TAKE_OVER = "takeover", _("took over the cluster's version")
        IMPORT = "import", _("imported")
        GATEWAY_REAPPLY = "gwreapply", _("re-applied with the gateway's new defaults")
        SWITCH = "switch", _("moved to another kind of object (the old one deleted, the new one created)")
        TEST = "test", _("tested through its gateway")
        REVERT = "revert", _("reverted to an earlier version")
        MOVE = "move", _("moved to Gateway API")
        # Only a version: the first one of a route that existed before versions were recorded.
        RECORDED = "recorded", _("recorded when history began")

    environment = models.ForeignKey(
        Environment, on_delete=models.CASCADE, related_name="audit_entries", verbose_name=_("environment")
    )
    route_name = models.CharField(_("route"), max_length=253)
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("user")
    )
    manifest = models.JSONField(_("manifest applied"), default=dict, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)  # a test's outcome
    created_at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        indexes = [models.Index(fields=["environment", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.user} {self.get_action_display()} {self.route_name}"

    def manifest_yaml(self) -> str:
        return manifest.to_yaml(self.manifest) if self.manifest else ""


class RouteVersion(models.Model):
    """One version of a route the console applied: the route's values (what a revert saves again) and the
    object sent for them. The audit log says who did what to which route for ever; versions are kept per
    route up to ``settings.ROUTE_VERSIONS_KEPT`` and go with the route."""

    route = models.ForeignKey(Route, on_delete=models.CASCADE, related_name="versions", verbose_name=_("route"))
    # 1, 2, ... per route; never reused, so a version keeps its number when older ones are dropped.
    number = models.PositiveIntegerField(_("version"))
    action = models.CharField(_("action"), max_length=10, choices=AuditEntry.Action.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("user")
    )
    # The route's values as RouteValues holds them (routes.history: values_of, and back).
    values = models.JSONField(_("values"), default=dict)
    manifest = models.JSONField(_("manifest applied"), default=dict, blank=True)
    # For a revert: the version it restored.
    reverted_to = models.PositiveIntegerField(_("reverted to"), null=True, blank=True)
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        ordering = ["-number"]
        verbose_name = _("route version")
        verbose_name_plural = _("route versions")
        constraints = [models.UniqueConstraint(fields=["route", "number"], name="route_version_unique_number")]

    def __str__(self) -> str:
        return f"{self.route_id} v{self.number}"

    def manifest_yaml(self) -> str:
        return manifest.to_yaml(self.manifest) if self.manifest else ""


class RouteMove(models.Model):
    """A move to Gateway API under way (``routes.move``): its HTTPRoute or GRPCRoute is created, and the Ingress
    serves until the Gateway's controller accepts it, or ``deadline`` passes. At most one per route; the move's
    last step deletes this row first, so two requests can never both finish (or take back) the same move."""

    route = models.OneToOneField(Route, on_delete=models.CASCADE, related_name="move", verbose_name=_("route"))
    # PROTECT, as a route's: the gateway cannot go while the move's object may exist.
    gateway = models.ForeignKey(Gateway, on_delete=models.PROTECT, related_name="+", verbose_name=_("gateway"))
    kind = models.CharField(_("kind"), max_length=16)
    # The Ingress's version the move started from: it is deleted only at that version, so any change to it
    # while the move waits (an edit, a re-apply, kubectl) makes the move fail and keeps the Ingress.
    resource_version = models.CharField(_("resource version"), max_length=64)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("user")
    )
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    deadline = models.DateTimeField(_("deadline"))

    class Meta:
        verbose_name = _("move to Gateway API")
        verbose_name_plural = _("moves to Gateway API")

    def __str__(self) -> str:
        return f"{self.route_id} -> {self.kind}"
