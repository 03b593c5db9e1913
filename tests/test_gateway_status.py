"""The gateway's verdict from the controller's Events and from Gateway API status.parents (pure).

The real NGINX controller is in test_traffic.py; status.parents written through the API server in
test_gateway_api_status.py."""

from __future__ import annotations

import datetime

from kubegems_routes.routes.gateway_status import (
    GatewayStatus,
    Verdict,
    gateway_status,
    parent_statuses,
    route_status,
    statuses_by_name,
)


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


# -- Gateway API: status.parents ------------------------------------------------------------


def _cond(type_: str, status: str, reason: str, message: str = "", generation: int | None = 1) -> dict:
    raw = {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": "2026-12-01T10:00:00Z",
    }
    if generation is not None:
        raw["observedGeneration"] = generation
    return raw


def _route(*parents: dict, generation: int = 1) -> dict:
    return {
        "kind": "HTTPRoute",
        "metadata": {"name": "shop", "namespace": "team", "generation": generation},
        "status": {"parents": list(parents)},
    }


def _parent(*conditions: dict, section: str = "https", controller: str = "example.com/gateway", **ref) -> dict:
    return {
        "parentRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "edge", **ref}
        | ({"sectionName": section} if section else {}),
        "controllerName": controller,
        "conditions": list(conditions),
    }


def test_accepted_with_resolved_refs_is_serving():
    route = _route(_parent(_cond("ResolvedRefs", "True", "ResolvedRefs"), _cond("Accepted", "True", "Accepted")))
    assert route_status(route) == GatewayStatus(Verdict.SERVING, "", "")
    (parent,) = parent_statuses(route)
    # The route's namespace stands in for a parentRef without one; Accepted comes first, whatever the order written.
    assert (parent.namespace, parent.name, parent.section, parent.controller) == (
        "team",
        "edge",
        "https",
        "example.com/gateway",
    )
    assert [c.type for c in parent.conditions] == ["Accepted", "ResolvedRefs"]
    assert parent.accepted is not None and parent.accepted.last_transition == datetime.datetime(
        2026, 12, 1, 10, tzinfo=datetime.UTC
    )
    assert not parent.stale


def test_a_listener_that_does_not_allow_the_route_rejects_it_with_its_reason():
    refused = _cond("Accepted", "False", "NotAllowedByListeners", "no listener admits namespace team")
    route = _route(_parent(refused, _cond("ResolvedRefs", "True", "ResolvedRefs"), namespace="platform"))
    status = route_status(route)
    assert status is not None
    assert (status.verdict, status.reason, status.message) == (
        Verdict.REJECTED,
        "NotAllowedByListeners",
        "no listener admits namespace team",
    )
    assert status.condition is not None and status.condition.type == "Accepted"
    assert parent_statuses(route)[0].namespace == "platform"


def test_an_unresolved_backend_is_accepted_with_warnings():
    route = _route(
        _parent(
            _cond("Accepted", "True", "Accepted"),
            _cond("ResolvedRefs", "False", "BackendNotFound", "Service team/gone not found"),
        )
    )
    status = route_status(route)
    assert status is not None and (status.verdict, status.reason) == (Verdict.WARNINGS, "BackendNotFound")


def test_no_status_or_only_pending_conditions_mean_no_controller_accepted_it():
    assert route_status(None) is None
    assert route_status({"metadata": {"name": "shop"}}) == GatewayStatus(Verdict.PENDING, "", "")
    assert parent_statuses({"metadata": {"name": "shop"}, "status": {}}) == []
    waiting = _route(_parent(_cond("Accepted", "Unknown", "Pending", "Waiting for controller")))
    status = route_status(waiting)
    assert status is not None and (status.verdict, status.reason) == (Verdict.PENDING, "Pending")


def test_the_worst_parent_wins_and_other_conditions_are_kept():
    ok = _parent(_cond("Accepted", "True", "Accepted"), _cond("ResolvedRefs", "True", "ResolvedRefs"))
    refused = _parent(
        _cond("PartiallyInvalid", "True", "UnsupportedValue"),
        _cond("Accepted", "False", "NoMatchingListenerHostname"),
        controller="other.example.com/gateway",
        section="",
    )
    route = _route(ok, refused)
    status = route_status(route)
    assert status is not None and (status.verdict, status.reason) == (Verdict.REJECTED, "NoMatchingListenerHostname")
    second = parent_statuses(route)[1]
    assert second.section == "" and [c.type for c in second.conditions] == ["Accepted", "PartiallyInvalid"]


def test_conditions_of_an_earlier_generation_are_marked_stale():
    route = _route(_parent(_cond("Accepted", "True", "Accepted", generation=1)), generation=2)
    assert parent_statuses(route)[0].stale
    unmarked = _route(_parent(_cond("Accepted", "True", "Accepted", generation=None)), generation=2)
    assert not parent_statuses(unmarked)[0].stale


def test_malformed_status_entries_do_not_break_the_page():
    route = {
        "metadata": {"name": "shop", "namespace": "team", "generation": "x"},
        "status": {"parents": ["junk", {"conditions": ["junk", {"type": "Accepted", "lastTransitionTime": "never"}]}]},
    }
    (parent,) = parent_statuses(route)
    assert parent.name == "" and parent.accepted is not None and parent.accepted.last_transition is None
    status = route_status(route)
    assert status is not None and status.verdict == Verdict.PENDING
