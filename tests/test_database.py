"""The run uses the database engine it says it does (`make test` runs SQLite, then PostgreSQL)."""

import pytest
from django.db import connection

from tests.conftest import TEST_DATABASE

pytestmark = pytest.mark.django_db


def test_the_suite_runs_on_the_chosen_database():
    expected = {"sqlite": "sqlite", "postgres": "postgresql"}[TEST_DATABASE]
    assert connection.vendor == expected
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
