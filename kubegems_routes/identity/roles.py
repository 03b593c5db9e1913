"""The roles a user's provider groups grant, applied at every sign-in.

Roles a sign-in grants are marked (``granted_by_sign_in``); the next sign-in changes or removes exactly those.
A role given by hand in admin is never touched, and a group's role on the same tenant, project or environment
then gives way to it (one role per user and place).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import User
from django.db import models, transaction

from kubegems_routes.identity.models import GroupRole, SignInAccount
from kubegems_routes.tenancy.models import EnvironmentMember, ProjectMember, TenantMember

# Where several groups grant roles on one place, the first in this order wins.
_STRONGEST_FIRST: list[str] = [
    GroupRole.Role.TENANT_ADMIN,
    GroupRole.Role.TENANT_MEMBER,
    GroupRole.Role.PROJECT_ADMIN,
    GroupRole.Role.PROJECT_OPS,
    GroupRole.Role.PROJECT_DEV,
    GroupRole.Role.PROJECT_TEST,
    GroupRole.Role.ENVIRONMENT_OPERATOR,
    GroupRole.Role.ENVIRONMENT_READER,
]

# level -> (membership model, the field naming the place)
_MEMBERSHIPS: dict[str, tuple[type[models.Model], str]] = {
    "tenant": (TenantMember, "tenant_id"),
    "project": (ProjectMember, "project_id"),
    "environment": (EnvironmentMember, "environment_id"),
}


def granted_roles(groups: Iterable[str]) -> tuple[dict[str, dict[int, str]], bool]:
    """{level: {place id: membership role}} and whether staff is granted, for these groups."""
    mappings = list(GroupRole.objects.filter(group__in=list(groups)))
    mappings.sort(key=lambda m: _STRONGEST_FIRST.index(m.role) if m.role in _STRONGEST_FIRST else len(_STRONGEST_FIRST))
    wanted: dict[str, dict[int, str]] = {level: {} for level in _MEMBERSHIPS}
    staff = False
    for mapping in mappings:
        if mapping.role == GroupRole.Role.STAFF:
            staff = True
            continue
        level, _dash, role = mapping.role.partition("-")
        place = getattr(mapping, f"{level}_id")
        wanted[level].setdefault(place, role)
    return wanted, staff


@transaction.atomic
def apply_groups(user: User, account: SignInAccount, groups: list[str]) -> None:
    """Make the user's sign-in roles what these groups grant; leave roles given by hand alone."""
    wanted, staff = granted_roles(groups)
    for level, (model, place_field) in _MEMBERSHIPS.items():
        places = dict(wanted[level])
        manager = model._default_manager
        for member in manager.select_for_update().filter(user=user):
            place = getattr(member, place_field)
            role = places.pop(place, None)
            if not member.granted_by_sign_in:  # type: ignore[attr-defined]
                continue
            if role is None:
                member.delete()
            elif member.role != role:  # type: ignore[attr-defined]
                member.role = role  # type: ignore[attr-defined]
                member.save(update_fields=["role"])
        manager.bulk_create(
            [
                model(user=user, role=role, granted_by_sign_in=True, **{place_field: place})
                for place, role in places.items()
            ]
        )
    _apply_staff(user, account, staff)
    account.groups = sorted(groups)
    account.save()


def _apply_staff(user: User, account: SignInAccount, staff: bool) -> None:
    if staff and not user.is_staff:
        user.is_staff = user.is_superuser = True
        account.staff_granted = True
    elif not staff and account.staff_granted:
        user.is_staff = user.is_superuser = False
        account.staff_granted = False
    user.save()
