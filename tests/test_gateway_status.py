"""The gateway's verdict from the controller's Events (pure; the real controller is in test_traffic.py)."""

from __future__ import annotations

from kubegems_routes.routes.gateway_status import Verdict, gateway_status, statuses_by_name


def _event(reason: str, version: int, *, name: str = "shop", uid: str = "u1", at: str = "2026-11-28T03:00:00Z"):
    return {
        "metadata": {"resourceVersion": str(version)},
        "involvedObject": {"kind": "Ingress", "name": name, "uid": uid},
        "source": {"component": "nginx-ingress-controller"},
        "reason": reason,
        "message": f"{reason} message",
        "lastTimestamp": at,
    }


def test_no_event_from_the_controller_means_no_verdict():
    other = {**_event("AddedOrUpdated", 1), "source": {"component": "kubectl"}}
    assert gateway_status([]) is None
    assert gateway_status([other]) is None


def test_latest_event_wins_even_within_the_same_second():
    events = [_event("AddedOrUpdated", 12), _event("AddedOrUpdatedWithWarning", 9)]
    status = gateway_status(events)
    assert status is not None and status.verdict == Verdict.SERVING
    later = [*events, _event("Rejected", 5, at="2026-11-28T03:00:01Z")]
    status = gateway_status(later)
    assert status is not None and (status.verdict, status.message) == (Verdict.REJECTED, "Rejected message")


def test_events_of_an_earlier_ingress_of_the_same_name_are_ignored():
    events = [_event("Rejected", 20, uid="old"), _event("AddedOrUpdatedWithWarning", 3, uid="new")]
    status = gateway_status(events, uid="new")
    assert status is not None and status.verdict == Verdict.WARNINGS


def test_statuses_by_name_groups_a_namespace():
    events = [_event("AddedOrUpdated", 1, name="a"), _event("Rejected", 2, name="b")]
    assert {n: s.verdict for n, s in statuses_by_name(events).items()} == {"a": "serving", "b": "rejected"}
