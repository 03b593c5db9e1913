"""Validators for Kubernetes names, hosts and annotation keys.

They mirror the API server's own rules (k8s.io/apimachinery validation) so
that most mistakes land on the right form field before any cluster call; the
API server stays the final validator.
"""

from __future__ import annotations

import ipaddress
import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_IANA_SVC_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


def validate_dns_label(value: str) -> None:
    if len(value) > 63 or not DNS1123_LABEL.fullmatch(value):
        raise ValidationError(
            _("Use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit."),
            code="dns_label",
        )


def validate_dns_subdomain(value: str) -> None:
    if len(value) > 253 or not all(DNS1123_LABEL.fullmatch(part) for part in value.split(".")):
        raise ValidationError(
            _("Use lowercase letters, digits, '-' and '.', each part starting and ending with a letter or digit."),
            code="dns_subdomain",
        )


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        return False
    return True


def validate_host(value: str) -> None:
    """A DNS name; a wildcard only as the whole first label (*.example.com); never an IP."""
    if _is_ip(value):
        raise ValidationError(_("Use a domain name, not an IP address."), code="ip_host")
    labels = value.split(".")
    if labels[0] == "*":
        if len(labels) < 2:
            raise ValidationError(_("A wildcard host needs a domain after '*.'."), code="wildcard")
        labels = labels[1:]
    if len(value) > 253 or not all(DNS1123_LABEL.fullmatch(label) for label in labels):
        raise ValidationError(
            _("Enter a valid host such as app.example.com or *.example.com (lowercase, no port)."),
            code="host",
        )


def validate_default_domain(value: str) -> None:
    """A gateway's default domain: a DNS name in which at least one label is exactly '*'."""
    labels = value.split(".")
    if "*" not in labels:
        raise ValidationError(_("One label must be exactly '*', for example *.kubegems.io."), code="no_wildcard")
    if len(labels) < 2 or not all(label == "*" or DNS1123_LABEL.fullmatch(label) for label in labels):
        raise ValidationError(
            _("Enter a domain such as *.kubegems.io: lowercase labels separated by dots."),
            code="domain",
        )


def validate_allowed_domain(value: str) -> None:
    """A domain a gateway serves: a DNS name whose labels may be '*' (one label each), e.g. *.example.com."""
    labels = value.split(".")
    if (
        len(value) > 253
        or len(labels) < 2
        or not all(label == "*" or DNS1123_LABEL.fullmatch(label) for label in labels)
    ):
        raise ValidationError(
            _("Enter a domain such as *.example.com or www.example.com: lowercase labels separated by dots."),
            code="domain",
        )


def validate_domain_list(value: str) -> None:
    """Allowed domains, one a line."""
    for line in value.splitlines():
        if line.strip():
            try:
                validate_allowed_domain(line.strip())
            except ValidationError as exc:
                raise ValidationError(
                    _("%(domain)s: %(why)s") % {"domain": line.strip(), "why": exc.messages[0]}, code="domain"
                ) from None


def validate_gateway_address(value: str) -> None:
    """An IP address or a DNS name."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        labels = value.split(".")
        if len(value) > 253 or not all(DNS1123_LABEL.fullmatch(label) for label in labels):
            raise ValidationError(
                _("Enter an IP address or a DNS name such as lb.example.com."), code="address"
            ) from None


def validate_service_reference(value: str) -> None:
    """namespace/name of a Service."""
    namespace, slash, name = value.partition("/")
    if not slash or not DNS1123_LABEL.fullmatch(namespace) or not DNS1123_LABEL.fullmatch(name):
        raise ValidationError(_("Enter the Service as namespace/name, e.g. nginx-ingress/nginx-ingress."), code="svc")


def validate_annotation_key(value: str) -> None:
    """A qualified name: optional DNS-subdomain prefix and '/', then a name of at most 63 characters."""
    prefix, slash, name = value.rpartition("/")
    if slash and (
        not prefix or len(prefix) > 253 or not all(DNS1123_LABEL.fullmatch(part) for part in prefix.split("."))
    ):
        raise ValidationError(
            _("The prefix before '/' must be a lowercase DNS name such as nginx.org."), code="key_prefix"
        )
    if not name or len(name) > 63 or not _QUALIFIED_NAME.fullmatch(name):
        raise ValidationError(
            _("Use at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit."),
            code="key_name",
        )


def validate_port(value: str) -> None:
    """A port number 1-65535 or a port name (IANA service name, at most 15 characters)."""
    if value.isascii() and value.isdigit():
        if not 1 <= int(value) <= 65535:
            raise ValidationError(_("A port number is between 1 and 65535."), code="port_range")
        return
    if len(value) > 15 or not _IANA_SVC_NAME.fullmatch(value) or "--" in value or not re.search("[a-z]", value):
        raise ValidationError(_("Enter a port number or the name of one of the service's ports."), code="port_name")


def validate_path(value: str) -> None:
    if not value.startswith("/"):
        raise ValidationError(_("A path starts with '/'."), code="path")
    if any(ch.isspace() for ch in value):
        raise ValidationError(_("A path cannot contain spaces."), code="path_space")
