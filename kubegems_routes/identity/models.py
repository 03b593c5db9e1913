"""Provider groups mapped onto roles, and the provider account each signed-in user came from."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kubegems_routes.tenancy.models import Environment, Project, Tenant


class GroupRole(models.Model):
    """Members of a provider group get this role at every sign-in, and lose it once they leave the group."""

    class Role(models.TextChoices):
        TENANT_ADMIN = "tenant-admin", _("tenant admin")
        TENANT_MEMBER = "tenant-member", _("tenant member")
        PROJECT_ADMIN = "project-admin", _("project admin")
        PROJECT_DEV = "project-dev", _("project developer")
        PROJECT_TEST = "project-test", _("project tester")
        PROJECT_OPS = "project-ops", _("project operations")
        ENVIRONMENT_OPERATOR = "environment-operator", _("environment operator")
        ENVIRONMENT_READER = "environment-reader", _("environment reader")
        STAFF = "staff", _("system admin (staff)")

    group = models.CharField(
        _("provider group"),
        max_length=255,
        help_text=_("The group's name as the provider sends it in the groups claim."),
    )
    role = models.CharField(_("role"), max_length=24, choices=Role.choices)
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("tenant")
    )
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("project")
    )
    environment = models.ForeignKey(
        Environment, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("environment")
    )

    class Meta:
        ordering = ["group", "role"]
        verbose_name = _("group role")
        verbose_name_plural = _("group roles")

    def __str__(self) -> str:
        where = self.tenant or self.project or self.environment
        if where is None:
            return gettext("%(group)s: %(role)s") % {"group": self.group, "role": self.get_role_display()}
        return gettext("%(group)s: %(role)s of %(of)s") % {
            "group": self.group,
            "role": self.get_role_display(),
            "of": where,
        }

    @property
    def level(self) -> str:
        """tenant, project, environment or staff: the part of the role before its dash."""
        return self.role.partition("-")[0]

    def clean(self) -> None:
        needed = {"tenant": self.tenant_id, "project": self.project_id, "environment": self.environment_id}
        missing = {
            "tenant": _("This role needs a tenant."),
            "project": _("This role needs a project."),
            "environment": _("This role needs an environment."),
        }
        errors: dict[str, ValidationError] = {}
        for level, value in needed.items():
            if level == self.level and value is None:
                errors[level] = ValidationError(missing[level])
            elif level != self.level and value is not None:
                errors[level] = ValidationError(_("Leave this empty for this role."))
        if errors:
            raise ValidationError(errors)


class SignInAccount(models.Model):
    """The provider account (issuer and subject) a user signs in with; users are found by it, never by name."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sign_in_account", verbose_name=_("user")
    )
    issuer = models.CharField(_("issuer"), max_length=255)
    subject = models.CharField(_("subject"), max_length=255)
    groups = models.JSONField(_("groups at last sign-in"), default=list, blank=True)
    staff_granted = models.BooleanField(
        _("staff by group"), default=False, help_text=_("Staff was given by a group, and goes with it.")
    )
    last_sign_in = models.DateTimeField(_("last sign-in"), null=True, blank=True)

    class Meta:
        verbose_name = _("provider account")
        verbose_name_plural = _("provider accounts")
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="sign_in_account_once")]

    def __str__(self) -> str:
        return f"{self.user} ({self.subject})"
