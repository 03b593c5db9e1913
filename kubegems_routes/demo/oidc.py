"""`KGR_DEMO_OIDC=1 make run`: a demo Keycloak whose realm's groups map onto the demo tenant.

The realm (keycloak_realm.json beside this file) has four users, each in one group; the console is pointed at
it in this process (the settings a deployment sets with KGR_OIDC_*) and the groups are mapped in GroupRole.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

from django.conf import settings

from kubegems_routes.demo import keycloak
from kubegems_routes.identity import provider
from kubegems_routes.identity.models import GroupRole
from kubegems_routes.tenancy.models import Environment, Tenant

REALM_FILE = Path(__file__).with_name("keycloak_realm.json")
CLIENT_ID = "kubegems-routes"
CLIENT_SECRET = "demo-client-secret"  # noqa: S105 - the demo realm's, on loopback
# username -> (password, what their group gives)
USERS = {
    "maria": ("maria-demo", "demo-admins: tenant admin of demo"),
    "dev": ("dev-demo", "shop-developers: operator of demo/shop/dev"),
    "reader": ("reader-demo", "shop-readers: reader of demo/shop/dev"),
    "platform": ("platform-demo", "platform-admins: system admin"),
}


def start_demo_keycloak() -> keycloak.Keycloak:
    """Start Keycloak with the demo realm on KGR_DEMO_OIDC_PORT (8180); raises BuildError."""
    return keycloak.start(REALM_FILE, port=int(os.environ.get("KGR_DEMO_OIDC_PORT", "8180")))


def point_console_at(server: keycloak.Keycloak) -> None:
    """What KGR_OIDC_ISSUER, _CLIENT_ID, _CLIENT_SECRET and _PROVIDER_NAME would set, in this process."""
    settings.OIDC_ISSUER = server.issuer
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_PROVIDER_NAME = "Keycloak (demo)"
    policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
    policy["DIRECTIVES"]["form-action"].append(server.url)
    settings.CONTENT_SECURITY_POLICY = policy
    provider.forget()


def map_demo_groups() -> None:
    """The demo realm's groups onto the demo tenant (kept as they are when already there)."""
    tenant = Tenant.objects.get(name="demo")
    dev = Environment.objects.get(project__tenant=tenant, project__name="shop", name="dev")
    roles: list[tuple[str, str, Tenant | None, Environment | None]] = [
        ("demo-admins", GroupRole.Role.TENANT_ADMIN, tenant, None),
        ("shop-developers", GroupRole.Role.ENVIRONMENT_OPERATOR, None, dev),
        ("shop-readers", GroupRole.Role.ENVIRONMENT_READER, None, dev),
        ("platform-admins", GroupRole.Role.STAFF, None, None),
    ]
    for group, role, where_tenant, where_environment in roles:
        GroupRole.objects.get_or_create(group=group, role=role, tenant=where_tenant, environment=where_environment)
