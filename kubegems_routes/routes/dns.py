"""Is a route's host in DNS yet, and does it lead to the route's gateway? Through the console's resolver.

Only the route's own host is ever resolved, never a name a user types, so the
page cannot be turned into a resolver of other names. A lookup takes at most
``KGR_DNS_TIMEOUT`` seconds (A, then AAAA when there is no A record) and its
answer is kept ``KGR_DNS_CACHE_SECONDS``, so reloading a page does not ask
again. The nameservers are ``KGR_DNS_NAMESERVERS`` (the system's resolver when
empty).

Compared with the gateway's address (gateways/address.py): an IP address must
be among the host's A/AAAA records; a DNS name (a cloud load balancer's) must
be in the host's CNAME chain. The gateway's own name is not resolved.
"""

from __future__ import annotations

import enum
import ipaddress
import logging
import threading
import time
from dataclasses import dataclass

import dns.exception
import dns.nameserver
import dns.rdatatype
import dns.resolver
from django.conf import settings
from django.utils.translation import gettext as _

from kubegems_routes.gateways.address import Address
from kubegems_routes.lib.hosts import in_domain
from kubegems_routes.routes.models import Route

logger = logging.getLogger(__name__)


class DnsState(enum.StrEnum):
    READY = "ready"  # the host leads to the gateway's address
    ELSEWHERE = "elsewhere"  # the host has records, none of them the gateway's address
    MISSING = "missing"  # no record yet
    WILDCARD = "wildcard"  # a wildcard host names no single name to resolve
    NO_ADDRESS = "no-address"  # the gateway's address is not known, so there is nothing to compare with
    FAILED = "failed"  # the resolver did not answer in time, or refused
    OFF = "off"  # KGR_DNS_CHECK=false


@dataclass(frozen=True)
class Resolved:
    """What a name resolves to now: its CNAME chain and its addresses; nothing for no record."""

    cnames: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()
    error: str = ""  # the resolver failed: timeout, no nameserver answered

    @property
    def found(self) -> tuple[str, ...]:
        return (*self.cnames, *self.addresses)


@dataclass(frozen=True)
class DnsCheck:
    host: str
    state: DnsState
    record: str = ""  # the record to create, "host A address"
    resolved: Resolved = Resolved()
    wildcard_domain: str = ""  # the gateway's wildcard domain the host lies under: one record may serve it

    @property
    def ready(self) -> bool:
        return self.state == DnsState.READY

    @property
    def problem(self) -> bool:
        """Clients that look the host up do not reach the gateway."""
        return self.state in (DnsState.ELSEWHERE, DnsState.MISSING)

    @property
    def found(self) -> str:
        return ", ".join(self.resolved.found)

    @property
    def wildcard_record(self) -> str:
        """The one record that serves every host of the gateway's wildcard domain."""
        if not self.wildcard_domain or not self.record:
            return ""
        return f"{self.wildcard_domain} {self.record.split(' ', 1)[1]}"

    @property
    def summary(self) -> str:
        if self.state == DnsState.READY:
            return _("%(host)s resolves to the gateway's address") % {"host": self.host}
        if self.state == DnsState.ELSEWHERE:
            return _("points elsewhere (%(found)s)") % {"found": self.found}
        if self.state == DnsState.MISSING:
            return _("no record yet: create %(record)s") % {"record": self.record}
        if self.state == DnsState.WILDCARD:
            return _("a wildcard host: its DNS needs a wildcard record, %(record)s; not checked") % {
                "record": self.record
            }
        if self.state == DnsState.NO_ADDRESS:
            return _("not checked: the gateway's address is not known")
        if self.state == DnsState.FAILED:
            return _("not checked: the resolver did not answer (%(error)s)") % {"error": self.resolved.error}
        return ""


# -- the resolver, bounded and cached ------------------------------------------------------

_cache: dict[str, tuple[float, Resolved]] = {}
_cache_lock = threading.Lock()


def forget() -> None:
    """Drop every cached answer (tests; a changed nameserver setting)."""
    with _cache_lock:
        _cache.clear()


def _resolver() -> dns.resolver.Resolver:
    if settings.DNS_NAMESERVERS:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [dns.nameserver.Do53Nameserver(ip, port) for ip, port in settings.DNS_NAMESERVERS]
    else:
        resolver = dns.resolver.Resolver()
    resolver.cache = None  # answers are kept here, for KGR_DNS_CACHE_SECONDS
    resolver.lifetime = settings.DNS_TIMEOUT
    resolver.timeout = settings.DNS_TIMEOUT
    return resolver


def _lookup(host: str) -> Resolved:
    deadline = time.monotonic() + settings.DNS_TIMEOUT
    try:
        resolver = _resolver()
        cnames: list[str] = []
        addresses: list[str] = []
        for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
            lifetime = deadline - time.monotonic()
            if lifetime <= 0:
                raise dns.exception.Timeout
            answer = resolver.resolve(host, rdtype, raise_on_no_answer=False, search=False, lifetime=lifetime)
            for rrset in answer.response.answer:
                if rrset.rdtype == dns.rdatatype.CNAME:
                    cnames += [r.target.to_text(omit_final_dot=True).lower() for r in rrset]
                elif rrset.rdtype == rdtype:
                    addresses += [r.address for r in rrset]
            if addresses:
                break
    except dns.resolver.NXDOMAIN:
        return Resolved()
    except (dns.exception.DNSException, OSError) as exc:
        logger.info("resolving %s failed: %s", host, exc)
        return Resolved(error=str(exc) or type(exc).__name__)
    return Resolved(tuple(dict.fromkeys(cnames)), tuple(dict.fromkeys(addresses)))


def resolve(host: str) -> Resolved:
    """What ``host`` resolves to, from the cache when asked less than KGR_DNS_CACHE_SECONDS ago."""
    now = time.monotonic()
    with _cache_lock:
        cached = _cache.get(host)
        if cached is not None and cached[0] > now:
            return cached[1]
    found = _lookup(host)
    with _cache_lock:
        if len(_cache) > 10_000:  # a bound, not an eviction policy: answers live seconds
            _cache.clear()
        _cache[host] = (time.monotonic() + settings.DNS_CACHE_SECONDS, found)
    return found


# -- a route's host against its gateway ------------------------------------------------------


def _wildcard_domain(route: Route) -> str:
    return next(
        (d for d in route.gateway.allowed_domains() if d.startswith("*.") and in_domain(route.host, d)),
        "",
    )


def check_route(route: Route, address: Address | None) -> DnsCheck | None:
    """The route's host against its gateway's address; None for a route without a host."""
    host = route.host
    if not host:
        return None
    record = f"{host} {address.record_type} {address.address}" if address is not None else ""
    wildcard = "" if host.startswith("*.") else _wildcard_domain(route)
    if not settings.DNS_CHECK:
        return DnsCheck(host, DnsState.OFF, record, wildcard_domain=wildcard)
    if host.startswith("*."):
        return DnsCheck(host, DnsState.WILDCARD, record)
    if address is None:
        return DnsCheck(host, DnsState.NO_ADDRESS)
    found = resolve(host)
    if found.error:
        return DnsCheck(host, DnsState.FAILED, record, found, wildcard)
    if address.is_ip:
        wanted = ipaddress.ip_address(address.address)
        hit = any(ipaddress.ip_address(a) == wanted for a in found.addresses)
    else:
        hit = address.address.rstrip(".").lower() in found.cnames
    if hit:
        state = DnsState.READY
    elif found.found:
        state = DnsState.ELSEWHERE
    else:
        state = DnsState.MISSING
    return DnsCheck(host, state, record, found, wildcard)
