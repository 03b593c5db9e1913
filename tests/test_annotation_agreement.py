"""The form and the real NGINX Ingress Controller agree on nginx.org/* values (issue 24's "done when").

Every edge value of tests/test_annotation_values.py is written, one Ingress per annotation and value, all in
one go, to the real controller of the data plane. None the form accepts may be Rejected; and each the form
refuses is Rejected too, except where the controller only ignores a bad value (IGNORED), so the form is no
stricter than the controller.
"""

from __future__ import annotations

import time
import uuid

from kubegems_routes.controlplane.objects import ensure_namespace
from kubegems_routes.dataplane.server import DataPlane
from kubegems_routes.kube.client import KubeClient
from kubegems_routes.routes import annotation_values as av
from kubegems_routes.routes.manifest import Backend
from tests.helpers import ingress
from tests.test_annotation_values import EDGE_VALUES

CONTROLLER = "nginx-ingress-controller"
BACKENDS = (Backend(path="/", service="web", port="80"), Backend(path="/api", service="api", port="80"))
# What a companion annotation needs beside it (the form checks them against the object's other annotations).
COMPANIONS = {
    "nginx.org/hsts-max-age": {"nginx.org/hsts": "true"},
    "nginx.org/hsts-include-subdomains": {"nginx.org/hsts": "true"},
    "nginx.org/hsts-behind-proxy": {"nginx.org/hsts": "true"},
    "nginx.org/basic-auth-realm": {"nginx.org/basic-auth-secret": "htpasswd"},
    "nginx.org/proxy-redirect-from": {"nginx.org/proxy-redirect-to": "/"},
    "nginx.org/proxy-redirect-to": {"nginx.org/proxy-redirect-from": "http://upstream/"},
}
# A minion without its master is valid, but the controller says nothing of it until a master exists.
SILENT = {("nginx.org/mergeable-ingress-type", "minion")}
# Parsed outside validateIngressAnnotations: a bad value is ignored with an error in the controller's log.
IGNORED = {key for key in av.CHECKS if key.startswith("nginx.org/limit-req-") and key != "nginx.org/limit-req-key"}
IGNORED.add("nginx.org/ssl-prefer-server-ciphers")


def _cases() -> list[tuple[str, str, dict[str, str], bool]]:
    """(key, value, the Ingress's annotations, whether the form accepts it) for every edge value."""
    services = frozenset({"web", "api"})
    cases = []
    for key, (good, bad) in EDGE_VALUES.items():
        for value in good + bad:
            annotations = {**COMPANIONS.get(key, {}), key: value}
            context = av.Context(services, annotations)
            accepted = all(av.check(k, v, context) is None for k, v in annotations.items())
            cases.append((key, value, annotations, accepted))
    return cases


def test_the_controller_never_rejects_a_value_the_form_accepts(data_plane: DataPlane, kube: KubeClient):
    namespace = f"t-{uuid.uuid4().hex[:10]}"
    ensure_namespace(kube, namespace)
    data_plane.publish_backends(namespace)
    cases = _cases()
    assert len(cases) > 200
    names: dict[str, tuple[str, str]] = {}
    accepted = set()
    for index, (key, value, wanted, ok) in enumerate(cases):
        name = f"a{index}"
        names[name] = (key, value)
        if ok:
            accepted.add(name)
        manifest = ingress(
            namespace,
            name=name,
            host=f"{name}.agreement.example.com",
            ingress_class=data_plane.ingress_class,
            backends=BACKENDS,
            annotations=wanted,
        )
        kube.create_ingress(namespace, manifest)

    waiting = {n for n, case in names.items() if case not in SILENT}
    words: dict[str, list[dict]] = {}
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        words = {}
        for event in kube.list_events_from(namespace, "Ingress", CONTROLLER):
            words.setdefault(event["involvedObject"]["name"], []).append(event)
        if waiting <= set(words):
            break
        time.sleep(1)
    time.sleep(2)  # a late word on the silent ones
    for event in kube.list_events_from(namespace, "Ingress", CONTROLLER):
        words.setdefault(event["involvedObject"]["name"], []).append(event)

    rejected = {n for n, events in words.items() if any(e["reason"] == "Rejected" for e in events)}
    messages = {names[n]: e["message"] for n in rejected & accepted for e in words[n] if e["reason"] == "Rejected"}
    assert messages == {}, "the form accepted values the controller rejects"
    stricter = sorted(names[n] for n in set(names) - accepted - rejected if names[n][0] not in IGNORED)
    assert stricter == [], "the form refused values the controller accepts"
    unheard = sorted(names[n] for n in waiting - set(words))
    assert unheard == [], "the controller said nothing of these"
