"""The console as production runs it: production settings, gunicorn with the repository's config, a real port."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from kubegems_routes.controlplane.server import free_port

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "kubegems_routes.wsgi"]


def production_env(workdir: Path, database_url: str, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kubegems_routes.settings",
        "DJANGO_SECRET_KEY": "served-test-secret-key-not-for-production-0123456789",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_SECURE_COOKIES": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database_url,
        "DJANGO_STATIC_ROOT": str(workdir / "static"),
    }
    for name in ("DJANGO_ALLOW_ASYNC_UNSAFE", "DJANGO_SECURE_HSTS_SECONDS", "DJANGO_LOG_FORMAT"):
        env.pop(name, None)
    return {**env, **extra}


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )


@contextmanager
def gunicorn(
    env: dict[str, str], workdir: Path, workers: int | None = None, *extra: str
) -> Iterator[tuple[str, Path, subprocess.Popen[bytes]]]:
    """Serve until the block ends; yields the base URL, the log file (stdout and stderr) and the master process.

    By default with the process model of gunicorn.conf.py (one process, threads); ``extra``: more arguments.
    """
    port = free_port()
    log_path = workdir / f"gunicorn-{port}.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [*GUNICORN, "-b", f"127.0.0.1:{port}", *(["-w", str(workers)] if workers else []), *extra],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited {proc.returncode}:\n{log_path.read_text()}")
            try:
                if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start:\n{log_path.read_text()}")
            time.sleep(0.2)
        yield base, log_path, proc
    finally:
        proc.terminate()
        proc.wait(timeout=40)
