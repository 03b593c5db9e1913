"""API servers that went silent: calls to them fail at once for a while instead of each waiting out a timeout.

The console's requests share one process's threads (gunicorn.conf.py). A
cluster whose API server does not answer (packets dropped, a listener that
never speaks TLS, a server that takes requests and never answers) would hold
a thread for the whole timeout on every call, and enough of them would leave
the pages of the other clusters waiting for a free thread. After a call to a
server times out, calls to it fail at once with Unreachable for a while: 1 s
after the first timeout, doubling with each timeout in a row up to ``cap``
(15 s). Then one call is let through to try again, and the others keep
failing fast while it does. Any answer ends the silence, and so does a
refused connection (a server that is down fails at once anyway, and a
restarted one is asked at once).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

FIRST_HOLD = 1.0
CAP = 15.0


class Silences:
    """Servers (by URL) that let a call time out, and until when calls to them fail fast."""

    def __init__(
        self, first: float = FIRST_HOLD, cap: float = CAP, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.first = first
        self.cap = cap
        self._clock = clock
        self._silent: dict[str, tuple[float, float, float]] = {}  # server: (since, until, hold)
        self._lock = threading.Lock()

    def refuse(self, server: str) -> float | None:
        """None when a call to the server may go ahead; else the seconds it has been silent. Once the hold has
        passed, one caller is let through to try again, and the others are refused while it does."""
        with self._lock:
            found = self._silent.get(server)
            if found is None:
                return None
            since, until, hold = found
            now = self._clock()
            if now < until:
                return now - since
            self._silent[server] = (since, now + hold, hold)  # until this caller's try has an outcome
            return None

    def timed_out(self, server: str) -> None:
        with self._lock:
            now = self._clock()
            found = self._silent.get(server)
            if found is None:
                self._silent[server] = (now, now + self.first, self.first)
            else:
                since, _until, hold = found
                hold = min(self.cap, hold * 2)
                self._silent[server] = (since, now + hold, hold)

    def answered(self, server: str) -> None:
        """The server answered, or refused the connection: no longer silent."""
        if server in self._silent:  # no lock for the common case: a server that was never silent
            with self._lock:
                self._silent.pop(server, None)

    def silent(self, server: str) -> bool:
        with self._lock:
            return server in self._silent

    def clear(self) -> None:
        with self._lock:
            self._silent.clear()


silences = Silences()
