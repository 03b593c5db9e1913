"""kube/silence.py: a server that let a call time out is refused for a while (1 s, doubling to 15 s), then tried
by one caller; an answer or a refused connection ends it."""

from __future__ import annotations

from kubegems_routes.kube.silence import Silences


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_server_that_never_timed_out_is_always_asked():
    silences = Silences(clock=Clock())
    assert silences.refuse("https://a") is None
    silences.answered("https://a")
    assert silences.refuse("https://a") is None and not silences.silent("https://a")


def test_a_silent_server_is_refused_until_the_hold_passes_then_one_caller_tries():
    clock = Clock()
    silences = Silences(first=1, cap=15, clock=clock)
    silences.timed_out("https://a")
    clock.now += 0.5
    assert silences.refuse("https://a") == 0.5  # seconds it has been silent
    assert silences.refuse("https://b") is None  # other servers are not concerned
    clock.now += 0.5
    assert silences.refuse("https://a") is None  # this caller tries again...
    assert silences.refuse("https://a") == 1  # ...and the others are refused while it does
    silences.answered("https://a")
    assert silences.refuse("https://a") is None and not silences.silent("https://a")


def test_each_timeout_in_a_row_doubles_the_hold_up_to_the_cap():
    clock = Clock()
    silences = Silences(first=1, cap=15, clock=clock)
    silences.timed_out("https://a")
    holds = []
    for _ in range(6):
        waited = 0.0
        while silences.refuse("https://a") is not None:
            clock.now += 0.25
            waited += 0.25
        holds.append(waited)
        clock.now += 3  # the try waited out its connect timeout
        silences.timed_out("https://a")
    assert holds == [1, 2, 4, 8, 15, 15]


def test_a_refused_connection_ends_a_silence():
    clock = Clock()
    silences = Silences(clock=clock)
    silences.timed_out("https://a")
    silences.answered("https://a")  # what kube/client.py calls for a refused connection
    assert silences.refuse("https://a") is None
