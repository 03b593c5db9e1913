"""Tenant -> Project -> Environment, the clusters environments live in, and memberships."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import yaml
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kubegems_routes.lib.crypto import EncryptedTextField
from kubegems_routes.lib.validators import validate_dns_label

if TYPE_CHECKING:
    from kubegems_routes.kube.cache import ClusterCache
    from kubegems_routes.kube.client import KubeClient


class Cluster(models.Model):
    name = models.CharField(_("name"), max_length=63, unique=True, validators=[validate_dns_label])
    description = models.CharField(_("description"), max_length=200, blank=True)
    in_cluster = models.BooleanField(
        _("in-cluster credentials"),
        default=False,
        help_text=_("Use the console's own service account (the console runs in this cluster)."),
    )
    kubeconfig = EncryptedTextField(
        _("kubeconfig"),
        blank=True,
        help_text=_("An admin kubeconfig for this cluster. Never shown again after saving."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("cluster")
        verbose_name_plural = _("clusters")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not self.in_cluster and not self.kubeconfig.strip():
            raise ValidationError({"kubeconfig": _("Paste a kubeconfig, or use in-cluster credentials.")})
        if self.kubeconfig.strip():
            try:
                document = yaml.safe_load(self.kubeconfig)
            except yaml.YAMLError:
                document = None
            if not isinstance(document, dict) or not document.get("clusters"):
                raise ValidationError({"kubeconfig": _("This is not a kubeconfig (no clusters in it).")})

    def client(self, *, connect_timeout: float | None = None, read_timeout: float | None = None) -> KubeClient:
        """A shared client with the configured timeouts, or shorter ones (the readiness probe)."""
        from kubegems_routes.kube.client import cached_client

        timeouts: dict[str, float] = {
            "connect_timeout": connect_timeout or settings.KUBE_CONNECT_TIMEOUT,
            "read_timeout": read_timeout or settings.KUBE_READ_TIMEOUT,
        }
        return cached_client(
            (*self._credentials_key(), *timeouts.values()),
            lambda: self.new_client(connect_timeout=timeouts["connect_timeout"], read_timeout=timeouts["read_timeout"]),
        )

    def new_client(
        self, *, connect_timeout: float | None = None, read_timeout: float | None = None, watcher: bool = False
    ) -> KubeClient:
        """A client with its own connection pool (the cache's watches hold their connections: ``watcher``)."""
        from kubegems_routes.kube.client import KubeClient
        from kubegems_routes.kube.silence import silences

        timeouts: dict[str, float] = {
            "connect_timeout": connect_timeout or settings.KUBE_CONNECT_TIMEOUT,
            "read_timeout": read_timeout or settings.KUBE_READ_TIMEOUT,
        }
        # The console's clients share which API servers went silent (calls to them fail at once).
        if self.in_cluster:
            token, ca = str(settings.KUBE_IN_CLUSTER_TOKEN_FILE), str(settings.KUBE_IN_CLUSTER_CA_FILE)
            client = KubeClient.in_cluster(token_file=token, ca_file=ca, **timeouts)
        else:
            client = KubeClient.from_kubeconfig(yaml.safe_load(self.kubeconfig), context=None, **timeouts)
        return client.failing_fast(silences, watcher=watcher)

    def _credentials_key(self) -> tuple[object, ...]:
        fingerprint = hashlib.sha256(self.kubeconfig.encode()).hexdigest()
        paths = (str(settings.KUBE_IN_CLUSTER_TOKEN_FILE), str(settings.KUBE_IN_CLUSTER_CA_FILE))
        return (
            self.pk,
            self.in_cluster,
            fingerprint,
            *paths,
            settings.KUBE_CONNECT_TIMEOUT,
            settings.KUBE_READ_TIMEOUT,
        )

    def cache(self) -> ClusterCache | None:
        """This process's watch-fed cache of the cluster, started on first use; None when caching is off."""
        if not settings.KUBE_CACHE or self.pk is None:
            return None
        from kubegems_routes.kube.cache import ClusterCache, cache_for

        return cache_for(
            self.pk,
            self._credentials_key(),
            lambda: ClusterCache(
                self.new_client(watcher=True), cluster=self.name, stall_timeout=settings.KUBE_CACHE_STALL_TIMEOUT
            ),
        )


class Tenant(models.Model):
    name = models.CharField(_("name"), max_length=63, unique=True, validators=[validate_dns_label])
    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tenant")
        verbose_name_plural = _("tenants")

    def __str__(self) -> str:
        return self.display_name or self.name


class Project(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="projects", verbose_name=_("tenant"))
    name = models.CharField(_("name"), max_length=63, validators=[validate_dns_label])
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["tenant__name", "name"]
        verbose_name = _("project")
        verbose_name_plural = _("projects")
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="project_unique_per_tenant")]

    def __str__(self) -> str:
        return f"{self.tenant.name}/{self.name}"


class Environment(models.Model):
    class Type(models.TextChoices):
        DEV = "dev", _("development")
        TEST = "test", _("test")
        PROD = "prod", _("production")

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="environments", verbose_name=_("project")
    )
    cluster = models.ForeignKey(
        Cluster, on_delete=models.PROTECT, related_name="environments", verbose_name=_("cluster")
    )
    name = models.CharField(_("name"), max_length=63, validators=[validate_dns_label])
    namespace = models.CharField(_("namespace"), max_length=63, validators=[validate_dns_label])
    type = models.CharField(_("type"), max_length=8, choices=Type.choices, default=Type.DEV)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    # What the requesting user may do here: set by tenancy.access.get_environment_for_user.
    can_write: bool = False
    can_audit: bool = False

    class Meta:
        ordering = ["project__tenant__name", "project__name", "name"]
        verbose_name = _("environment")
        verbose_name_plural = _("environments")
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="environment_unique_per_project"),
            # One namespace belongs to one environment, so one tenant.
            models.UniqueConstraint(fields=["cluster", "namespace"], name="environment_unique_namespace"),
        ]

    def __str__(self) -> str:
        return f"{self.project}/{self.name}"

    @property
    def tenant(self) -> Tenant:
        return self.project.tenant


class TenantMember(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin", _("tenant admin")
        MEMBER = "member", _("member")

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="members", verbose_name=_("tenant"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tenant_roles", verbose_name=_("user")
    )
    role = models.CharField(_("role"), max_length=8, choices=Role.choices, default=Role.MEMBER)
    # Given at sign-in from the provider's groups (identity.roles): removed when the group is left. Roles
    # given by hand keep this False and no sign-in touches them.
    granted_by_sign_in = models.BooleanField(_("granted by sign-in"), default=False, editable=False)

    class Meta:
        verbose_name = _("tenant member")
        verbose_name_plural = _("tenant members")
        constraints = [models.UniqueConstraint(fields=["tenant", "user"], name="tenant_member_once")]

    def __str__(self) -> str:
        return gettext("%(user)s is %(role)s of %(of)s") % {
            "user": self.user,
            "role": self.get_role_display(),
            "of": self.tenant,
        }


class ProjectMember(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin", _("project admin")
        DEV = "dev", _("developer")
        TEST = "test", _("tester")
        OPS = "ops", _("operations")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="members", verbose_name=_("project"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="project_roles", verbose_name=_("user")
    )
    role = models.CharField(_("role"), max_length=8, choices=Role.choices, default=Role.DEV)
    # Given at sign-in from the provider's groups (identity.roles): removed when the group is left. Roles
    # given by hand keep this False and no sign-in touches them.
    granted_by_sign_in = models.BooleanField(_("granted by sign-in"), default=False, editable=False)

    class Meta:
        verbose_name = _("project member")
        verbose_name_plural = _("project members")
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="project_member_once")]

    def __str__(self) -> str:
        return gettext("%(user)s is %(role)s of %(of)s") % {
            "user": self.user,
            "role": self.get_role_display(),
            "of": self.project,
        }


class EnvironmentMember(models.Model):
    class Role(models.TextChoices):
        READER = "reader", _("reader")
        OPERATOR = "operator", _("operator")

    environment = models.ForeignKey(
        Environment, on_delete=models.CASCADE, related_name="members", verbose_name=_("environment")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="environment_roles", verbose_name=_("user")
    )
    role = models.CharField(_("role"), max_length=8, choices=Role.choices, default=Role.READER)
    # Given at sign-in from the provider's groups (identity.roles): removed when the group is left. Roles
    # given by hand keep this False and no sign-in touches them.
    granted_by_sign_in = models.BooleanField(_("granted by sign-in"), default=False, editable=False)

    class Meta:
        verbose_name = _("environment member")
        verbose_name_plural = _("environment members")
        constraints = [models.UniqueConstraint(fields=["environment", "user"], name="environment_member_once")]

    def __str__(self) -> str:
        return gettext("%(user)s is %(role)s of %(of)s") % {
            "user": self.user,
            "role": self.get_role_display(),
            "of": self.environment,
        }
