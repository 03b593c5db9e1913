"""Who may see and change what. Every view reaches environments and routes through here.

Reading an environment needs any membership on its path (tenant, project or
environment). Writing routes needs tenant admin, project admin or ops, or
environment operator. Staff (system admins) see and do everything. Objects a
user may not see answer 404, never 403, so ids of other tenants leak nothing.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404

from kubegems_routes.tenancy.models import (
    Environment,
    EnvironmentMember,
    ProjectMember,
    TenantMember,
)

User = AbstractBaseUser | AnonymousUser


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


def can_write_routes(user: User, environment: Environment) -> bool:
    if _is_system_admin(user):
        return True
    if not user.is_authenticated:
        return False
    return (
        TenantMember.objects.filter(
            tenant_id=environment.project.tenant_id, user=user, role=TenantMember.Role.ADMIN
        ).exists()
        or ProjectMember.objects.filter(
            project_id=environment.project_id,
            user=user,
            role__in=[ProjectMember.Role.ADMIN, ProjectMember.Role.OPS],
        ).exists()
        or EnvironmentMember.objects.filter(
            environment=environment, user=user, role=EnvironmentMember.Role.OPERATOR
        ).exists()
    )


def is_tenant_admin(user: User, environment: Environment) -> bool:
    if _is_system_admin(user):
        return True
    return (
        bool(user.is_authenticated)
        and TenantMember.objects.filter(
            tenant_id=environment.project.tenant_id, user=user, role=TenantMember.Role.ADMIN
        ).exists()
    )


def get_environment_for_user(user: User, environment_id: int, *, write: bool = False) -> Environment:
    """The environment, if the user may see it (else 404) and, with write, change its routes (else 403)."""
    try:
        environment = visible_environments(user).get(pk=environment_id)
    except Environment.DoesNotExist:
        raise Http404("No such environment") from None
    environment.can_write = can_write_routes(user, environment)  # type: ignore[attr-defined]
    environment.can_audit = is_tenant_admin(user, environment)  # type: ignore[attr-defined]
    if write and not environment.can_write:  # type: ignore[attr-defined]
        raise PermissionDenied("You may read this environment's routes but not change them.")
    return environment
