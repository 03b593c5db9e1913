"""cert-manager, pure parts: the Ingress of a route asking for a certificate, the Certificate's readiness
read from the API server's answer, the CRD files' check. No cluster, no database."""

from __future__ import annotations

import pytest

from kubegems_routes.controlplane import certmanager
from kubegems_routes.controlplane.build import BuildError
from kubegems_routes.kube.client import SecretMeta
from kubegems_routes.kube.errors import Forbidden, NotFound, Unreachable
from kubegems_routes.lib.validators import validate_dns_subdomain
from kubegems_routes.routes import manifest
from kubegems_routes.routes.certificates import CertificateState, CertificateStatus, certificate_status
from kubegems_routes.routes.tls import TlsState, tls_state


def _spec(protocol: str = "https", **overrides) -> manifest.RouteSpec:
    values = {
        "name": "shop",
        "namespace": "ns",
        "host": "shop.example.com",
        "protocol": protocol,
        "ingress_class": "public-acme",
        "backends": (manifest.Backend(path="/", service="web", port="80"),),
        "tls_secret": manifest.tls_secret_for("shop", protocol, manifest.TLS_FROM_CERT_MANAGER, "typed-tls"),
        "cluster_issuer": "letsencrypt",
        "gateway_annotations": {"nginx.org/proxy-read-timeout": "60s"},
    }
    values.update(overrides)
    return manifest.RouteSpec(**values)


@pytest.mark.parametrize("protocol", ["https", "wss", "grpc"])
def test_a_route_asking_for_a_certificate_names_the_issuer_and_its_own_secret(protocol):
    ingress = manifest.build_ingress(_spec(protocol))
    assert ingress["metadata"]["annotations"][manifest.CLUSTER_ISSUER] == "letsencrypt"
    assert ingress["metadata"]["annotations"]["nginx.org/proxy-read-timeout"] == "60s"
    assert ingress["spec"]["tls"] == [{"hosts": ["shop.example.com"], "secretName": "shop-tls"}]


@pytest.mark.parametrize("protocol", ["http", "ws"])
def test_a_plain_protocol_asks_for_no_certificate(protocol):
    ingress = manifest.build_ingress(_spec(protocol, tls_secret=""))
    assert manifest.CLUSTER_ISSUER not in ingress["metadata"]["annotations"]
    assert "tls" not in ingress["spec"]
    assert manifest.tls_secret_for("shop", protocol, manifest.TLS_FROM_CERT_MANAGER, "typed-tls") == ""


def test_the_secret_is_the_chosen_one_unless_cert_manager_writes_it():
    assert manifest.tls_secret_for("shop", "https", manifest.TLS_FROM_SECRET, "typed-tls") == "typed-tls"
    assert manifest.tls_secret_for("shop", "wss", manifest.TLS_FROM_CERT_MANAGER, "typed-tls") == "shop-tls"


def test_the_secret_named_after_the_longest_route_name_is_a_valid_name():
    name = "a" * 63  # a route's name is at most 63 characters (it is also a label value)
    validate_dns_subdomain(manifest.certificate_secret_name(name))
    validate_dns_subdomain(manifest.certificate_secret_name("shop.v2"))


def test_the_issuer_comes_after_the_gateway_defaults_and_before_the_users_own():
    spec = _spec(gateway_annotations={manifest.CLUSTER_ISSUER: "admin-default"}, annotations={"x.io/a": "1"})
    assert manifest.effective_annotations(spec) == {manifest.CLUSTER_ISSUER: "letsencrypt", "x.io/a": "1"}
    assert list(manifest.certificate_annotations(spec)) == [manifest.CLUSTER_ISSUER]


def test_a_gateway_api_route_never_gets_the_issuer_annotation():
    parent = manifest.GatewayParent(namespace="platform", name="edge", https_listener="https")
    spec = _spec(parent=parent, tls_secret="")
    assert manifest.certificate_annotations(spec) == {}
    assert manifest.CLUSTER_ISSUER not in manifest.build(spec)["metadata"].get("annotations", {})


def _certificate(conditions: list[dict] | None) -> dict:
    body: dict = {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": "shop-tls"}}
    if conditions is not None:
        body["status"] = {"conditions": conditions}
    return body


def test_a_ready_certificate_is_ready():
    answer = _certificate([{"type": "Ready", "status": "True", "reason": "Ready", "message": "up to date"}])
    assert certificate_status("shop-tls", answer) == CertificateStatus("shop-tls", CertificateState.READY, "Ready")


def test_a_certificate_not_ready_says_why():
    answer = _certificate(
        [
            {"type": "Issuing", "status": "True", "reason": "DoesNotExist"},
            {"type": "Ready", "status": "False", "reason": "DoesNotExist", "message": "Issuing certificate"},
        ]
    )
    found = certificate_status("shop-tls", answer)
    assert found == CertificateStatus("shop-tls", CertificateState.NOT_READY, "DoesNotExist", "Issuing certificate")


def test_a_certificate_cert_manager_has_not_looked_at_is_not_ready_without_a_reason():
    found = certificate_status("shop-tls", _certificate(None))
    assert found == CertificateStatus("shop-tls", CertificateState.NOT_READY)


def test_no_certificate_yet_is_absent():
    assert certificate_status("shop-tls", None) == CertificateStatus("shop-tls", CertificateState.ABSENT)


@pytest.mark.parametrize(
    "error",
    [
        NotFound("the server could not find the requested resource", 404),  # cert-manager.io/v1 not served
        Forbidden("certificates.cert-manager.io is forbidden", 403),
        Unreachable("the cluster's API server cannot be reached", 0),
    ],
)
def test_when_the_cluster_cannot_tell_nothing_is_said(error):
    assert certificate_status("shop-tls", error) is None


def test_a_secret_cert_manager_writes_is_awaited_never_missing():
    issued = {"shop-tls": SecretMeta("shop-tls", ("old.example.com",), "shop-tls")}
    assert tls_state({}, "shop-tls", "shop.example.com", certificate=True) == TlsState.WAITING
    assert tls_state(issued, "shop-tls", "shop.example.com", certificate=True) == TlsState.WAITING
    assert tls_state(issued, "shop-tls", "old.example.com", certificate=True) == TlsState.OK
    assert tls_state({}, "shop-tls", "shop.example.com") == TlsState.MISSING
    assert tls_state(None, "shop-tls", "shop.example.com", certificate=True) == TlsState.OK  # cannot tell


def test_a_secrets_certificate_name_is_read_from_its_annotations():
    meta = SecretMeta.of(
        {
            "name": "shop-tls",
            "annotations": {"cert-manager.io/certificate-name": "shop-tls", "cert-manager.io/alt-names": "a.io"},
        }
    )
    assert meta == SecretMeta("shop-tls", ("a.io",), "shop-tls")
    assert SecretMeta.of({"name": "demo-tls"}).certificate == ""


def test_crd_files_are_named_as_controller_gen_names_them():
    assert certmanager.crd_file_name("certificates.cert-manager.io") == "cert-manager.io_certificates.yaml"
    assert certmanager.crd_file_name("clusterissuers.cert-manager.io") == "cert-manager.io_clusterissuers.yaml"


def test_a_helm_template_is_told_from_a_plain_crd(tmp_path):
    plain = "---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
    template = (
        '{{- if .Values.crds.enabled }}\napiVersion: apiextensions.k8s.io/v1\n  labels:\n    {{- include "x" . }}\n'
    )
    assert certmanager.template_lines(plain) == []
    assert certmanager.template_lines(template) == [1, 4]
    path = tmp_path / "cert-manager.io_certificates.yaml"
    path.write_text(template)
    with pytest.raises(BuildError, match=r"is a template.*lines 1, 4"):
        certmanager.check_plain(path)
