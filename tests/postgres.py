"""A throwaway PostgreSQL server for the tests, from Debian's `postgresql` package.

initdb into a temporary directory and run `postgres` on a free loopback port
as a child of the test run. PostgreSQL refuses to run as root, so under root
it runs as the `postgres` user the package creates. It dies with the test run
(PR_SET_PDEATHSIG), and durability is off: the data is thrown away anyway.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

from kubegems_routes.controlplane.server import free_port

INSTALL = "PostgreSQL is needed for the PostgreSQL test run: run `make setup` (apt-get install postgresql)."


class PostgresError(RuntimeError):
    pass


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise PostgresError(f"no initdb under /usr/lib/postgresql/*/bin. {INSTALL}")
    return Path(found[-1]).parent


def _die_with_parent() -> None:
    # SIGQUIT: PostgreSQL's immediate shutdown, which also stops its backends.
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGQUIT)


class Postgres:
    def __init__(self) -> None:
        self.bin = _bin_dir()
        self.port = free_port()
        self.host = "127.0.0.1"
        self.user = "postgres"  # the superuser initdb makes; trust authentication on loopback only
        self.workdir = Path(tempfile.mkdtemp(prefix="kubegems-routes-pg-"))
        self.process: subprocess.Popen[bytes] | None = None
        self._run_as: str | None = None
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresError(f"running as root and there is no `postgres` user. {INSTALL}") from None
            self._run_as = "postgres"
            shutil.chown(self.workdir, "postgres", "postgres")

    def start(self) -> None:
        data = self.workdir / "data"
        log = self.workdir / "postgres.log"
        initdb_args = ["-D", str(data), "-U", self.user, "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]
        initdb = subprocess.run(
            [str(self.bin / "initdb"), *initdb_args],
            user=self._run_as,
            capture_output=True,
            text=True,
            cwd=self.workdir,
        )
        if initdb.returncode != 0:
            raise PostgresError(f"initdb failed: {initdb.stdout}{initdb.stderr}")
        settings = {
            "listen_addresses": self.host,
            "port": str(self.port),
            "unix_socket_directories": str(self.workdir),
            "max_connections": "200",
            # Throwaway data: no durability, so the tests do not wait on the disk.
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
        }
        args = [str(self.bin / "postgres"), "-D", str(data)]
        for name, value in settings.items():
            args += ["-c", f"{name}={value}"]
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                args,
                user=self._run_as,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                preexec_fn=_die_with_parent,
            )
        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(self.url_parts("postgres"), connect_timeout=2):
                    return
            except psycopg.OperationalError as exc:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise PostgresError(f"postgres did not start: {exc}\n{log.read_text()}") from None
                time.sleep(0.1)

    def url_parts(self, dbname: str) -> str:
        return f"host={self.host} port={self.port} user={self.user} dbname={dbname}"

    def url(self, dbname: str) -> str:
        return f"postgres://{self.user}@{self.host}:{self.port}/{dbname}"

    def create_database(self, prefix: str = "t") -> str:
        """A fresh, empty database; returns its URL."""
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.url_parts("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)
