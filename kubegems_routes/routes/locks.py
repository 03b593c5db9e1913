"""Host claims on one ingress class are checked and written one at a time.

Two tenants saving the same host at once would both pass the check (each reads
the cluster before the other has written) and both get an Ingress. Holding a
lock per (cluster, ingress class) from the check until the transaction ends
makes the second wait, then see the first's Ingress.
"""

from __future__ import annotations

import hashlib

from django.db import connection


def lock_ingress_class(cluster_id: int, ingress_class: str) -> None:
    """Inside transaction.atomic(): hold the class's lock until the transaction ends."""
    if connection.vendor == "sqlite":
        return  # BEGIN IMMEDIATE (settings.py) already runs writing transactions one at a time
    digest = hashlib.sha256(f"kubegems-routes/{cluster_id}/{ingress_class}".encode()).digest()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(digest[:8], "big", signed=True)])
