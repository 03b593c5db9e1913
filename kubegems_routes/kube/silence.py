"""API servers that went silent: calls to them fail at once for a while instead of each waiting out a timeout.

The console's requests share one process's threads (gunicorn.conf.py). A
cluster whose API server does not answer (a connect or read timeout: packets
dropped, a listener that never speaks TLS) would hold a thread for the whole
timeout on every call, and enough of them would leave the pages of the other
clusters waiting for a free thread. After a timeout, calls to that server
fail at once with Unreachable for ``hold`` seconds; then one call is let
through to try again (the others keep failing fast while it does). Any
answer from the server, to a page's call or to the cache's watches, ends the
silence. A refused connection fails at once anyway and is not counted.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

HOLD = 15.0


class Silences:
    """Servers (by URL) that let a call time out, and until when calls to them fail fast."""

    def __init__(self, hold: float = HOLD, clock: Callable[[], float] = time.monotonic) -> None:
        self.hold = hold
        self._clock = clock
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def refuse(self, server: str) -> float | None:
        """None when a call to the server may go ahead; else the seconds since it last timed out. Once
        ``hold`` has passed, one caller is let through to try again, and the others are refused while it does."""
        with self._lock:
            until = self._until.get(server)
            if until is None:
                return None
            now = self._clock()
            if now < until:
                return now - (until - self.hold)
            self._until[server] = now + self.hold
            return None

    def timed_out(self, server: str) -> None:
        with self._lock:
            self._until[server] = self._clock() + self.hold

    def answered(self, server: str) -> None:
        if server in self._until:  # no lock for the common case: a server that was never silent
            with self._lock:
                self._until.pop(server, None)

    def silent(self, server: str) -> bool:
        with self._lock:
            return server in self._until

    def clear(self) -> None:
        with self._lock:
            self._until.clear()


silences = Silences()
