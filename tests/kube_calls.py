"""Count the cluster calls a piece of code makes: the console logs each one at DEBUG (kube/client.py)."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator

from kubegems_routes.kube.client import calls_log


class _Hook(logging.Handler):
    """Calls ``hook(method, path)`` as each cluster call of any thread is about to be sent."""

    def __init__(self, hook: Callable[[str, str], None]) -> None:
        super().__init__(logging.DEBUG)
        self.hook = hook

    def emit(self, record: logging.LogRecord) -> None:
        self.hook(*record.kube_call)  # type: ignore[attr-defined]

    def handle(self, record: logging.LogRecord) -> bool:
        # Not Handler.handle: it swallows exceptions in emit (handleError), and a hook may stop the API server.
        self.emit(record)
        return True


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
def _attached(handler: logging.Handler) -> Iterator[None]:
    level, propagate = calls_log.level, calls_log.propagate
    calls_log.addHandler(handler)
    calls_log.setLevel(logging.DEBUG)
    calls_log.propagate = False  # counted here, not printed into the test's log
    try:
        yield
    finally:
        calls_log.removeHandler(handler)
        calls_log.setLevel(level)
        calls_log.propagate = propagate


@contextlib.contextmanager
def before_each_call(hook: Callable[[str, str], None]) -> Iterator[None]:
    """Run ``hook(method, path)`` before each cluster call meanwhile, of any thread (the caches' watches
    say "WATCH"): to stop the API server at a chosen point of a save."""
    with _attached(_Hook(hook)):
        yield


@contextlib.contextmanager
def record_calls() -> Iterator[list[tuple[str, str]]]:
    """The (method, path) of each cluster call this thread makes meanwhile."""
    calls: list[tuple[str, str]] = []
    with _attached(_Recorder(calls)):
        yield calls
