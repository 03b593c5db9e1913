"""Provider groups onto roles (identity/roles.py), without a provider: the mapping and what a sign-in does."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from kubegems_routes.identity.models import GroupRole, SignInAccount
from kubegems_routes.identity.roles import apply_groups, granted_roles
from kubegems_routes.tenancy.models import Cluster, Environment, Project, ProjectMember, Tenant, TenantMember

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(db) -> Project:
    return Project.objects.create(tenant=Tenant.objects.create(name="acme"), name="shop")


@pytest.fixture
def signed_in(db) -> tuple[User, SignInAccount]:
    user = User.objects.create_user("alice")
    return user, SignInAccount.objects.create(user=user, issuer="https://sso.example.com", subject="a-1")


def test_a_role_needs_its_place_and_no_other(shop):
    with pytest.raises(ValidationError) as missing:
        GroupRole(group="devs", role=GroupRole.Role.PROJECT_DEV).full_clean()
    assert set(missing.value.message_dict) == {"project"}

    with pytest.raises(ValidationError) as extra:
        GroupRole(group="devs", role=GroupRole.Role.STAFF, tenant=shop.tenant).full_clean()
    assert extra.value.message_dict == {"tenant": ["Leave this empty for this role."]}

    GroupRole(group="devs", role=GroupRole.Role.PROJECT_DEV, project=shop).full_clean()


def test_the_strongest_of_several_groups_wins_on_one_place(shop):
    GroupRole.objects.create(group="testers", role=GroupRole.Role.PROJECT_TEST, project=shop)
    GroupRole.objects.create(group="ops", role=GroupRole.Role.PROJECT_OPS, project=shop)
    GroupRole.objects.create(group="admins", role=GroupRole.Role.STAFF)

    wanted, staff = granted_roles(["testers", "ops", "unmapped"])

    assert wanted["project"] == {shop.pk: "ops"} and wanted["tenant"] == {} and not staff
    assert granted_roles(["admins"])[1]


def test_a_sign_in_changes_only_the_roles_it_granted(shop, signed_in):
    user, account = signed_in
    cluster = Cluster.objects.create(name="c", in_cluster=True)
    Environment.objects.create(project=shop, cluster=cluster, name="dev", namespace="dev")
    other = Project.objects.create(tenant=shop.tenant, name="other")
    GroupRole.objects.create(group="devs", role=GroupRole.Role.PROJECT_DEV, project=shop)
    GroupRole.objects.create(group="devs", role=GroupRole.Role.PROJECT_DEV, project=other)
    GroupRole.objects.create(group="leads", role=GroupRole.Role.PROJECT_ADMIN, project=shop)
    ProjectMember.objects.create(project=other, user=user, role=ProjectMember.Role.TEST)  # by hand
    TenantMember.objects.create(tenant=shop.tenant, user=user, role=TenantMember.Role.MEMBER)  # by hand

    apply_groups(user, account, ["devs"])
    roles = {(m.project.name, m.role, m.granted_by_sign_in) for m in ProjectMember.objects.filter(user=user)}
    assert roles == {("shop", "dev", True), ("other", "test", False)}

    apply_groups(user, account, ["devs", "leads"])
    assert ProjectMember.objects.get(user=user, project=shop).role == "admin"

    apply_groups(user, account, [])
    roles = {(m.project.name, m.role, m.granted_by_sign_in) for m in ProjectMember.objects.filter(user=user)}
    assert roles == {("other", "test", False)}
    assert TenantMember.objects.filter(user=user, granted_by_sign_in=False).count() == 1
    assert account.groups == []
