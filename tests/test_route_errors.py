"""Route errors know where they belong on the form; cluster failures of a save become route errors."""

from __future__ import annotations

import pytest
from django.db import IntegrityError

from kubegems_routes.kube.errors import AlreadyExists, Cause, Conflict, Invalid, NotFound, Unreachable
from kubegems_routes.routes import manifest
from kubegems_routes.routes.errors import (
    CertificateConflict,
    ClusterUnavailable,
    FieldProblem,
    HostNotAllowed,
    HostTaken,
    IngressMissing,
    KindSwitch,
    NameTaken,
    NotAdmitted,
    RefusedByCluster,
    StaleEdit,
)
from kubegems_routes.routes.refusals import save_refusal

BACKENDS = (
    manifest.Backend(path="/", path_type="Prefix", service="web", port="http"),
    manifest.Backend(path="/api", path_type="Prefix", service="api", port="8080"),
    manifest.Backend(path="/v2", path_type="Prefix", service="web", port="http"),
)


@pytest.mark.parametrize(
    ("error", "field"),
    [
        (NameTaken("taken"), "name"),
        (HostNotAllowed("outside"), "host"),
        (HostTaken("served"), "host"),
        (CertificateConflict("theirs"), "tls_source"),
        (NotAdmitted("not admitted"), "gateway"),
        (KindSwitch("confirm"), "switch_to"),
        (StaleEdit("changed"), None),
        (IngressMissing("gone"), None),
        (ClusterUnavailable("down", detail="dial tcp"), None),
        (RefusedByCluster("refused"), None),
    ],
)
def test_each_error_names_the_field_it_belongs_on(error, field):
    assert error.problems() == [FieldProblem(field, error.message)]


def test_an_error_tied_to_fields_by_its_raiser_goes_there_only():
    problems = [FieldProblem("path", "served twice", 1), FieldProblem("host", "another tenant's")]
    assert HostTaken("served", on_fields=problems).problems() == problems


def _refusal(exc):
    return save_refusal(exc, name="web", namespace="team-a", backends=BACKENDS, stale_diff=lambda: "the diff")


def test_a_port_name_the_service_lacks_lands_on_every_row_naming_it():
    error = _refusal(manifest.UnresolvedPort("web", "http"))
    assert isinstance(error, RefusedByCluster)
    assert [(p.field, p.row) for p in error.problems()] == [("port", 0), ("port", 2)]
    assert "web" in error.message and "http" in error.message


def test_causes_of_a_422_land_on_their_fields_and_rows():
    exc = Invalid(
        "Ingress is invalid",
        422,
        [Cause("spec.rules[0].host", "bad host"), Cause("spec.rules[0].http.paths[1].path", "bad path")],
    )
    error = _refusal(exc)
    assert isinstance(error, RefusedByCluster)
    assert error.problems() == [FieldProblem("host", "bad host"), FieldProblem("path", "bad path", 1)]


def test_a_422_without_field_causes_is_said_for_the_whole_form():
    error = _refusal(Invalid("admission webhook denied it", 422))
    assert [p.field for p in error.problems()] == [None]
    assert "admission webhook denied it" in error.message


@pytest.mark.parametrize(
    ("exc", "kind", "field"),
    [
        (AlreadyExists("exists", 409), NameTaken, "name"),
        (IntegrityError("unique"), NameTaken, "name"),
        (NotFound("gone", 404), IngressMissing, None),
        (Unreachable("dial tcp 127.0.0.1:6443: connection refused"), ClusterUnavailable, None),
    ],
)
def test_cluster_failures_become_route_errors(exc, kind, field):
    error = _refusal(exc)
    assert type(error) is kind
    assert [p.field for p in error.problems()] == [field]


def test_the_api_servers_words_are_kept_for_staff_not_in_the_message():
    error = _refusal(Unreachable("dial tcp 127.0.0.1:6443: connection refused"))
    assert error.detail == "dial tcp 127.0.0.1:6443: connection refused"
    assert "127.0.0.1" not in error.message


def test_a_stale_edit_carries_the_diff_and_says_what_to_do():
    error = _refusal(Conflict("the object has been modified", 409))
    assert isinstance(error, StaleEdit)
    assert error.diff == "the diff"
    assert "reload the route" in error.message
