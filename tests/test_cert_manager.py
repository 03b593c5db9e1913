"""cert-manager on the real API server: a gateway names a ClusterIssuer, an https, wss or grpc route asks
for a certificate, its Ingress carries the issuer and a Secret named after the route, and the detail
page shows the Certificate's readiness.

cert-manager's CRDs (github.com/cert-manager/cert-manager, cached) are installed into the session's API
server by the ``cert_manager`` fixture. No cert-manager controller runs: the tests create the
Certificate ingress-shim would create and write its status themselves (status subresource).
"""

from __future__ import annotations

import base64
import html
import re
import uuid

import pytest
import yaml
from django.core.exceptions import ValidationError
from django.urls import reverse

from kubegems_routes.controlplane.server import ControlPlane
from kubegems_routes.demo.seed import _self_signed, seed_cluster_objects
from kubegems_routes.gateways.models import Gateway
from kubegems_routes.kube.client import KubeClient
from kubegems_routes.kube.errors import NotFound
from kubegems_routes.routes.lifecycle import reapply_gateway
from kubegems_routes.routes.models import Route
from kubegems_routes.tenancy.models import Cluster, Environment
from tests.helpers import action_url, create_url, ingress, route_data, tenant_gateway
from tests.kube_calls import record_calls

pytestmark = pytest.mark.django_db

ISSUER = "letsencrypt-test"


@pytest.fixture
def issuing(environment) -> Gateway:
    """The tenant's gateway, naming a ClusterIssuer."""
    gateway = tenant_gateway(environment)
    gateway.cluster_issuer = ISSUER
    gateway.save()
    return gateway


def _ask(gateway: Gateway, **overrides: str) -> dict[str, str]:
    """The form as posted when the user chooses cert-manager for an https route."""
    values = {"protocol": "https", "tls_source": "cert-manager", "tls_secret": ""}
    values.update(overrides)
    return route_data(gateway, **values)


def _certificates(namespace: str) -> str:
    return f"/apis/cert-manager.io/v1/namespaces/{namespace}/certificates"


def _make_certificate(kube: KubeClient, namespace: str, name: str, host: str) -> None:
    """What cert-manager's ingress-shim would create from the Ingress."""
    kube.create(
        _certificates(namespace),
        {
            "apiVersion": "cert-manager.io/v1",
            "kind": "Certificate",
            "metadata": {"name": name},
            "spec": {
                "secretName": name,
                "dnsNames": [host],
                "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": ISSUER},
            },
        },
    )


def _set_ready(kube: KubeClient, namespace: str, name: str, status: str, reason: str, message: str) -> None:
    """Write the Ready condition as cert-manager's controller would (the status subresource)."""
    path = f"{_certificates(namespace)}/{name}"
    current = kube.request("GET", path)
    current["status"] = {
        "conditions": [
            {
                "type": "Ready",
                "status": status,
                "reason": reason,
                "message": message,
                "lastTransitionTime": "2026-01-01T00:00:00Z",
            }
        ]
    }
    kube.request("PUT", f"{path}/status", body=current)


def _tls_secret(kube: KubeClient, namespace: str, name: str, annotations: dict[str, str] | None = None) -> None:
    cert, key = _self_signed("*.acme.example.com")
    kube.create(
        f"/api/v1/namespaces/{namespace}/secrets",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "annotations": annotations or {}},
            "type": "kubernetes.io/tls",
            "data": {"tls.crt": base64.b64encode(cert).decode(), "tls.key": base64.b64encode(key).decode()},
        },
    )


def _nothing_written(environment: Environment, kube: KubeClient, name: str = "shop") -> None:
    assert not Route.objects.filter(environment=environment, name=name).exists()
    with pytest.raises(NotFound):
        kube.get_ingress(environment.namespace, name)


# -- the Ingress ---------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["https", "wss", "grpc"])
def test_a_route_asking_for_a_certificate_gets_the_issuer_and_its_own_secret(
    operator_client, environment, issuing, kube, protocol
):
    response = operator_client.post(create_url(environment), _ask(issuing, protocol=protocol), follow=True)
    page = response.content.decode()
    assert "Route shop saved." in page
    assert "cert-manager issues the certificate for shop.acme.example.com into Secret shop-tls" in page
    assert "does not exist in this namespace yet" not in page  # cert-manager is about to create it

    live = kube.get_ingress(environment.namespace, "shop")
    assert live["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == ISSUER
    assert live["spec"]["tls"] == [{"hosts": ["shop.acme.example.com"], "secretName": "shop-tls"}]
    route = Route.objects.get(environment=environment, name="shop")
    assert (route.tls_source, route.tls_secret, route.applied_cluster_issuer) == ("cert-manager", "shop-tls", ISSUER)

    listing = operator_client.get(reverse("routes:list", args=[environment.pk]))
    assert [(str(r.sync), r.tls) for r in listing.context["page"].object_list] == [
        ("in-sync", "waiting-for-cert-manager")
    ]
    body = listing.content.decode()
    assert "waiting for cert-manager" in body and "secret missing" not in body


def test_a_secret_typed_before_choosing_cert_manager_is_not_used(operator_client, environment, issuing, kube):
    response = operator_client.post(create_url(environment), _ask(issuing, tls_secret="Not A Name!"))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert kube.get_ingress(environment.namespace, "shop")["spec"]["tls"][0]["secretName"] == "shop-tls"


def test_an_edit_switches_between_a_secret_and_cert_manager(operator_client, environment, issuing, kube):
    ns = environment.namespace
    data = _ask(issuing, tls_source="secret", tls_secret="demo-tls")
    assert operator_client.post(create_url(environment), data).status_code == 302
    live = kube.get_ingress(ns, "shop")
    assert "cert-manager.io/cluster-issuer" not in live["metadata"].get("annotations", {})
    edit = reverse("routes:edit", args=[environment.pk, "shop"])

    response = operator_client.post(edit, _ask(issuing, tls_secret="demo-tls"))
    assert response.status_code == 302, response.content.decode()[:2000]
    live = kube.get_ingress(ns, "shop")
    assert live["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == ISSUER
    assert live["spec"]["tls"][0]["secretName"] == "shop-tls"

    response = operator_client.post(edit, _ask(issuing, tls_source="secret", tls_secret="demo-tls"))
    assert response.status_code == 302, response.content.decode()[:2000]
    live = kube.get_ingress(ns, "shop")
    assert "cert-manager.io/cluster-issuer" not in live["metadata"].get("annotations", {})
    assert live["spec"]["tls"][0]["secretName"] == "demo-tls"
    route = Route.objects.get(environment=environment, name="shop")
    assert (route.tls_source, route.tls_secret, route.applied_cluster_issuer) == ("secret", "demo-tls", "")


def test_a_plain_route_keeps_no_certificate_choice(operator_client, environment, issuing, kube):
    response = operator_client.post(create_url(environment), _ask(issuing, protocol="http"))
    assert response.status_code == 302, response.content.decode()[:2000]
    live = kube.get_ingress(environment.namespace, "shop")
    assert "tls" not in live["spec"] and "annotations" not in live["metadata"]
    route = Route.objects.get(environment=environment, name="shop")
    assert (route.tls_source, route.tls_secret) == ("secret", "")


# -- refused, on the field concerned, with nothing written ------------------------------


def test_cert_manager_on_a_gateway_without_an_issuer_is_refused_on_the_choice(operator_client, environment, kube):
    response = operator_client.post(create_url(environment), _ask(tenant_gateway(environment)))
    assert response.status_code == 200
    form = response.context["editor"].form
    assert list(form.errors) == ["tls_source"]
    assert "names no cert-manager ClusterIssuer: choose a TLS secret" in form.errors["tls_source"][0]
    assert form["host"].value() == "shop.acme.example.com"  # input kept
    _nothing_written(environment, kube)


def test_the_secret_of_another_route_is_refused_on_the_choice(operator_client, environment, issuing, kube):
    # Route "legacy" serves its host with a Secret that happens to be named as "shop"'s would be.
    _tls_secret(kube, environment.namespace, "shop-tls")
    data = _ask(issuing, name="legacy", host="legacy.acme.example.com", tls_source="secret", tls_secret="shop-tls")
    assert operator_client.post(create_url(environment), data).status_code == 302
    response = operator_client.post(create_url(environment), _ask(issuing))
    assert response.status_code == 200
    errors = response.context["editor"].form.errors
    assert list(errors) == ["tls_source"]
    assert errors["tls_source"][0].startswith("Route legacy uses Secret shop-tls, where cert-manager would write")
    _nothing_written(environment, kube)


def test_a_secret_cert_manager_did_not_issue_for_the_route_is_refused_on_the_choice(
    operator_client, environment, issuing, kube
):
    _tls_secret(kube, environment.namespace, "shop-tls")  # made by hand
    _tls_secret(kube, environment.namespace, "www-tls", {"cert-manager.io/certificate-name": "another-certificate"})
    for name in ("shop", "www"):
        response = operator_client.post(
            create_url(environment), _ask(issuing, name=name, host=f"{name}.acme.example.com")
        )
        assert response.status_code == 200
        errors = response.context["editor"].form.errors
        assert list(errors) == ["tls_source"]
        assert f"Secret {name}-tls already exists and cert-manager did not issue it for this route" in str(errors)
        _nothing_written(environment, kube, name)


def test_a_secret_cert_manager_issued_for_the_route_is_its_own(operator_client, environment, issuing, kube):
    # Left behind by an earlier route of that name, or issued a moment before an edit.
    _tls_secret(kube, environment.namespace, "shop-tls", {"cert-manager.io/certificate-name": "shop-tls"})
    response = operator_client.post(create_url(environment), _ask(issuing))
    assert response.status_code == 302, response.content.decode()[:2000]


def test_the_users_own_issuer_annotation_is_refused_on_its_row(operator_client, environment, issuing, kube):
    for key in ("cert-manager.io/cluster-issuer", "cert-manager.io/issuer"):
        data = _ask(issuing, **{"annotations-0-key": key, "annotations-0-value": "mine"})
        response = operator_client.post(create_url(environment), data)
        assert response.status_code == 200
        editor = response.context["editor"]
        assert editor.form.errors == {}
        assert (
            "The gateway's ClusterIssuer issues this route's certificate"
            in editor.annotations.forms[0].errors["key"][0]
        )
        _nothing_written(environment, kube)
    # With a secret of its own, the annotation is the user's business.
    data = _ask(issuing, tls_source="secret", tls_secret="demo-tls", **{"annotations-0-key": "cert-manager.io/issuer"})
    assert operator_client.post(create_url(environment), data).status_code == 302


# -- the live form ---------------------------------------------------------------------


def test_the_choice_is_offered_on_a_gateway_naming_an_issuer_only(operator_client, environment, issuing):
    fragment = operator_client.post(
        action_url(environment, "secret"), _ask(issuing, tls_source="secret"), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'type="radio"' in fragment and 'name="tls_source" value="cert-manager"' in fragment
    assert f'hx-post="{action_url(environment, "certificate")}"' in fragment
    assert 'type="text" name="tls_secret"' in fragment

    plain = Gateway.objects.create(
        cluster=environment.cluster,
        tenant=environment.project.tenant,
        name="plain",
        ingress_class=f"plain-{environment.namespace}",
        default_domain="*.acme.example.com",
    )
    fragment = operator_client.post(
        action_url(environment, "secret"), _ask(plain), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'type="radio"' not in fragment
    assert '<input type="hidden" name="tls_source" value="secret">' in fragment
    assert 'type="text" name="tls_secret"' in fragment


def test_choosing_cert_manager_swaps_the_secret_for_the_name_cert_manager_writes(operator_client, environment, issuing):
    fragment = operator_client.post(
        action_url(environment, "certificate"), _ask(issuing, tls_secret="typed"), HTTP_HX_REQUEST="true"
    )
    body = fragment.content.decode()
    assert body.lstrip().startswith('<div id="tls-detail"')
    assert 'type="radio"' not in body  # the radios stay where they are, with the focus
    assert '<input type="hidden" name="tls_secret" value="typed">' in body  # kept for a switch back
    assert "<code>shop-tls</code>" in body and f"<code>{ISSUER}</code>" in body
    assert fragment.headers["HX-Trigger-After-Settle"] == '{"refresh-preview": {}}'

    back = operator_client.post(
        action_url(environment, "certificate"),
        _ask(issuing, tls_source="secret", tls_secret="typed"),
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert 'type="text" name="tls_secret" value="typed"' in back and "shop-tls" not in back


def test_the_preview_shows_the_issuer_and_the_secret(operator_client, environment, issuing):
    response = operator_client.post(action_url(environment, "preview"), _ask(issuing), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    shown = re.search(r'<pre [^>]*id="preview-yaml"><code>(.*?)</code></pre>', body, re.S)
    assert shown is not None
    preview = yaml.safe_load(html.unescape(shown.group(1)))
    assert preview["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == ISSUER
    assert preview["spec"]["tls"] == [{"hosts": ["shop.acme.example.com"], "secretName": "shop-tls"}]
    assert "<dt><code>cert-manager.io/cluster-issuer</code></dt>" in body  # among the effective annotations


def test_without_javascript_the_whole_page_follows_the_choice(operator_client, environment, issuing):
    page = operator_client.post(action_url(environment, "certificate"), _ask(issuing)).content.decode()
    assert "<html" in page and 'id="certificate-secret"' in page and "cert-manager.io/cluster-issuer" in page


# -- the detail page: the Certificate's readiness -------------------------------------------


def _detail(client, environment, name="shop"):
    with record_calls() as calls:
        response = client.get(reverse("routes:detail", args=[environment.pk, name]))
    assert response.status_code == 200
    assert len([c for c in calls if "/apis/cert-manager.io/" in c[1]]) == 1  # one call for it, at most
    return response


def test_the_detail_page_shows_the_certificates_readiness(cert_manager, operator_client, environment, issuing, kube):
    ns = environment.namespace
    assert operator_client.post(create_url(environment), _ask(issuing)).status_code == 302

    response = _detail(operator_client, environment)
    assert response.context["certificate"].state == "absent" and response.context["cluster_error"] == ""
    page = response.content.decode()
    assert "not created yet" in page and "waiting for cert-manager" in page and "secret missing" not in page

    _make_certificate(kube, ns, "shop-tls", "shop.acme.example.com")
    response = _detail(operator_client, environment)
    assert response.context["certificate"].state == "not-ready"
    assert "cert-manager has not reported on it yet." in response.content.decode()

    _set_ready(kube, ns, "shop-tls", "False", "DoesNotExist", "Issuing certificate as Secret does not exist")
    response = _detail(operator_client, environment)
    status = response.context["certificate"]
    assert (status.state, status.reason, status.message) == (
        "not-ready",
        "DoesNotExist",
        "Issuing certificate as Secret does not exist",
    )
    page = response.content.decode()
    assert "not ready" in page and "DoesNotExist" in page and "Issuing certificate as Secret does not exist" in page

    _set_ready(kube, ns, "shop-tls", "True", "Ready", "Certificate is up to date and has not expired")
    _tls_secret(
        kube,
        ns,
        "shop-tls",
        {"cert-manager.io/certificate-name": "shop-tls", "cert-manager.io/alt-names": "shop.acme.example.com"},
    )
    response = _detail(operator_client, environment)
    assert response.context["certificate"].state == "ready"
    assert response.context["tls"] == ""  # the Secret exists and covers the host
    page = response.content.decode()
    assert 'id="certificate"' in page and ">ready<" in page and "waiting for cert-manager" not in page


def test_a_route_with_a_secret_of_its_own_reads_no_certificate(cert_manager, operator_client, environment, issuing):
    data = _ask(issuing, tls_source="secret", tls_secret="demo-tls")
    assert operator_client.post(create_url(environment), data).status_code == 302
    with record_calls() as calls:
        response = operator_client.get(reverse("routes:detail", args=[environment.pk, "shop"]))
    assert response.context["certificate"] is None
    assert not [c for c in calls if "/apis/cert-manager.io/" in c[1]]


@pytest.fixture(scope="module")
def plane_without_cert_manager():
    """A cluster whose API server does not serve cert-manager.io (the session's may, once installed)."""
    with ControlPlane() as plane:
        yield plane


@pytest.mark.slow
def test_without_cert_manager_crds_the_page_says_nothing_of_certificates(
    plane_without_cert_manager, operator_client, environment
):
    cluster = Cluster.objects.create(name="bare", kubeconfig=yaml.safe_dump(plane_without_cert_manager.kubeconfig))
    namespace = f"bare-{uuid.uuid4().hex[:8]}"
    seed_cluster_objects(cluster, namespace)
    bare = Environment.objects.create(project=environment.project, cluster=cluster, name="bare", namespace=namespace)
    gateway = Gateway.objects.create(
        cluster=cluster,
        tenant=environment.project.tenant,
        name="public",
        default_domain="*.acme.example.com",
        cluster_issuer=ISSUER,
    )
    # The API server answers 404 for the group itself: not served.
    with pytest.raises(NotFound):
        cluster.client().find_certificate(namespace, "shop-tls")
    assert operator_client.post(create_url(bare), _ask(gateway)).status_code == 302
    response = _detail(operator_client, bare)
    assert response.context["certificate"] is None and response.context["cluster_error"] == ""
    page = response.content.decode()
    assert 'id="certificate"' not in page and "not created yet" not in page
    assert "waiting for cert-manager" in page  # the Secret cert-manager would write is still awaited


# -- the gateway: admin, drift, re-apply, import ---------------------------------------------


def test_a_gateway_api_gateway_cannot_name_an_issuer(environment):
    edge = Gateway(
        cluster=environment.cluster,
        tenant=environment.project.tenant,
        name="edge",
        kind=Gateway.Kind.GATEWAY_API,
        gateway_namespace="platform",
        gateway_name="edge",
        default_domain="*.edge.example.com",
        cluster_issuer=ISSUER,
    )
    with pytest.raises(ValidationError) as refused:
        edge.full_clean()
    assert list(refused.value.message_dict) == ["cluster_issuer"]
    assert "certificate belongs to its HTTPS listener" in refused.value.message_dict["cluster_issuer"][0]


def test_admin_names_an_issuer_and_refuses_a_bad_name_or_removing_one_in_use(
    admin_client, operator_client, environment, issuing
):
    gateway = issuing
    change = reverse("admin:gateways_gateway_change", args=[gateway.pk])
    page = admin_client.get(change).content.decode()
    assert 'name="cluster_issuer"' in page and "ClusterIssuer (cert-manager)" in page
    assert "instead of choosing a TLS secret" in page  # the help text

    data = {
        "cluster": environment.cluster.pk,
        "tenant": environment.project.tenant.pk,
        "name": gateway.name,
        "kind": "ingress",
        "ingress_class": gateway.ingress_class,
        "default_domain": gateway.default_domain,
        "cluster_issuer": "Not_A_Name",
        "http2": "on",
        "annotations-TOTAL_FORMS": "0",
        "annotations-INITIAL_FORMS": "0",
        "annotations-MIN_NUM_FORMS": "0",
        "annotations-MAX_NUM_FORMS": "1000",
    }
    response = admin_client.post(change, data)
    assert response.status_code == 200 and list(response.context["adminform"].form.errors) == ["cluster_issuer"]

    assert operator_client.post(create_url(environment), _ask(gateway)).status_code == 302
    response = admin_client.post(change, {**data, "cluster_issuer": ""})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["cluster_issuer"]
    assert "1 route gets its certificate from this issuer" in errors["cluster_issuer"][0]
    assert Gateway.objects.get(pk=gateway.pk).cluster_issuer == ISSUER

    response = admin_client.post(change, {**data, "cluster_issuer": "letsencrypt-prod"})
    assert response.status_code == 302, response.content.decode()[-2000:]


def test_a_new_issuer_is_a_gateway_change_and_re_applied_to_its_routes(
    operator_client, environment, issuing, kube, operator
):
    assert operator_client.post(create_url(environment), _ask(issuing)).status_code == 302
    issuing.cluster_issuer = "letsencrypt-prod"
    issuing.save()
    detail = operator_client.get(reverse("routes:detail", args=[environment.pk, "shop"]))
    assert detail.context["sync"] == "gateway-changed"  # not "changed outside the console"
    assert "its ClusterIssuer since this route was applied" in detail.content.decode()

    results = reapply_gateway(issuing, operator)
    assert [(r.route.name, r.error) for r in results] == [("shop", "")]
    live = kube.get_ingress(environment.namespace, "shop")
    assert live["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt-prod"
    assert Route.objects.get(environment=environment, name="shop").applied_cluster_issuer == "letsencrypt-prod"
    detail = operator_client.get(reverse("routes:detail", args=[environment.pk, "shop"]))
    assert detail.context["sync"] == "in-sync"


def test_an_ingress_asking_the_gateways_issuer_is_imported_as_asking_for_a_certificate(
    operator_client, environment, issuing, kube
):
    body = ingress(
        environment.namespace,
        name="legacy",
        host="legacy.acme.example.com",
        protocol="https",
        ingress_class=issuing.ingress_class,
        tls_secret="legacy-tls",
        annotations={"cert-manager.io/cluster-issuer": ISSUER},
    )
    kube.create_ingress(environment.namespace, body)
    imported = operator_client.post(reverse("routes:import", args=[environment.pk]), {"name": "legacy"})
    assert imported.status_code == 302
    route = Route.objects.get(environment=environment, name="legacy")
    assert (route.tls_source, route.tls_secret, route.annotations) == ("cert-manager", "legacy-tls", {})
    detail = operator_client.get(reverse("routes:detail", args=[environment.pk, "legacy"]))
    assert detail.context["sync"] == "in-sync"
