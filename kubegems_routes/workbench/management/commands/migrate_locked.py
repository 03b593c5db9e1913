"""`migrate`, one replica at a time.

Every replica's init container runs this. On PostgreSQL the first takes a
session advisory lock and migrates; the others wait on the lock (a replica
waits for the migrations this way, never starting on an old schema) and then
find nothing left to apply. On SQLite there is one process and no lock.
"""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

# Any constant shared by every replica; "kgr" + "migr" in ASCII.
LOCK_KEY = 0x6B67_7200_6D69_6772


class Command(BaseCommand):
    help = "Apply migrations, holding a database lock so concurrent replicas migrate one at a time."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--noinput", "--no-input", action="store_false", dest="interactive")

    def handle(self, *args: Any, interactive: bool, **options: Any) -> None:
        verbosity = options.get("verbosity", 1)
        if connection.vendor != "postgresql":
            call_command("migrate", interactive=interactive, verbosity=verbosity)
            return
        with connection.cursor() as cursor:
            if verbosity:
                self.stdout.write("Waiting for the migration lock...")
            cursor.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
            try:
                call_command("migrate", interactive=interactive, verbosity=verbosity)
            finally:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
