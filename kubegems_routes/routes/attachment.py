"""Does the Gateway admit the route? Gateway API's allowedRoutes, checked before a route is written.

A Gateway usually lives in the platform's namespace and routes attach to it
from tenants' namespaces. Each listener says which routes it admits:
``allowedRoutes.namespaces.from`` (``Same``: only the Gateway's own namespace,
the default; ``All``; ``Selector``: namespaces whose labels match a label
selector) and ``allowedRoutes.kinds`` (empty: what the listener's protocol
supports; here HTTPRoute and GRPCRoute on HTTP and HTTPS listeners). A route
with a sectionName attaches to that listener only; without one, to every
listener that admits it (accepted when at least one does).

``refusal`` is the pure rule; ``attachment_refusal`` reads the Gateway and the
environment's Namespace from the cluster's cache when synced (no API call),
else with one GET each (the Namespace only for a Selector).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.utils.translation import gettext as _

from kubegems_routes.kube.cache import (
    GATEWAY_GROUP,
    GatewayRecord,
    LabelRequirement,
    ListenerRecord,
    slim_gateway,
    slim_namespace,
)
from kubegems_routes.kube.errors import NotFound
from kubegems_routes.routes import manifest
from kubegems_routes.tenancy.models import Environment

# The route kinds a listener admits when its allowedRoutes.kinds is empty, by protocol.
PROTOCOL_KINDS: dict[str, frozenset[str]] = {
    "HTTP": frozenset({manifest.HTTP_ROUTE, manifest.GRPC_ROUTE}),
    "HTTPS": frozenset({manifest.HTTP_ROUTE, manifest.GRPC_ROUTE}),
}


def selector_matches(
    match_labels: Mapping[str, str], match_expressions: tuple[LabelRequirement, ...], labels: Mapping[str, str]
) -> bool:
    """A Kubernetes label selector (matchLabels and matchExpressions, ANDed) against a set of labels."""
    if any(labels.get(key) != value for key, value in match_labels.items()):
        return False
    for requirement in match_expressions:
        present = requirement.key in labels
        value = labels.get(requirement.key)
        if requirement.operator == "In":
            ok = present and value in requirement.values
        elif requirement.operator == "NotIn":
            ok = not present or value not in requirement.values
        elif requirement.operator == "Exists":
            ok = present
        elif requirement.operator == "DoesNotExist":
            ok = not present
        else:  # an operator the API server would have refused: match nothing, as a broken selector should
            ok = False
        if not ok:
            return False
    return True


def admits_namespace(
    listener: ListenerRecord, gateway_namespace: str, namespace: str, labels: Mapping[str, str]
) -> bool:
    if listener.namespaces_from == "All":
        return True
    if listener.namespaces_from == "Selector":
        return selector_matches(dict(listener.match_labels), listener.match_expressions, labels)
    return namespace == gateway_namespace  # Same, the default


def admits_kind(listener: ListenerRecord, kind: str) -> bool:
    if listener.kinds:
        return (GATEWAY_GROUP, kind) in listener.kinds
    return kind in PROTOCOL_KINDS.get(listener.protocol, frozenset())


@dataclass(frozen=True)
class Refusal:
    """Why the Gateway does not admit the route: ``reason`` is one of the constants below."""

    reason: str
    listener: str = ""


NO_LISTENER = "no-listener"  # the sectionName names no listener of the Gateway
NAMESPACE = "namespace"  # the listener does not admit the route's namespace
KIND = "kind"  # the listener does not admit the route's kind
NONE_ADMITS = "none-admits"  # no sectionName, and no listener admits the route


def refusal(
    gateway: GatewayRecord, section: str, kind: str, namespace: str, labels: Mapping[str, str]
) -> Refusal | None:
    """None when the Gateway admits a route of ``kind`` from ``namespace`` (whose labels are ``labels``)
    on listener ``section`` (empty: on any of its listeners)."""
    if section:
        listener = next((x for x in gateway.listeners if x.name == section), None)
        if listener is None:
            return Refusal(NO_LISTENER, section)
        if not admits_namespace(listener, gateway.namespace, namespace, labels):
            return Refusal(NAMESPACE, section)
        if not admits_kind(listener, kind):
            return Refusal(KIND, section)
        return None
    if any(
        admits_namespace(x, gateway.namespace, namespace, labels) and admits_kind(x, kind) for x in gateway.listeners
    ):
        return None
    return Refusal(NONE_ADMITS)


def needs_labels(gateway: GatewayRecord, section: str) -> bool:
    """Whether the answer depends on the Namespace's labels (a Selector on a listener concerned)."""
    return any(x.namespaces_from == "Selector" for x in gateway.listeners if not section or x.name == section)


def message(parent: manifest.GatewayParent, kind: str, namespace: str, found: Refusal | None) -> str:
    """The refusal in words, for the gateway field; '' when the Gateway admits the route."""
    gateway = parent.scope
    if found is None:
        return ""
    if found.reason == NO_LISTENER:
        return _("Gateway %(gateway)s has no listener named %(listener)s; ask a platform admin to fix the gateway.") % {
            "gateway": gateway,
            "listener": found.listener,
        }
    if found.reason == NAMESPACE:
        return _(
            "Listener %(listener)s of Gateway %(gateway)s does not admit routes from namespace %(namespace)s "
            "(its allowedRoutes); ask a platform admin to admit it, or choose another gateway."
        ) % {"listener": found.listener, "gateway": gateway, "namespace": namespace}
    if found.reason == KIND:
        return _("Listener %(listener)s of Gateway %(gateway)s does not admit %(kind)s routes (its allowedRoutes).") % {
            "listener": found.listener,
            "gateway": gateway,
            "kind": kind,
        }
    return _("No listener of Gateway %(gateway)s admits %(kind)s routes from namespace %(namespace)s.") % {
        "gateway": gateway,
        "kind": kind,
        "namespace": namespace,
    }


def missing_message(parent: manifest.GatewayParent) -> str:
    return _(
        "Gateway %(gateway)s does not exist in the cluster (or Gateway API is not installed there), "
        "so no route can attach to it; ask a platform admin."
    ) % {"gateway": parent.scope}


def attachment_refusal(
    environment: Environment, parent: manifest.GatewayParent, protocol: str, *, cached_only: bool = False
) -> str:
    """Why the Gateway would not admit the route, in words; '' when it does.

    Reads the cluster's cache when its Gateways (and Namespaces, for a
    Selector) are synced. A refusal read from the cache is confirmed with the
    API server before it is given (the cache trails it by milliseconds: a
    Gateway or a label added a moment ago), unless ``cached_only`` (the form's
    live hint, which never calls the cluster and says nothing while the cache
    is not synced). Without a synced cache: one GET of the Gateway, and one of
    the Namespace for a Selector. Raises the client's KubeError when the
    cluster cannot be asked.
    """
    cache = environment.cluster.cache()
    if cache is not None and cache.gateways.synced:
        gateway = cache.gateway(parent.namespace, parent.name)
        section = parent.listener(protocol)
        labels = cache.namespace_labels(environment.namespace) if gateway and needs_labels(gateway, section) else {}
        if labels is not None:
            said = _judged(environment, parent, protocol, gateway, labels)
            if not said or cached_only:
                return said
    if cached_only:
        return ""
    return _judged(environment, parent, protocol, *_read(environment, parent, protocol))


def _read(
    environment: Environment, parent: manifest.GatewayParent, protocol: str
) -> tuple[GatewayRecord | None, Mapping[str, str]]:
    """The Gateway and, when a Selector concerns the route, the Namespace's labels, from the API server."""
    client = environment.cluster.client()
    try:
        gateway = slim_gateway(client.get_gateway(parent.namespace, parent.name))
    except NotFound:
        return None, {}
    if not needs_labels(gateway, parent.listener(protocol)):
        return gateway, {}
    try:
        return gateway, dict(slim_namespace(client.get_namespace(environment.namespace)).labels)
    except NotFound:
        return gateway, {}


def _judged(
    environment: Environment,
    parent: manifest.GatewayParent,
    protocol: str,
    gateway: GatewayRecord | None,
    labels: Mapping[str, str],
) -> str:
    if gateway is None:
        return missing_message(parent)
    kind = manifest.object_kind(protocol, gateway_api=True)
    namespace = environment.namespace
    return message(parent, kind, namespace, refusal(gateway, parent.listener(protocol), kind, namespace, labels))
