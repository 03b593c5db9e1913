"""A cluster that does not answer, in words for tenants; the API server's own text goes to the log."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from django.utils.translation import gettext as _

from kubegems_routes.kube.errors import KubeError
from kubegems_routes.routes.errors import ClusterUnavailable

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def cluster_errors(what: str) -> Iterator[None]:
    """Turn any KubeError raised inside into ClusterUnavailable (``what``: the step, for the log)."""
    try:
        yield
    except KubeError as exc:
        logger.warning("cluster call failed while %s: %s", what, exc.message)
        raise ClusterUnavailable(
            _("The cluster cannot be reached or did not answer; nothing was changed. Try again in a moment."),
            detail=exc.message,
        ) from exc
