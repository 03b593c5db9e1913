"""kube/silence.py: a server that let a call time out is refused for a while, then tried by one caller."""

from __future__ import annotations

from kubegems_routes.kube.silence import Silences


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_server_that_never_timed_out_is_always_asked():
    silences = Silences(hold=15, clock=Clock())
    assert silences.refuse("https://a") is None
    silences.answered("https://a")
    assert silences.refuse("https://a") is None and not silences.silent("https://a")


def test_a_silent_server_is_refused_until_the_hold_passes_then_one_caller_tries():
    clock = Clock()
    silences = Silences(hold=15, clock=clock)
    silences.timed_out("https://a")
    clock.now += 4
    assert silences.refuse("https://a") == 4  # seconds since it timed out
    assert silences.refuse("https://b") is None  # other servers are not concerned
    clock.now += 11
    assert silences.refuse("https://a") is None  # this caller tries again...
    assert silences.refuse("https://a") == 0  # ...and the others are refused while it does
    silences.answered("https://a")
    assert silences.refuse("https://a") is None and not silences.silent("https://a")


def test_a_failed_retry_holds_the_server_again():
    clock = Clock()
    silences = Silences(hold=15, clock=clock)
    silences.timed_out("https://a")
    clock.now += 15
    assert silences.refuse("https://a") is None
    clock.now += 3  # the retry waited out its connect timeout
    silences.timed_out("https://a")
    clock.now += 14
    assert silences.refuse("https://a") == 14
