"""What the gateway's controller said about a route, from what the page already read. Pure, no I/O.

Ingress: the NGINX Ingress Controller records an Event on each Ingress it configures:
``AddedOrUpdated`` once nginx serves it, ``AddedOrUpdatedWithWarning`` when it
serves it only in part (a missing TLS Secret: no TLS for the host), and
``Rejected`` (or ``...WithError``) when it refused it. The latest such Event is
the gateway's current word on the route.

Gateway API (HTTPRoute, GRPCRoute): each controller writes, per parentRef it
handles, an entry in the route's ``status.parents`` with conditions.
``Accepted`` says whether the Gateway (its listeners, their allowedRoutes,
hostnames) took the route; ``ResolvedRefs`` whether its backendRefs resolved
(a missing Service, a port it does not have, a reference across namespaces
without a ReferenceGrant). No entry at all means no controller has looked at
the route yet, or none serves its Gateway.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from kubegems_routes.kube.conditions import ACCEPTED, RESOLVED_REFS, Condition, generation_of, read_conditions

CONTROLLER_COMPONENT = "nginx-ingress-controller"

_REASONS = {
    "AddedOrUpdated": "serving",
    "Updated": "serving",
    "AddedOrUpdatedWithWarning": "warnings",
    "UpdatedWithWarning": "warnings",
    "Rejected": "rejected",
    "AddedOrUpdatedWithError": "rejected",
    "UpdatedWithError": "rejected",
}


class Verdict(enum.StrEnum):
    SERVING = "serving"
    WARNINGS = "warnings"
    REJECTED = "rejected"
    PENDING = "pending"  # Gateway API: no controller has accepted the route yet


@dataclass(frozen=True)
class GatewayStatus:
    verdict: Verdict
    reason: str
    message: str
    condition: Condition | None = None  # Gateway API: the condition the verdict comes from


def _order(event: dict[str, Any]) -> tuple[str, int]:
    # lastTimestamp has whole seconds; the resourceVersion orders Events
    # written in the same second (an Event updated with count+1 gets a new one).
    version = str(event.get("metadata", {}).get("resourceVersion", ""))
    last = str(event.get("lastTimestamp") or event.get("eventTime") or "")
    return last, int(version) if version.isdigit() else 0


def gateway_status(events: list[dict[str, Any]], uid: str | None = None) -> GatewayStatus | None:
    """The controller's latest verdict among ``events`` (of one Ingress), or None if it said nothing yet.

    With ``uid``, Events about an earlier Ingress of the same name are ignored.
    """
    relevant = [
        e
        for e in events
        if e.get("source", {}).get("component") == CONTROLLER_COMPONENT
        and e.get("reason") in _REASONS
        and (uid is None or e.get("involvedObject", {}).get("uid") in (None, "", uid))
    ]
    if not relevant:
        return None
    latest = max(relevant, key=_order)
    return GatewayStatus(Verdict(_REASONS[latest["reason"]]), latest["reason"], str(latest.get("message", "")))


def statuses_by_name(events: list[dict[str, Any]]) -> dict[str, GatewayStatus]:
    """One status per Ingress name, from the Events of a whole namespace."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        grouped.setdefault(event.get("involvedObject", {}).get("name", ""), []).append(event)
    found = {name: gateway_status(group) for name, group in grouped.items()}
    return {name: status for name, status in found.items() if status is not None}


# -- Gateway API: status.parents ----------------------------------------------------------


@dataclass(frozen=True)
class ParentStatus:
    """One entry of status.parents: what one controller says about the route on one parent."""

    namespace: str  # the Gateway's; the route's own when the parentRef names none
    name: str
    section: str  # the listener (sectionName), "" for the whole Gateway
    kind: str
    controller: str
    conditions: tuple[Condition, ...]
    stale: bool  # the conditions describe an earlier generation of the route

    def condition(self, type_: str) -> Condition | None:
        return next((c for c in self.conditions if c.type == type_), None)

    @property
    def accepted(self) -> Condition | None:
        return self.condition(ACCEPTED)

    @property
    def resolved_refs(self) -> Condition | None:
        return self.condition(RESOLVED_REFS)


def parent_statuses(obj: dict[str, Any] | None) -> list[ParentStatus]:
    """The entries of an HTTPRoute's or GRPCRoute's status.parents, conditions Accepted and ResolvedRefs first."""
    if not obj:
        return []
    metadata = obj.get("metadata") or {}
    generation = generation_of(metadata.get("generation"))
    found = []
    for entry in (obj.get("status") or {}).get("parents") or []:
        if not isinstance(entry, dict):
            continue
        ref = entry.get("parentRef")
        ref = ref if isinstance(ref, dict) else {}
        conditions = read_conditions(entry.get("conditions"))
        stale = generation is not None and any(
            c.observed_generation is not None and c.observed_generation < generation for c in conditions
        )
        found.append(
            ParentStatus(
                namespace=str(ref.get("namespace") or metadata.get("namespace", "")),
                name=str(ref.get("name", "")),
                section=str(ref.get("sectionName", "")),
                kind=str(ref.get("kind") or "Gateway"),
                controller=str(entry.get("controllerName", "")),
                conditions=conditions,
                stale=stale,
            )
        )
    return found


def _verdict_of(condition: Condition, verdict: Verdict) -> GatewayStatus:
    return GatewayStatus(verdict, condition.reason, condition.message, condition)


def route_status(obj: dict[str, Any] | None) -> GatewayStatus | None:
    """One word for an HTTPRoute or GRPCRoute, from its status.parents; None when there is no object.

    The worst entry wins: a parent that refuses the route (Accepted=False) makes
    it rejected even if another controller took it; accepted with a reference
    that does not resolve (ResolvedRefs=False) is served with warnings (the
    unresolved backends answer 500); accepted everywhere with its references
    resolved is serving; no entry, or none that says Accepted=True, is pending.
    """
    if obj is None:
        return None
    parents = parent_statuses(obj)
    refused = [p.accepted for p in parents if p.accepted is not None and p.accepted.status == "False"]
    if refused:
        return _verdict_of(refused[0], Verdict.REJECTED)
    accepted = [p for p in parents if p.accepted is not None and p.accepted.status == "True"]
    if not accepted:
        waiting = next((p.accepted for p in parents if p.accepted is not None), None)
        return _verdict_of(waiting, Verdict.PENDING) if waiting else GatewayStatus(Verdict.PENDING, "", "")
    unresolved = [p.resolved_refs for p in parents if p.resolved_refs is not None and p.resolved_refs.status == "False"]
    if unresolved:
        return _verdict_of(unresolved[0], Verdict.WARNINGS)
    return GatewayStatus(Verdict.SERVING, "", "")
