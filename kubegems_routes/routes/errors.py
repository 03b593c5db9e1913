"""Why a route could not be saved, in the route's own terms.

The services raise these; the views put them on the form. Nothing here knows
about forms, and nothing outside ``kube/`` knows about the client's errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kubegems_routes.routes.ownership import HostConflict


@dataclass(frozen=True)
class FieldProblem:
    """One reason tied to a field of the route: ``row`` is the path row for path fields."""

    field: str  # name, gateway, host, tls_secret, annotations, or a path field: path, path_type, service, port
    message: str
    row: int | None = None


@dataclass
class RouteError(Exception):
    message: str = ""

    def __str__(self) -> str:
        return self.message


@dataclass
class NameTaken(RouteError):
    """A route or an Ingress of this name already exists in the environment's namespace."""


@dataclass
class HostTaken(RouteError):
    conflicts: list[HostConflict] = field(default_factory=list)


@dataclass
class HostNotAllowed(RouteError):
    """The host is outside the gateway's domains, or in a domain granted to another tenant."""


@dataclass
class CertificateConflict(RouteError):
    """The Secret cert-manager would write the route's certificate into is another's (a route's, or a Secret
    cert-manager did not issue for this route): it would be overwritten."""


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


@dataclass
class KindSwitch(RouteError):
    """An edit would turn the route into another kind of object (Ingress, HTTPRoute, GRPCRoute) that the
    user has not confirmed: the old object would be deleted and a new one created."""


@dataclass
class RefusedByCluster(RouteError):
    """The API server refused the object (422); ``problems`` are the causes it tied to a field."""

    problems: list[FieldProblem] = field(default_factory=list)


@dataclass
class ClusterUnavailable(RouteError):
    """The cluster could not be asked; ``detail`` is for the log and for staff, not for tenants."""

    detail: str = ""


@dataclass
class SwitchFailed(ClusterUnavailable):
    """A confirmed switch of kind created the new object, but the old one could not be deleted: the new
    one was taken back (or, if even that failed, the message says both exist)."""


@dataclass
class NotImportable(RouteError):
    """The Ingress uses something a route cannot express; the message says what."""
