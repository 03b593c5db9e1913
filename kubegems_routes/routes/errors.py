"""Why a route could not be saved, in the route's own terms, each error knowing where it belongs.

The services raise these; the views put ``problems()`` on the form in one loop. Nothing here knows about
forms, and nothing outside ``kube/`` knows about the client's errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar


@dataclass(frozen=True)
class FieldProblem:
    """One reason tied to a field of the route: ``row`` is the path row for path fields."""

    # name, gateway, host, tls_secret, tls_source, switch_to, annotations, or a path field: path, path_type,
    # service, port; None: the form as a whole.
    field: str | None
    message: str
    row: int | None = None


@dataclass
class RouteError(Exception):
    message: str = ""
    detail: str = ""  # what the API server said: for the log and for staff, never for tenants

    # The form field this kind of error belongs on; None: the form as a whole.
    form_field: ClassVar[str | None] = None

    def __str__(self) -> str:
        return self.message

    def problems(self) -> list[FieldProblem]:
        """Where the error goes on the form: one problem or several, each on its field (and row)."""
        return [FieldProblem(self.form_field, self.message)]


@dataclass
class _OnFields(RouteError):
    """An error whose reasons the raiser tied to fields itself (``on_fields``); the message stands for them all."""

    on_fields: list[FieldProblem] = field(default_factory=list)

    def problems(self) -> list[FieldProblem]:
        return self.on_fields or super().problems()


@dataclass
class NameTaken(RouteError):
    """A route or an Ingress of this name already exists in the environment's namespace."""

    form_field = "name"


@dataclass
class HostTaken(_OnFields):
    """The host (or one of its paths) is served already: on the host field, or on the path rows it concerns."""

    form_field = "host"


@dataclass
class HostNotAllowed(RouteError):
    """The host is outside the gateway's domains, or in a domain granted to another tenant."""

    form_field = "host"


@dataclass
class CertificateConflict(RouteError):
    """The Secret cert-manager would write the route's certificate into is another's (a route's, or a Secret
    cert-manager did not issue for this route): it would be overwritten."""

    form_field = "tls_source"


@dataclass
class StaleEdit(RouteError):
    """The Ingress changed since the edit started; nothing was written. ``diff`` is empty when it was deleted."""

    diff: str = ""


@dataclass
class IngressMissing(RouteError):
    """The route's Ingress is gone from the cluster: re-apply the route to re-create it."""


@dataclass
class NotAdmitted(RouteError):
    """The Gateway API Gateway is missing, or its listener's allowedRoutes do not admit the route."""

    form_field = "gateway"


@dataclass
class KindSwitch(RouteError):
    """An edit would turn the route into another kind of object (Ingress, HTTPRoute, GRPCRoute) that the
    user has not confirmed: the old object would be deleted and a new one created."""

    form_field = "switch_to"


@dataclass
class RefusedByCluster(_OnFields):
    """The API server refused the object (422), or a port name does not resolve; ``on_fields`` are the causes
    tied to a field (the message alone when none is)."""


@dataclass
class ClusterUnavailable(RouteError):
    """The cluster could not be asked."""


@dataclass
class SwitchFailed(ClusterUnavailable):
    """A confirmed switch of kind created the new object, but the old one could not be deleted: the new
    one was taken back (or, if even that failed, the message says both exist)."""


@dataclass
class NotImportable(RouteError):
    """The Ingress uses something a route cannot express; the message says what."""


@dataclass
class NotRevertible(_OnFields):
    """A version's values can no longer be saved (its gateway is gone, or the form's checks refuse them
    now); ``on_fields`` are the form's reasons, each in words."""
