"""The host a route gets when the user leaves it empty: random in the gateway's domain, used by no route."""

from __future__ import annotations

from kubegems_routes.gateways.models import Gateway
from kubegems_routes.lib.hosts import is_random_host_of, random_host
from kubegems_routes.routes.models import Route

RANDOM_HOST_TRIES = 20


def unique_random_host(gateway: Gateway) -> str:
    """A random host from the gateway's default domain that no route uses yet."""
    for _attempt in range(RANDOM_HOST_TRIES):
        host = random_host(gateway.default_domain)
        if not Route.objects.filter(host=host).exists():
            return host
    raise RuntimeError(f"no free random host in {gateway.default_domain} after {RANDOM_HOST_TRIES} tries")


def host_for(gateway: Gateway, suggested_host: str) -> str:
    """The random host the preview showed, if it is still free; else a new random one."""
    if (
        suggested_host
        and is_random_host_of(suggested_host, gateway.default_domain)
        and not Route.objects.filter(host=suggested_host).exists()
    ):
        return suggested_host
    return unique_random_host(gateway)
