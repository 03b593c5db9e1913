"""The readiness of the Certificate cert-manager makes for a route that asks for one.

cert-manager's ingress-shim names the Certificate after the Ingress's
``spec.tls[].secretName``; its ``Ready`` condition says whether the Secret
holds a valid certificate. Where cert-manager's CRDs are not installed, the
API server does not serve ``cert-manager.io/v1`` and the console says nothing
about Certificates (no panel, no error).
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

from kubegems_routes.kube.client import Manifest
from kubegems_routes.kube.errors import KubeError, NotFound
from kubegems_routes.tenancy.models import Environment

logger = logging.getLogger(__name__)


class CertificateState(enum.StrEnum):
    READY = "ready"
    NOT_READY = "not-ready"
    ABSENT = "absent"  # not created yet: cert-manager makes it from the Ingress


@dataclass(frozen=True)
class CertificateStatus:
    name: str
    state: CertificateState
    reason: str = ""
    message: str = ""


def certificate_status(name: str, answer: Manifest | KubeError | None) -> CertificateStatus | None:
    """What the detail page says of the Certificate, given the API server's answer to the lookup by name.

    None (say nothing): cert-manager.io/v1 is not served (NotFound on the list: its CRDs are not
    installed), or the cluster could not tell (any other error).
    """
    if isinstance(answer, KubeError):
        return None
    if answer is None:
        return CertificateStatus(name, CertificateState.ABSENT)
    conditions = (answer.get("status") or {}).get("conditions") or []
    ready = next((c for c in conditions if c.get("type") == "Ready"), None)
    if ready is not None and ready.get("status") == "True":
        return CertificateStatus(name, CertificateState.READY, str(ready.get("reason") or ""))
    if ready is None:  # cert-manager has not looked at it yet
        return CertificateStatus(name, CertificateState.NOT_READY)
    return CertificateStatus(
        name, CertificateState.NOT_READY, str(ready.get("reason") or ""), str(ready.get("message") or "")
    )


def read_certificate(environment: Environment, name: str) -> CertificateStatus | None:
    """One call: the Certificate named ``name`` in the environment's namespace (see ``certificate_status``)."""
    answer: Manifest | KubeError | None
    try:
        answer = environment.cluster.client().find_certificate(environment.namespace, name)
    except NotFound as exc:
        answer = exc  # cert-manager's CRDs are not installed in this cluster
    except KubeError as exc:
        logger.warning("reading Certificate %s/%s failed: %s", environment.namespace, name, exc.message)
        answer = exc
    return certificate_status(name, answer)
