"""Host claims on one ingress class are written one at a time, across processes and replicas."""

from __future__ import annotations

import threading
import time

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from kubegems_routes.routes.locks import lock_ingress_class


@pytest.mark.django_db(transaction=True)
def test_a_second_claim_on_the_same_class_waits_for_the_first_to_commit(postgres):
    if postgres is None:
        # SQLite: every writing transaction already holds the database's one write lock from BEGIN.
        assert settings.DATABASES["default"]["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
        with CaptureQueriesContext(connection) as queries, transaction.atomic():
            lock_ingress_class(1, "public")
        assert [q for q in queries.captured_queries if "lock" in q["sql"].lower()] == []
        return

    held, release = threading.Event(), threading.Event()
    events: list[str] = []

    def first() -> None:
        with transaction.atomic():
            lock_ingress_class(1, "public")
            held.set()
            release.wait(10)
            events.append("first commits")
        connection.close()

    def second(ingress_class: str) -> None:
        with transaction.atomic():
            lock_ingress_class(1, ingress_class)
            events.append(f"second holds {ingress_class}")
        connection.close()

    holder = threading.Thread(target=first)
    holder.start()
    assert held.wait(10)
    elsewhere = threading.Thread(target=second, args=("other",))  # another class does not wait
    elsewhere.start()
    elsewhere.join(10)
    assert events == ["second holds other"]
    same = threading.Thread(target=second, args=("public",))
    same.start()
    time.sleep(0.5)
    assert events == ["second holds other"], "the second claim on the class must wait"
    release.set()
    holder.join(10)
    same.join(10)
    assert events == ["second holds other", "first commits", "second holds public"]
