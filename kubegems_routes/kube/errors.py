"""The project's own exceptions for cluster calls; callers never see kubernetes' types."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Cause:
    """One field-level reason the API server gave (``field`` is its path, e.g. spec.rules[0].host)."""

    field: str
    message: str
    reason: str = ""


@dataclass
class KubeError(Exception):
    message: str
    status: int = 0
    causes: list[Cause] = field(default_factory=list)

    def __str__(self) -> str:
        return self.message


class NotFound(KubeError):
    pass


class AlreadyExists(KubeError):
    pass


class Conflict(KubeError):
    """The object changed since it was read (stale resourceVersion)."""


class Invalid(KubeError):
    """422: the API server refused the object; ``causes`` say which fields."""


class Forbidden(KubeError):
    pass


class Unreachable(KubeError):
    """No answer within the timeouts, or the connection failed."""
