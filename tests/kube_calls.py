"""Count the cluster calls a piece of code makes: the console logs each one at DEBUG (kube/client.py)."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

from kubegems_routes.kube.client import calls_log


class _Recorder(logging.Handler):
    def __init__(self, calls: list[tuple[str, str]]) -> None:
        super().__init__(logging.DEBUG)
        self.calls = calls
        self.thread = threading.get_ident()

    def emit(self, record: logging.LogRecord) -> None:
        # The calling thread's only: not those of the watch-fed caches' threads, whose
        # watches reconnect whenever they like.
        if record.thread == self.thread:
            self.calls.append(record.kube_call)  # type: ignore[attr-defined]


@contextlib.contextmanager
def record_calls() -> Iterator[list[tuple[str, str]]]:
    """The (method, path) of each cluster call this thread makes meanwhile."""
    calls: list[tuple[str, str]] = []
    recorder = _Recorder(calls)
    level, propagate = calls_log.level, calls_log.propagate
    calls_log.addHandler(recorder)
    calls_log.setLevel(logging.DEBUG)
    calls_log.propagate = False  # counted here, not printed into the test's log
    try:
        yield calls
    finally:
        calls_log.removeHandler(recorder)
        calls_log.setLevel(level)
        calls_log.propagate = propagate
