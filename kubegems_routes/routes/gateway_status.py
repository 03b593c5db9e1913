"""What the gateway's controller said about a route's Ingress, from its Events. Pure, no I/O.

The NGINX Ingress Controller records an Event on each Ingress it configures:
``AddedOrUpdated`` once nginx serves it, ``AddedOrUpdatedWithWarning`` when it
serves it only in part (a missing TLS Secret: no TLS for the host), and
``Rejected`` (or ``...WithError``) when it refused it. The latest such Event is
the gateway's current word on the route.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True)
class GatewayStatus:
    verdict: Verdict
    reason: str
    message: str


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
