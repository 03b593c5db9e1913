"""Which hosts a tenant may use on a gateway: the gateway's domains, the tenant's own, never another tenant's.

A gateway's domains follow the Ingress wildcard rule (``*.example.com`` covers
one label). A domain granted to a tenant (``TenantDomain``) covers the name and
every name under it, at any depth, and is the tenant's alone on every gateway
of the cluster: a host of it is refused to any other tenant, even where a
gateway's own domains would allow it.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from kubegems_routes.gateways.models import Gateway, TenantDomain
from kubegems_routes.lib.hosts import in_domain


def under(host: str, domain: str) -> bool:
    """Whether the host is the domain or any name below it; a wildcard host counts if it could match one."""
    if host == domain or host.endswith("." + domain):
        return True
    # *.com matches acme.com itself.
    return host.startswith("*.") and domain.partition(".")[2] == host[2:]


def domains_overlap(a: str, b: str) -> bool:
    return under(a, b) or under(b, a)


def host_refusal(gateway: Gateway, tenant_id: int, host: str) -> str:
    """Why this tenant may not use the host on the gateway, or '' when it may."""
    granted = list(TenantDomain.objects.filter(cluster_id=gateway.cluster_id).values_list("domain", "tenant_id"))
    if any(under(host, domain) for domain, owner in granted if owner != tenant_id):
        # Which tenant, or which of its hosts, is not said.
        return _("%(host)s is in a domain reserved for another tenant.") % {"host": host}
    if any(under(host, domain) for domain, owner in granted if owner == tenant_id):
        return ""
    domains = gateway.allowed_domains()
    if any(in_domain(host, domain) for domain in domains):
        return ""
    return _("%(host)s is not in a domain of gateway %(gateway)s (%(domains)s).") % {
        "host": host,
        "gateway": gateway.name,
        "domains": ", ".join(domains),
    }


def tenant_domains(gateway: Gateway, tenant_id: int) -> list[str]:
    return list(
        TenantDomain.objects.filter(cluster_id=gateway.cluster_id, tenant_id=tenant_id).values_list("domain", flat=True)
    )
