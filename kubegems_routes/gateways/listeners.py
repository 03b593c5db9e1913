"""Which certificate a Gateway API gateway's HTTPS listener serves, read from its Gateway object.

On a Gateway API gateway the certificate belongs to the Gateway's listener
(``tls.certificateRefs``), not to the route. ``tls_listeners`` is pure: it
picks the gateway's HTTPS listener (or every HTTPS/TLS listener when the
gateway names none) out of a Gateway manifest. ``read_listeners`` does the
reads for the admin page: the Gateway, then whether each referenced Secret
exists, from a metadata-only list by name (the secret picker's permission);
a Secret's data is never read. Whether the controller could use the
certificate is its listener's ``ResolvedRefs`` condition, which needs no
permission on Secrets at all.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from kubegems_routes.gateways.models import Gateway
from kubegems_routes.kube.conditions import Condition, read_conditions
from kubegems_routes.kube.errors import Forbidden, KubeError, NotFound

logger = logging.getLogger(__name__)

TLS_PROTOCOLS = frozenset({"HTTPS", "TLS"})
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


@dataclass(frozen=True)
class CertificateRef:
    kind: str
    group: str
    namespace: str
    name: str
    # Whether the Secret exists: None when not known (not a Secret, not allowed to look, not looked).
    exists: bool | None = None

    @property
    def is_secret(self) -> bool:
        return self.kind == "Secret" and self.group in ("", "core")


@dataclass(frozen=True)
class Listener:
    name: str
    protocol: str
    port: int | None
    hostname: str  # "" matches every host
    tls_mode: str  # Terminate or Passthrough; "" without TLS
    certificate_refs: tuple[CertificateRef, ...]
    routes_from: str  # allowedRoutes.namespaces.from: Same, All or Selector
    routes_selector: str  # the label selector when Selector, as text
    route_kinds: tuple[str, ...]  # allowedRoutes.kinds; empty: what the protocol allows
    conditions: tuple[Condition, ...]  # status.listeners[].conditions, as the controller wrote them
    attached_routes: int | None


def _selector_text(selector: object) -> str:
    if not isinstance(selector, dict):
        return ""
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expression in selector.get("matchExpressions") or []:
        if isinstance(expression, dict):
            values = ",".join(str(v) for v in expression.get("values") or [])
            parts.append(f"{expression.get('key', '')} {expression.get('operator', '')} ({values})".strip())
    return ", ".join(parts)


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _listener(raw: dict[str, Any], gateway_namespace: str, status: dict[str, Any]) -> Listener:
    protocol = str(raw.get("protocol", ""))
    tls = _mapping(raw.get("tls"))
    refs = tuple(
        CertificateRef(
            kind=str(ref.get("kind") or "Secret"),
            group=str(ref.get("group") or ""),
            namespace=str(ref.get("namespace") or gateway_namespace),
            name=str(ref.get("name", "")),
        )
        for ref in tls.get("certificateRefs") or []
        if isinstance(ref, dict)
    )
    allowed = _mapping(raw.get("allowedRoutes"))
    namespaces = _mapping(allowed.get("namespaces"))
    kinds = tuple(str(k.get("kind", "")) for k in allowed.get("kinds") or [] if isinstance(k, dict))
    attached = status.get("attachedRoutes")
    port = raw.get("port")
    return Listener(
        name=str(raw.get("name", "")),
        protocol=protocol,
        port=port if isinstance(port, int) else None,
        hostname=str(raw.get("hostname") or ""),
        tls_mode=str(tls.get("mode") or "Terminate") if protocol in TLS_PROTOCOLS or tls else "",
        certificate_refs=refs,
        routes_from=str(namespaces.get("from") or "Same"),
        routes_selector=_selector_text(namespaces.get("selector")),
        route_kinds=kinds,
        conditions=read_conditions(status.get("conditions")),
        attached_routes=attached if isinstance(attached, int) else None,
    )


def tls_listeners(gateway: dict[str, Any], listener_name: str = "") -> list[Listener]:
    """The listener named ``listener_name``, or with no name every HTTPS and TLS listener, of a Gateway manifest."""
    namespace = str((gateway.get("metadata") or {}).get("namespace", ""))
    statuses = {
        str(s.get("name", "")): s for s in (gateway.get("status") or {}).get("listeners") or [] if isinstance(s, dict)
    }
    listeners = [
        _listener(raw, namespace, statuses.get(str(raw.get("name", "")), {}))
        for raw in (gateway.get("spec") or {}).get("listeners") or []
        if isinstance(raw, dict)
    ]
    if listener_name:
        return [item for item in listeners if item.name == listener_name]
    return [item for item in listeners if item.protocol in TLS_PROTOCOLS]


def listener_names(gateway: dict[str, Any]) -> list[str]:
    return [
        str(raw.get("name", "")) for raw in (gateway.get("spec") or {}).get("listeners") or [] if isinstance(raw, dict)
    ]


@dataclass(frozen=True)
class ListenerReport:
    """What the admin page shows: the listeners, or why they could not be read, and notes on the Secrets."""

    listeners: list[Listener]
    error: str = ""
    note: str = ""  # e.g. why the Secrets' existence is not shown
    others: tuple[str, ...] = ()  # the Gateway's listener names, when the one named is not among them


def read_listeners(gateway: Gateway) -> ListenerReport:
    """The gateway's HTTPS listener(s) from its Gateway object; a readable message instead of any cluster error."""
    where = f"{gateway.gateway_namespace}/{gateway.gateway_name}"
    try:
        client = gateway.cluster.client()
        found = client.get_gateway(gateway.gateway_namespace, gateway.gateway_name)
    except NotFound:
        return ListenerReport(
            [],
            error=_(
                "Gateway %(gateway)s does not exist in cluster %(cluster)s (or Gateway API is not installed there)."
            )
            % {"gateway": where, "cluster": gateway.cluster},
        )
    except Forbidden as exc:
        return ListenerReport(
            [], error=_("The console may not read Gateway %(gateway)s: %(error)s") % {"gateway": where, "error": exc}
        )
    except KubeError as exc:
        logger.warning("reading Gateway %s failed: %s", where, exc.message)
        return ListenerReport(
            [],
            error=_("Cluster %(cluster)s cannot be reached right now: %(error)s")
            % {"cluster": gateway.cluster, "error": exc},
        )
    listeners = tls_listeners(found, gateway.https_listener)
    if gateway.https_listener and not listeners:
        return ListenerReport([], others=tuple(listener_names(found)))
    if not settings.SECRET_PICKER:
        note = _("Whether the Secrets exist is not looked up: the console lists no Secrets (KGR_SECRET_PICKER=false).")
        return ListenerReport(listeners, note=note)
    checked, note = [], ""
    for listener in listeners:
        refs = []
        for ref in listener.certificate_refs:
            if ref.is_secret and _DNS_SUBDOMAIN.fullmatch(ref.name) and not note:
                try:
                    ref = replace(ref, exists=client.secret_exists(ref.namespace, ref.name))
                except Forbidden:
                    note = _(
                        "The console may not list Secrets in namespace %(namespace)s, so whether they exist is not "
                        "shown; the listener's ResolvedRefs condition says whether the controller found them."
                    ) % {"namespace": ref.namespace}
                except KubeError as exc:
                    note = _("Whether the Secrets exist could not be read: %(error)s") % {"error": exc}
            refs.append(ref)
        checked.append(replace(listener, certificate_refs=tuple(refs)))
    return ListenerReport(checked, note=note)
