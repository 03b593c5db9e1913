"""Why a route may not answer: what the route's page already read, as findings in the order to look at them.

Pure: no cluster, no resolver. The order is the order in which the causes hide
each other: a route the gateway does not serve answers 404 whatever its
backends; a backend with no ready endpoint answers 503 whatever DNS says; DNS
decides whether clients reach the gateway at all; a certificate that does not
name the host fails only HTTPS clients. The Test button (routes/probing.py)
comes after them, on the page. Each finding says what to do next.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from django.utils.translation import gettext as _

from kubegems_routes.routes.backends import BackendHealth, Health
from kubegems_routes.routes.dns import DnsCheck, DnsState
from kubegems_routes.routes.drift import Sync
from kubegems_routes.routes.gateway_status import GatewayStatus, Verdict
from kubegems_routes.routes.models import Route
from kubegems_routes.routes.tls import TlsState


class Cause(enum.StrEnum):
    ROUTE = "route"  # the gateway does not serve the route
    BACKEND = "backend"  # it serves it, and nothing behind it answers
    DNS = "dns"  # clients do not reach the gateway
    CERTIFICATE = "certificate"  # HTTPS clients refuse the certificate


class Severity(enum.StrEnum):
    BLOCKING = "danger"  # requests fail
    WARNING = "warning"  # some requests fail, or they may
    NOTE = "secondary"  # could not be checked


@dataclass(frozen=True)
class Finding:
    cause: Cause
    severity: Severity
    what: str
    next_step: str


@dataclass(frozen=True)
class Facts:
    """What the route's page read, for ``findings``."""

    route: Route
    kind: str  # Ingress, HTTPRoute, GRPCRoute
    sync: str  # drift.Sync
    status: GatewayStatus | None
    backends: list[BackendHealth]
    dns: DnsCheck | None
    tls: str  # tls.TlsState
    can_write: bool


def findings(facts: Facts) -> list[Finding]:
    """Every finding, in the order to look at them."""
    return [
        *_route_findings(facts),
        *_backend_findings(facts),
        *_dns_findings(facts),
        *_certificate_findings(facts),
    ]


def _by_an_editor(facts: Facts, step: str) -> str:
    if facts.can_write:
        return step
    return _("%(step)s (someone who may edit this environment's routes can do that.)") % {"step": step}


def _route_findings(facts: Facts) -> list[Finding]:
    kind, status = facts.kind, facts.status
    if facts.sync == Sync.MISSING:
        return [
            Finding(
                Cause.ROUTE,
                Severity.BLOCKING,
                _("The route's %(kind)s is missing in the cluster: the gateway has nothing to serve.") % {"kind": kind},
                _by_an_editor(facts, _("Re-apply the route: it writes the %(kind)s again.") % {"kind": kind}),
            )
        ]
    if facts.sync == Sync.UNKNOWN and status is None:
        return []  # the cluster did not answer: the page says so above
    gateway = facts.route.gateway
    if status is None or status.verdict == Verdict.PENDING:
        if gateway.is_gateway_api:
            where = _("Gateway %(gateway)s") % {"gateway": f"{gateway.gateway_namespace}/{gateway.gateway_name}"}
        else:
            where = _("ingress class %(class)s") % {"class": gateway.ingress_class}
        said = f" ({status.reason}: {status.message})" if status is not None and status.reason else ""
        return [
            Finding(
                Cause.ROUTE,
                Severity.WARNING,
                _("No controller has taken the route yet%(said)s.") % {"said": said},
                _(
                    "Wait a few seconds and reload; if it stays so, ask a platform admin whether a controller "
                    "serves %(where)s."
                )
                % {"where": where},
            )
        ]
    if status.verdict == Verdict.REJECTED:
        return [
            Finding(
                Cause.ROUTE,
                Severity.BLOCKING,
                _("The gateway refused the route: %(reason)s: %(message)s")
                % {"reason": status.reason, "message": status.message},
                _by_an_editor(
                    facts,
                    _("Change what the message names (often an annotation, the host or the listener) and save."),
                ),
            )
        ]
    if status.verdict == Verdict.WARNINGS:
        return [
            Finding(
                Cause.ROUTE,
                Severity.WARNING,
                _("The gateway serves the route only in part: %(reason)s: %(message)s")
                % {"reason": status.reason, "message": status.message},
                _("Fix what the message names; the parts it names do not answer until then."),
            )
        ]
    return []


def _backend_findings(facts: Facts) -> list[Finding]:
    found = []
    for health in facts.backends:
        backend = f"{health.service}:{health.port}"
        if health.state == Health.NONE_READY:
            found.append(
                Finding(
                    Cause.BACKEND,
                    Severity.BLOCKING,
                    _("No ready endpoint behind %(backend)s (%(counts)s): the gateway answers 502 or 503.")
                    % {"backend": backend, "counts": health.summary},
                    _(
                        "Scale the workload behind Service %(service)s up, or find why its Pods are not ready "
                        "(kubectl -n %(namespace)s get pods; describe one for its readiness probe)."
                    )
                    % {"service": health.service, "namespace": facts.route.environment.namespace},
                )
            )
        elif health.state == Health.NO_SERVICE:
            found.append(
                Finding(
                    Cause.BACKEND,
                    Severity.BLOCKING,
                    _("%(problem)s: the gateway has no backend for its paths.") % {"problem": health.summary},
                    _by_an_editor(
                        facts,
                        _("Create Service %(service)s, or edit the route to send its paths to a Service that exists.")
                        % {"service": health.service},
                    ),
                )
            )
        elif health.state == Health.NO_PORT:
            found.append(
                Finding(
                    Cause.BACKEND,
                    Severity.BLOCKING,
                    _("%(problem)s: the gateway has no backend for its paths.") % {"problem": health.summary},
                    _by_an_editor(facts, _("Edit the route to use one of the Service's ports, or add the port.")),
                )
            )
    return found


def _dns_findings(facts: Facts) -> list[Finding]:
    check = facts.dns
    if check is None:
        return []
    if check.state == DnsState.MISSING:
        step = _("Create the record %(record)s where the domain's DNS is kept.") % {"record": check.record}
        if check.wildcard_record:
            step = _("%(step)s Or one record for the gateway's whole domain: %(record)s.") % {
                "step": step,
                "record": check.wildcard_record,
            }
        return [
            Finding(
                Cause.DNS,
                Severity.BLOCKING,
                _("%(host)s has no DNS record yet: clients cannot find the gateway.") % {"host": check.host},
                step,
            )
        ]
    if check.state == DnsState.ELSEWHERE:
        return [
            Finding(
                Cause.DNS,
                Severity.BLOCKING,
                _("%(host)s points elsewhere (%(found)s), not to the gateway.")
                % {"host": check.host, "found": check.found},
                _("Change its record to %(record)s; DNS caches may keep the old answer for its TTL.")
                % {"record": check.record},
            )
        ]
    if check.state == DnsState.NO_ADDRESS:
        return [
            Finding(
                Cause.DNS,
                Severity.NOTE,
                _("The gateway's address is not known, so DNS cannot be checked."),
                _("Ask a platform admin to set the gateway's address or name its controller's Service."),
            )
        ]
    if check.state == DnsState.FAILED:
        return [Finding(Cause.DNS, Severity.NOTE, check.summary, _("Reload the page in a moment."))]
    return []


def _certificate_findings(facts: Facts) -> list[Finding]:
    route = facts.route
    if facts.tls == TlsState.MISSING:
        return [
            Finding(
                Cause.CERTIFICATE,
                Severity.BLOCKING,
                _("TLS secret %(secret)s does not exist: %(host)s is not served over HTTPS.")
                % {"secret": route.tls_secret, "host": route.host},
                _by_an_editor(
                    facts,
                    _("Create the Secret in namespace %(namespace)s, or choose another TLS secret for the route.")
                    % {"namespace": route.environment.namespace},
                ),
            )
        ]
    if facts.tls == TlsState.UNCOVERED:
        return [
            Finding(
                Cause.CERTIFICATE,
                Severity.BLOCKING,
                _("The certificate in %(secret)s does not name %(host)s: clients refuse it.")
                % {"secret": route.tls_secret, "host": route.host},
                _by_an_editor(facts, _("Choose a TLS secret whose certificate names the host, or renew this one.")),
            )
        ]
    if facts.tls == TlsState.WAITING:
        return [
            Finding(
                Cause.CERTIFICATE,
                Severity.WARNING,
                _("cert-manager has not written a certificate for %(host)s yet.") % {"host": route.host},
                _("Wait a minute; if it stays so, see the Certificate's state on this page."),
            )
        ]
    return []
