"""Who may see and change what. Every view reaches environments and routes through here.

Reading an environment needs any membership on its path (tenant, project or
environment). Writing routes needs tenant admin, project admin or ops, or
environment operator. Staff (system admins) see and do everything. Objects a
user may not see answer 404, never 403, so ids of other tenants leak nothing.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.models import User as UserModel
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils.translation import gettext as _

from kubegems_routes.tenancy.models import (
    Environment,
    EnvironmentMember,
    ProjectMember,
    TenantMember,
)

User = UserModel | AnonymousUser


def _is_system_admin(user: User) -> bool:
    return bool(user.is_authenticated and getattr(user, "is_staff", False))


def visible_environments(user: User) -> QuerySet[Environment]:
    environments = Environment.objects.select_related("project__tenant", "cluster")
    if not user.is_authenticated:
        return environments.none()
    if _is_system_admin(user):
        return environments
    return environments.filter(
        Q(project__tenant__members__user=user) | Q(project__members__user=user) | Q(members__user=user)
    ).distinct()


def _role(model: type[models.Model], user: User, **match: object) -> Subquery:
    return Subquery(model.objects.filter(user=user, **match).values("role")[:1])  # type: ignore[attr-defined]


def get_environment_for_user(user: User, environment_id: int, *, write: bool = False) -> Environment:
    """The environment, if the user may see it (else 404) and, with write, change its routes (else 403).

    One query: the environment with the user's role at each level beside it.
    """
    if not user.is_authenticated or not 0 < environment_id < 2**63:  # beyond a bigint the database raises
        raise Http404("No such environment")
    environment = (
        Environment.objects.select_related("project__tenant", "cluster")
        .annotate(
            tenant_role=_role(TenantMember, user, tenant_id=OuterRef("project__tenant_id")),
            project_role=_role(ProjectMember, user, project_id=OuterRef("project_id")),
            environment_role=_role(EnvironmentMember, user, environment_id=OuterRef("pk")),
        )
        .filter(pk=environment_id)
        .first()
    )
    staff = _is_system_admin(user)
    if environment is None:
        raise Http404("No such environment")
    tenant_role, project_role, environment_role = (
        environment.tenant_role,
        environment.project_role,
        environment.environment_role,
    )
    if not (staff or tenant_role or project_role or environment_role):
        raise Http404("No such environment")
    environment.can_write = staff or (
        tenant_role == TenantMember.Role.ADMIN
        or project_role in (ProjectMember.Role.ADMIN, ProjectMember.Role.OPS)
        or environment_role == EnvironmentMember.Role.OPERATOR
    )
    environment.can_audit = staff or tenant_role == TenantMember.Role.ADMIN
    if write and not environment.can_write:
        raise PermissionDenied(_("You may read this environment's routes but not change them."))
    return environment
