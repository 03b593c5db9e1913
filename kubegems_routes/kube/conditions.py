"""Conditions as Kubernetes objects carry them in their status (Gateway API's routes, Gateways, listeners).

Pure: what the controller wrote, read defensively (any field may be missing or of the wrong type).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

ACCEPTED = "Accepted"
RESOLVED_REFS = "ResolvedRefs"
# The two conditions every Gateway API implementation must set come first; any others follow in the order written.
_FIRST = (ACCEPTED, RESOLVED_REFS)


@dataclass(frozen=True)
class Condition:
    type: str
    status: str  # "True", "False" or "Unknown", as written
    reason: str
    message: str
    last_transition: datetime.datetime | None
    observed_generation: int | None


def _time(value: object) -> datetime.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.datetime.fromisoformat(value)
    except ValueError:
        return None


def generation_of(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _condition(raw: dict[str, Any]) -> Condition:
    return Condition(
        type=str(raw.get("type", "")),
        status=str(raw.get("status", "")),
        reason=str(raw.get("reason", "")),
        message=str(raw.get("message", "")),
        last_transition=_time(raw.get("lastTransitionTime")),
        observed_generation=generation_of(raw.get("observedGeneration")),
    )


def read_conditions(raw: object) -> tuple[Condition, ...]:
    """A Gateway API object's conditions (a route parent's, a listener's), Accepted and ResolvedRefs first."""
    found = [_condition(c) for c in raw if isinstance(c, dict)] if isinstance(raw, list) else []
    return tuple(sorted(found, key=lambda c: _FIRST.index(c.type) if c.type in _FIRST else len(_FIRST)))
