"""The create/edit route form: a ModelForm plus path rows and annotation rows.

``RouteEditor`` binds the three together, validates across them (secret rules,
gRPC needs HTTP/2, snippet policy, ports of the chosen service) in one round,
gives the values a save needs (``values()``), builds the preview from whatever
was typed, says what the form's parts show for what was typed (the TLS choice,
the kind switch, the host's warning), and takes errors the save reports back
onto the field they concern.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from crispy_forms.helper import FormHelper
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import prefetch_related_objects
from django.forms import BaseFormSet, formset_factory
from django.utils.translation import gettext_lazy as _

from kubegems_routes.gateways.domains import host_refusal
from kubegems_routes.gateways.models import Gateway
from kubegems_routes.kube.client import Service
from kubegems_routes.lib.htmx import live
from kubegems_routes.lib.validators import validate_annotation_key, validate_path, validate_port
from kubegems_routes.routes import annotation_values, behaviour, manifest
from kubegems_routes.routes.gateway_behaviour import Outcome, translate
from kubegems_routes.routes.models import PathType, Route, route_spec
from kubegems_routes.routes.switch import switch_refusal
from kubegems_routes.routes.tls import certificate_conflict
from kubegems_routes.routes.values import RouteValues
from kubegems_routes.tenancy.models import Environment

SNIPPET_KEY = re.compile(r"(^|/)([-\w.]*-)?snippets?$")
ANNOTATIONS_LIMIT = 256 * 1024  # the API server's limit on all annotations together
MAX_PATHS = 50
MAX_ANNOTATIONS = 100


def is_snippet_annotation(key: str) -> bool:
    """nginx.org/server-snippets, nginx.org/location-snippets, *-snippet(s) of any controller."""
    return bool(SNIPPET_KEY.search(key.lower()))


class GatewayChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Gateway) -> str:
        # The domain beside the name: a host is chosen for a gateway's domain.
        return f"{obj.name} ({obj.default_domain})"

    def to_python(self, value: Any) -> Gateway | None:
        """The chosen gateway with its default annotations read once: a save reads them four times (the
        annotation checks, the manifest, the applied record), all from this one read."""
        gateway = super().to_python(value)
        if gateway is not None:
            prefetch_related_objects([gateway], "annotations")
        return gateway


def _behaviour_field(name: str) -> forms.CharField:
    found = behaviour.BY_NAME[name]
    return forms.CharField(label=found.label, help_text=found.help, required=False, max_length=4096)


class RouteForm(forms.ModelForm[Route]):
    # The Ingress version this edit started from, carried through the form so a
    # save can never silently overwrite a change made meanwhile.
    resource_version = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)
    # An edit that turns the route into another kind of object (an Ingress into an HTTPRoute...) is saved
    # only with this box ticked; its value is the kind confirmed, so a tick for one switch never confirms another.
    switch_to = forms.CharField(label=_("Confirm the switch"), required=False, max_length=16)
    # Behaviours: each writes one nginx.org/* annotation (routes.behaviour), checked as the controller would.
    https_redirect = forms.ChoiceField(
        label=behaviour.BY_NAME["https_redirect"].label,
        help_text=behaviour.BY_NAME["https_redirect"].help,
        required=False,
        choices=[("", _("as the gateway does")), ("true", _("redirect to HTTPS")), ("false", _("serve HTTP too"))],
    )
    connect_timeout = _behaviour_field("connect_timeout")
    read_timeout = _behaviour_field("read_timeout")
    send_timeout = _behaviour_field("send_timeout")
    max_body_size = _behaviour_field("max_body_size")
    rate_limit = _behaviour_field("rate_limit")
    rate_burst = _behaviour_field("rate_burst")
    rate_reject_code = _behaviour_field("rate_reject_code")
    response_headers = _behaviour_field("response_headers")

    class Meta:
        model = Route
        fields = ["name", "gateway", "host", "protocol", "tls_secret", "tls_source"]
        field_classes = {"gateway": GatewayChoiceField}
        widgets = {
            "tls_secret": forms.TextInput(attrs={"list": "tls-secret-options", "autocomplete": "off"}),
            "tls_source": forms.RadioSelect,
        }

    # A control whose change re-renders a part of the form (a partial of routes/route_form.html, posted to
    # "<action_url><part>/"): field -> (part, the part's element). The gateway decides the host's domain,
    # the protocol shows or hides the secret, the TLS source what is under the radios (which keep the focus).
    LIVE = {
        "gateway": ("gateway", "#host-field"),
        "protocol": ("secret", "#secret-field"),
        "tls_source": ("certificate", "#tls-detail"),
    }

    def __init__(self, *args: Any, environment: Environment, action_url: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.environment = environment
        gateway = self.fields["gateway"]
        assert isinstance(gateway, GatewayChoiceField)
        if action_url:
            for name, (part, target) in self.LIVE.items():
                self.fields[name].widget.attrs.update(live(f"{action_url}{part}/", target))
        # Offered only where the gateway names a ClusterIssuer; a post without it chose a secret.
        self.fields["tls_source"].required = False
        gateway.queryset = Gateway.objects.for_environment(environment).select_related("tenant")
        gateway.empty_label = None
        self.fields["host"].widget.attrs["placeholder"] = _("random from the gateway's default domain")
        if self.instance.pk:
            self.fields["resource_version"].initial = self.instance.resource_version
            self.fields["name"].disabled = True
            self.fields["name"].help_text = _("A route's name cannot change.")
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True

    def clean_host(self) -> str:
        return str(self.cleaned_data.get("host") or "").strip().lower()

    def clean_tls_source(self) -> str:
        return str(self.cleaned_data.get("tls_source") or manifest.TLS_FROM_SECRET)

    def clean_resource_version(self) -> str:
        value = str(self.cleaned_data.get("resource_version") or "")
        if value and not (value.isascii() and value.isdigit()):
            raise ValidationError(_("The form was changed in transit; reload the route and edit it again."))
        return value

    def clean_name(self) -> str:
        name = str(self.cleaned_data["name"]).strip()
        others = Route.objects.filter(environment=self.environment, name=name)
        if self.instance.pk:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise ValidationError(_("A route with this name already exists in this environment."), code="exists")
        return name

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        protocol = cleaned.get("protocol")
        gateway: Gateway | None = cleaned.get("gateway")
        certificate = cleaned.get("tls_source") == manifest.TLS_FROM_CERT_MANAGER
        if gateway is not None and gateway.is_gateway_api:
            # The certificate is on the Gateway's HTTPS listener, not on the route.
            cleaned["tls_secret"] = ""
            cleaned["tls_source"] = manifest.TLS_FROM_SECRET
        elif protocol and manifest.needs_tls(protocol) and certificate:
            self._clean_certificate(cleaned, gateway)
        elif protocol and manifest.needs_tls(protocol):
            if not cleaned.get("tls_secret") and "tls_secret" not in self.errors:
                self.add_error("tls_secret", _("%(protocol)s needs a TLS secret.") % {"protocol": protocol})
        else:
            cleaned["tls_secret"] = ""
            cleaned["tls_source"] = manifest.TLS_FROM_SECRET
        if protocol == manifest.GRPC and gateway is not None and not gateway.http2:
            self.add_error(
                "protocol",
                _("gRPC needs HTTP/2, and gateway %(gateway)s does not serve HTTP/2.") % {"gateway": gateway.name},
            )
        return cleaned

    def _clean_certificate(self, cleaned: dict[str, Any], gateway: Gateway | None) -> None:
        """cert-manager writes the certificate into a Secret named after the route, which must be free."""
        if gateway is not None and not gateway.cluster_issuer:
            self.add_error(
                "tls_source",
                _("Gateway %(gateway)s names no cert-manager ClusterIssuer: choose a TLS secret.")
                % {"gateway": gateway.name},
            )
            return
        # The secret field is not used (the posted value is whatever was typed before choosing cert-manager).
        self.errors.pop("tls_secret", None)
        name = cleaned.get("name") or self.instance.name
        if not name:
            return
        cleaned["tls_secret"] = manifest.certificate_secret_name(name)
        # Routes only here (no cluster call in a form); the save checks the namespace's Secrets too.
        conflict = certificate_conflict(Route(environment=self.environment, name=name), None)
        if conflict:
            self.add_error("tls_source", conflict)


class PathForm(forms.Form):
    path = forms.CharField(label=_("Path"), max_length=1024, initial="/", validators=[validate_path])
    path_type = forms.ChoiceField(label=_("Path type"), choices=PathType.choices, initial=PathType.PREFIX)
    service = forms.CharField(label=_("Service"), max_length=63)
    port = forms.CharField(label=_("Port"), max_length=15, validators=[validate_port])
    # Rows sharing a path split its requests by weight: Gateway API's backendRefs[].weight, within its bounds.
    weight = forms.IntegerField(
        label=_("Weight"),
        required=False,
        initial=manifest.DEFAULT_WEIGHT,
        min_value=0,
        max_value=manifest.MAX_WEIGHT,
        error_messages={
            key: _("A weight is a whole number from 0 to 1000000.") for key in ("invalid", "min_value", "max_value")
        },
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "placeholder": str(manifest.DEFAULT_WEIGHT)}),
    )
    # One nginx.org/rewrites for the route: NGINX rewrites per Service (routes.behaviour).
    rewrite = forms.CharField(
        label=_("Rewrite to"),
        required=False,
        max_length=1024,
        help_text=_(
            "The path the backend sees in place of the matched one: / for a path /shop/ sends /shop/items as /items."
        ),
        widget=forms.TextInput(attrs={"placeholder": "/"}),
    )

    def __init__(
        self, *args: Any, services: dict[str, Service] | None = None, action_url: str = "", **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.services = services
        if services is None:
            return
        current = str(self._raw("service") or "")
        names = list(services)
        if current and current not in services:
            names.append(current)
        # Another service: its ports are offered (the "service" change; the select keeps the focus).
        row = str(self.prefix).rpartition("-")[2]
        self.fields["service"].widget = forms.Select(
            attrs=live(f"{action_url}service/", f"#{self.prefix}-port-wrap", row=row) if action_url else None,
            choices=[("", _("choose a service")), *((n, n) for n in names)],
        )
        chosen = services.get(current)
        if chosen is not None:
            port_value = str(self._raw("port") or "")
            port_choices = [(str(p.port), p.label) for p in chosen.ports]
            if port_value and port_value not in {str(p.port) for p in chosen.ports}:
                # A port kept by name (an imported route's): said as such, not as a second "http".
                named = next((p for p in chosen.ports if p.name and p.name == port_value), None)
                label = _("%(port)s, by name") % {"port": named.label} if named is not None else port_value
                port_choices.append((port_value, label))
            self.fields["port"].widget = forms.Select(choices=port_choices)

    def clean_weight(self) -> int:
        weight = self.cleaned_data.get("weight")
        return manifest.DEFAULT_WEIGHT if weight is None else int(weight)

    def _raw(self, name: str) -> object:
        if self.is_bound:
            return self.data.get(self.add_prefix(name))
        return self.initial.get(name, self.fields[name].initial)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        service, port = cleaned.get("service"), cleaned.get("port")
        if self.services is not None and service:
            found = self.services.get(service)
            if found is None:
                self.add_error("service", _("There is no service %(name)s in this namespace.") % {"name": service})
            elif port and port not in {str(p.port) for p in found.ports} | {p.name for p in found.ports if p.name}:
                self.add_error("port", _("Service %(name)s has no port %(port)s.") % {"name": service, "port": port})
        return cleaned


class AnnotationForm(forms.Form):
    key = forms.CharField(label=_("Key"), max_length=317, required=False)
    value = forms.CharField(label=_("Value"), required=False, max_length=ANNOTATIONS_LIMIT)

    def clean_key(self) -> str:
        key = str(self.cleaned_data.get("key") or "").strip()
        if key:
            validate_annotation_key(key)
        return key

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("value") and not cleaned.get("key") and "key" not in self.errors:
            self.add_error("key", _("An annotation needs a key."))
        return cleaned


class BasePathFormSet(BaseFormSet[PathForm]):
    def __init__(
        self, *args: Any, services: dict[str, Service] | None = None, action_url: str = "", **kwargs: Any
    ) -> None:
        self.services = services
        self.action_url = action_url
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        return {"services": self.services, "action_url": self.action_url}


class BaseAnnotationFormSet(BaseFormSet[AnnotationForm]):
    def clean(self) -> None:
        seen: set[str] = set()
        for form in self.forms:
            key = form.cleaned_data.get("key")
            if key and key in seen:
                form.add_error("key", _("This key is already set above."))
            if key:
                seen.add(key)


# absolute_max = max_num: a posted TOTAL_FORMS of 10,000 builds 50 rows and an error, not 10,000 rows.
PathFormSet = cast(
    type[BasePathFormSet],
    formset_factory(
        PathForm,
        formset=BasePathFormSet,
        extra=0,
        min_num=1,
        validate_min=True,
        max_num=MAX_PATHS,
        absolute_max=MAX_PATHS,
        validate_max=True,
    ),
)
AnnotationFormSet = cast(
    type[BaseAnnotationFormSet],
    formset_factory(
        AnnotationForm,
        formset=BaseAnnotationFormSet,
        extra=0,
        max_num=MAX_ANNOTATIONS,
        absolute_max=MAX_ANNOTATIONS,
        validate_max=True,
    ),
)

# The fields are declared once, on the forms; what a row action carries follows them.
PATH_FIELDS = list(PathForm.base_fields)
ANNOTATION_FIELDS = list(AnnotationForm.base_fields)


def new_row(form: type[forms.Form]) -> dict[str, str]:
    """A row as added: each field's initial value."""
    return {name: str(field.initial or "") for name, field in form.base_fields.items()}


@dataclass
class FormState:
    """What the form holds, as plain values: row actions change it, then it is shown unvalidated."""

    fields: dict[str, str] = field(default_factory=dict)
    paths: list[dict[str, str]] = field(default_factory=list)
    annotations: list[dict[str, str]] = field(default_factory=list)

    @classmethod
    def from_data(cls, data: Mapping[str, str]) -> FormState:
        return cls(
            {name: data.get(name, "") for name in RouteForm.base_fields if name in data},
            # The weight is posted only where the gateway offers it: elsewhere it is the default.
            _rows(data, "paths", PATH_FIELDS, MAX_PATHS, {"weight": str(manifest.DEFAULT_WEIGHT)}),
            _rows(data, "annotations", ANNOTATION_FIELDS, MAX_ANNOTATIONS),
        )

    @classmethod
    def from_route(cls, route: Route) -> FormState:
        if not route.pk:
            return cls(paths=[new_row(PathForm)])
        paths = [{f: str(getattr(p, f, "")) for f in PATH_FIELDS} for p in route.paths.all()]
        return cls.with_behaviours({}, paths, route.annotations)

    @classmethod
    def with_behaviours(
        cls, fields: dict[str, str], paths: list[dict[str, str]], annotations: Mapping[str, str]
    ) -> FormState:
        """A route's fields, path rows and annotations as the form shows them: each behaviour in its field, not
        in a row of its own; the rewrites on their path rows (an edit, and a pasted manifest)."""
        behaviours, rest = behaviour.split(annotations)
        by_service = behaviour.rewrites_by_service(rest.get(behaviour.REWRITES, ""), [p["service"] for p in paths])
        if by_service is not None:
            del rest[behaviour.REWRITES]
            for row in paths:
                row["rewrite"] = by_service.get(row["service"], "")
        return cls(
            fields={**fields, **behaviours},
            paths=paths,
            annotations=[{"key": k, "value": v} for k, v in rest.items()],
        )


def _rows(
    data: Mapping[str, str], prefix: str, fields: list[str], limit: int, unposted: Mapping[str, str] | None = None
) -> list[dict[str, str]]:
    """The posted rows; a field not posted at all is ``unposted``'s value for it, else empty."""
    try:
        total = min(int(data.get(f"{prefix}-TOTAL_FORMS", "0")), limit)
    except ValueError:
        total = 0
    missing = unposted or {}
    return [{f: data.get(f"{prefix}-{i}-{f}", missing.get(f, "")) for f in fields} for i in range(total)]


def _with_behaviours(
    rows: dict[str, str], fields: Mapping[str, str], rewrites: list[tuple[str, str]]
) -> dict[str, str]:
    """The annotation rows, then each behaviour field that is set and the path rows' rewrites, as the
    annotations they write (a row typed with a behaviour's key counts while its field is empty)."""
    merged = dict(rows)
    for name, value in fields.items():
        if value:
            merged[behaviour.BY_NAME[name].key] = value
    if any(path for _service, path in rewrites):
        merged[behaviour.REWRITES] = behaviour.rewrites_value(rewrites)
    return merged


def _backend(row: Mapping[str, Any]) -> manifest.Backend:
    return manifest.Backend(
        path=str(row.get("path") or "/"),
        path_type=str(row.get("path_type") or PathType.PREFIX.value),
        service=str(row.get("service") or ""),
        port=str(row.get("port") or ""),
        weight=_weight(row.get("weight")),
    )


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _weight(value: object) -> int:
    """A row's weight: cleaned, or as typed (the preview shows the default for what is not a weight yet)."""
    if isinstance(value, int):
        return value
    text = str(value or "").strip()
    if text.isascii() and text.isdigit() and int(text) <= manifest.MAX_WEIGHT:
        return int(text)
    return manifest.DEFAULT_WEIGHT


@dataclass(frozen=True)
class KindSwitchPlan:
    """An edit that replaces the route's object by one of another kind: what the form asks to confirm."""

    name: str
    old_kind: str
    new_kind: str
    confirmed: bool


class RouteEditor:
    """The form and its two row sets, bound to submitted data or showing a FormState."""

    def __init__(
        self,
        environment: Environment,
        *,
        data: Mapping[str, str] | None = None,
        instance: Route | None = None,
        state: FormState | None = None,
        services: dict[str, Service] | None = None,
        action_url: str = "",
    ) -> None:
        self.environment = environment
        self.instance = instance or Route(environment=environment)
        self.services = services
        # The kind of the route's object as stored, read before a bound form puts the new values on the instance.
        self.stored_kind = (
            manifest.object_kind(self.instance.protocol, gateway_api=self.instance.gateway.is_gateway_api)
            if self.instance.pk
            else ""
        )
        self.focused = ""  # the id of the input or button to focus when the form or its part appears
        urls = {"action_url": action_url}
        if data is not None:
            self.form = RouteForm(data, instance=self.instance, environment=environment, **urls)
            self.paths = PathFormSet(data, prefix="paths", services=services, **urls)
            self.annotations = AnnotationFormSet(data, prefix="annotations")
            return
        state = state or FormState.from_route(self.instance)
        self.form = RouteForm(initial=state.fields, instance=self.instance, environment=environment, **urls)
        self.paths = PathFormSet(initial=state.paths or [{}], prefix="paths", services=services, **urls)
        self.annotations = AnnotationFormSet(initial=state.annotations, prefix="annotations")

    # -- values as typed, for the live preview ---------------------------------

    def value(self, name: str) -> str:
        form = self.form
        if form.is_bound:
            if form.fields[name].disabled:
                return str(form.initial.get(name) or getattr(self.instance, name, "") or "")
            return str(form.data.get(name, "") or "")
        if name in form.initial:
            return str(form.initial[name] or "")
        value = getattr(self.instance, f"{name}_id" if name == "gateway" else name, "")
        return str(value or (form.fields[name].initial or ""))

    def protocol(self) -> str:
        value = self.value("protocol")
        return value if value in manifest.PROTOCOLS else manifest.HTTP

    def tls_source(self) -> str:
        """cert-manager when chosen and the gateway offers it (an ingress class naming a ClusterIssuer)."""
        gateway = self.gateway
        offered = gateway is not None and not gateway.is_gateway_api and bool(gateway.cluster_issuer)
        chosen = self.value("tls_source") == manifest.TLS_FROM_CERT_MANAGER
        return manifest.TLS_FROM_CERT_MANAGER if offered and chosen else manifest.TLS_FROM_SECRET

    @functools.cached_property
    def gateways(self) -> list[Gateway]:
        field = self.form.fields["gateway"]
        assert isinstance(field, GatewayChoiceField) and field.queryset is not None
        return list(field.queryset)

    @functools.cached_property
    def gateway(self) -> Gateway | None:
        """The chosen gateway, or the first offered (what the select shows when none is chosen)."""
        chosen = self.value("gateway")
        return next((g for g in self.gateways if str(g.pk) == chosen), self.gateways[0] if self.gateways else None)

    @functools.cached_property
    def kind_switch(self) -> KindSwitchPlan | None:
        """When editing, and the chosen gateway and protocol make the route another kind of object: the switch."""
        if not self.stored_kind or self.gateway is None:
            return None
        new_kind = manifest.object_kind(self.protocol(), gateway_api=self.gateway.is_gateway_api)
        if new_kind == self.stored_kind:
            return None
        return KindSwitchPlan(self.instance.name, self.stored_kind, new_kind, self.value("switch_to") == new_kind)

    @functools.cached_property
    def host_warning(self) -> str:
        """While typing: a host the gateway will refuse, said before saving."""
        host, gateway = self.value("host").strip().lower(), self.gateway
        if not host or gateway is None:
            return ""
        return host_refusal(gateway, self.environment.project.tenant_id, host)

    # -- what the TLS part shows for the protocol and gateway chosen ---------------

    @property
    def needs_tls(self) -> bool:
        """The route names its TLS secret: a TLS protocol on an ingress class."""
        return manifest.needs_tls(self.protocol()) and not self._on_gateway_api

    @property
    def certificate_on_listener(self) -> bool:
        """A TLS protocol on a Gateway API gateway: the Gateway's HTTPS listener holds the certificate."""
        return manifest.needs_tls(self.protocol()) and self._on_gateway_api

    @property
    def certificate_offered(self) -> bool:
        """Where the gateway names a ClusterIssuer; still shown with an error on it (the gateway changed)."""
        issuer = self.gateway is not None and bool(self.gateway.cluster_issuer)
        return self.needs_tls and (issuer or bool(self.form.errors.get("tls_source")))

    @property
    def certificate_chosen(self) -> bool:
        return self.needs_tls and self.tls_source() == manifest.TLS_FROM_CERT_MANAGER

    @property
    def certificate_secret(self) -> str:
        """The Secret cert-manager writes, named after the route (none while the name is empty)."""
        name = self.value("name") or self.instance.name
        return manifest.certificate_secret_name(name) if name else ""

    @property
    def _on_gateway_api(self) -> bool:
        return self.gateway is not None and self.gateway.is_gateway_api

    def _rows_as_typed(self, formset: BaseFormSet[Any], fields: Sequence[str]) -> list[dict[str, str]]:
        if formset.is_bound:
            return [{f: str(form.data.get(form.add_prefix(f), "") or "") for f in fields} for form in formset.forms]
        # A weight of 0 is a value, not an empty field.
        return [{f: _text(form.initial.get(f)) for f in fields} for form in formset.forms]

    def preview_spec(self, host: str = "") -> manifest.RouteSpec | None:
        """The Ingress as typed so far; an empty host shows ``host``, the one saving will use."""
        if self.gateway is None:
            return None
        rows = {
            row["key"].strip(): row["value"]
            for row in self._rows_as_typed(self.annotations, ANNOTATION_FIELDS)
            if row["key"].strip()
        }
        fields = {b.name: self.value(b.name).strip() for b in behaviour.BEHAVIOURS}
        paths = self._rows_as_typed(self.paths, PATH_FIELDS)
        annotations = _with_behaviours(rows, fields, [(p["service"], p["rewrite"].strip()) for p in paths])
        return route_spec(
            environment=self.environment,
            gateway=self.gateway,
            name=self.value("name"),
            host=self.value("host").strip().lower() or host,
            protocol=self.protocol(),
            tls_secret=self.value("tls_secret"),
            tls_source=self.tls_source(),
            backends=tuple(_backend(row) for row in self._rows_as_typed(self.paths, PATH_FIELDS)),
            annotations=annotations,
            kept=self.instance.kept,
        )

    # -- validation --------------------------------------------------------------

    def is_valid(self) -> bool:
        """Every check in one round: a user fixes all of them in one go."""
        valid = all([self.form.is_valid(), self.paths.is_valid(), self.annotations.is_valid()])
        gateway = self.form.cleaned_data.get("gateway") or self.gateway
        keys = [form.cleaned_data.get("key") for form in self.annotations.forms if hasattr(form, "cleaned_data")]
        for form, key in zip(self.annotations.forms, keys, strict=False):
            if key and is_snippet_annotation(key) and gateway is not None and not gateway.allow_snippets:
                form.add_error(
                    "key",
                    _("Snippet annotations inject NGINX configuration; gateway %(gateway)s does not allow them.")
                    % {"gateway": gateway.name},
                )
                valid = False
        if self.form.cleaned_data.get("tls_source") == manifest.TLS_FROM_CERT_MANAGER:
            for form, key in zip(self.annotations.forms, keys, strict=False):
                if key in (manifest.CLUSTER_ISSUER, manifest.ISSUER):
                    form.add_error(
                        "key",
                        _(
                            "The gateway's ClusterIssuer issues this route's certificate: remove this annotation, "
                            "or choose a TLS secret instead of cert-manager."
                        ),
                    )
                    valid = False
        if gateway is not None and gateway.is_gateway_api:
            for row in self.paths.forms:
                if getattr(row, "cleaned_data", {}).get("path_type") not in (None, *manifest.GATEWAY_PATH_TYPES):
                    row.add_error("path_type", _("Gateway API gateways offer Prefix and Exact paths only."))
                    valid = False
        if not self._shared_paths_valid(gateway):
            valid = False
        host = self.form.cleaned_data.get("host")
        if host and gateway is not None and "host" not in self.form.errors:
            refusal = host_refusal(gateway, self.environment.project.tenant_id, host)
            if refusal:
                self.form.add_error("host", refusal)
                valid = False
        switch = self.kind_switch
        if switch is not None and not switch.confirmed and "switch_to" not in self.form.errors:
            self.form.add_error("switch_to", switch_refusal(switch.name, switch.old_kind, switch.new_kind))
            valid = False
        if gateway is not None and not gateway.is_gateway_api and not self._annotation_values_valid(gateway):
            valid = False
        if gateway is not None and not self._behaviours_valid(gateway):
            valid = False
        size = sum(len(k) + len(v) for k, v in self._annotation_dict().items())
        if size > ANNOTATIONS_LIMIT and self.annotations.forms:
            self.annotations.forms[-1].add_error("value", _("All annotations together must stay under 256 KiB."))
            valid = False
        return valid

    def _shared_paths_valid(self, gateway: Gateway | None) -> bool:
        """Rows sharing a path. On a Gateway API gateway they are one rule whose Services split the path's
        requests by weight: each Service and port once, and a weight above 0 for one of them at least. An
        Ingress sends a path to one Service and has no weights. Each reason goes on the row's field."""
        gateway_api = gateway is not None and gateway.is_gateway_api
        # Rows whose path is not valid are left out: their own error says why.
        rows = [form for form in self.paths.forms if {"path", "path_type"} <= set(getattr(form, "cleaned_data", {}))]
        backends = tuple(_backend(form.cleaned_data) for form in rows)
        # An Ingress's paths differ by path and path type, whatever the protocol.
        protocol = str(self.form.cleaned_data.get("protocol") or self.protocol()) if gateway_api else manifest.HTTP
        valid = True
        for group in manifest.rule_rows(protocol, backends):
            if not gateway_api:
                for row in group[1:]:
                    rows[row].add_error(
                        "path",
                        _(
                            "This path is already in the route: an Ingress sends a path to one Service. Splitting "
                            "a path between Services by weight needs a Gateway API gateway."
                        ),
                    )
                    valid = False
                continue
            seen: set[tuple[str, str]] = set()
            for row in group:
                backend = backends[row]
                if (backend.service, backend.port) in seen and "service" not in rows[row].errors:
                    rows[row].add_error(
                        "service",
                        _("Service %(service)s port %(port)s already serves this path.")
                        % {"service": backend.service, "port": backend.port},
                    )
                    valid = False
                seen.add((backend.service, backend.port))
            # One rule has one set of filters: its rows rewrite alike.
            first = str(rows[group[0]].cleaned_data.get("rewrite") or "")
            for row in group[1:]:
                if str(rows[row].cleaned_data.get("rewrite") or "") != first and "rewrite" not in rows[row].errors:
                    rows[row].add_error(
                        "rewrite",
                        _("The backends of path %(path)s share one rule: give them the same rewrite.")
                        % {"path": backends[row].path},
                    )
                    valid = False
            weighed = all("weight" not in rows[row].errors for row in group)
            if weighed and not any(backends[row].weight for row in group):
                rows[group[0]].add_error(
                    "weight",
                    _(
                        "One backend of path %(path)s at least needs a weight above 0: with every weight 0 the "
                        "gateway answers the path's requests with 500."
                    )
                    % {"path": backends[group[0]].path},
                )
                valid = False
        if gateway is not None and not gateway_api:
            for form in self.paths.forms:
                weight = getattr(form, "cleaned_data", {}).get("weight", manifest.DEFAULT_WEIGHT)
                if weight != manifest.DEFAULT_WEIGHT and "weight" not in form.errors:
                    form.add_error(
                        "weight",
                        _(
                            "Gateway %(gateway)s is an ingress class, and an Ingress has no backend weights: set 1, "
                            "or choose a Gateway API gateway."
                        )
                        % {"gateway": gateway.name},
                    )
                    valid = False
        return valid

    def _annotation_values_valid(self, gateway: Gateway) -> bool:
        """Each nginx.org/* value as the controller checks it (annotation_values), the error on the row's value.
        The gateway's defaults are not the user's input: they count as companions, never as errors here."""
        mine = self._merged_annotations()
        context = annotation_values.Context(
            services=frozenset(
                str(row.cleaned_data["service"])
                for row in self.paths.forms
                if getattr(row, "cleaned_data", {}).get("service")
            ),
            annotations={**gateway.annotation_dict(), **mine},
            tls=manifest.needs_tls(str(self.form.cleaned_data.get("protocol") or "")),
        )
        valid = True
        for form in self.annotations.forms:
            key = getattr(form, "cleaned_data", {}).get("key")
            if not key or "value" in form.errors:
                continue
            error = annotation_values.check(key, str(form.cleaned_data.get("value") or ""), context)
            if error:
                form.add_error("value", error)
                valid = False
        return valid

    # -- what the path rows show: weights, and another backend for a path ---------

    @property
    def weights_offered(self) -> bool:
        """Rows sharing a path split its requests by weight: Gateway API gateways only."""
        return self._on_gateway_api

    @property
    def weights_shown(self) -> bool:
        """The weight column: offered, or shown where an ingress class refuses what was typed (a weight, a path
        given twice) so the reason has its field."""
        if self.weights_offered:
            return True
        rows = self._rows_as_typed(self.paths, PATH_FIELDS)
        keys = [(row["path"], row["path_type"]) for row in rows]
        return len(set(keys)) < len(keys) or any(row["weight"].strip() not in ("", "1") for row in rows)

    @property
    def path_rows(self) -> list[tuple[PathForm, str]]:
        """Each path row with the path another backend can be added for after it: on a Gateway API gateway, the
        last row of each path; '' elsewhere."""
        rows = self._rows_as_typed(self.paths, PATH_FIELDS)
        offer = [""] * len(rows)
        if self.weights_offered:
            backends = tuple(_backend(row) for row in rows)
            for group in manifest.rule_rows(self.protocol(), backends):
                offer[group[-1]] = rows[group[-1]]["path"] or "/"
        return list(zip(self.paths.forms, offer, strict=True))

    # -- behaviours ----------------------------------------------------------------

    def _behaviour_fields(self) -> dict[str, str]:
        """The behaviour fields that are set, cleaned (name -> value)."""
        cleaned = self.form.cleaned_data
        return {b.name: str(cleaned[b.name]) for b in behaviour.BEHAVIOURS if cleaned.get(b.name)}

    def _path_rewrites(self) -> list[tuple[str, str]]:
        return [
            (str(row.cleaned_data.get("service") or ""), str(row.cleaned_data.get("rewrite") or ""))
            for row in self.paths.forms
            if hasattr(row, "cleaned_data")
        ]

    def _merged_annotations(self) -> dict[str, str]:
        """The annotations the route stores: the rows, then the behaviour fields and the rewrites."""
        return _with_behaviours(self._annotation_dict(), self._behaviour_fields(), self._path_rewrites())

    def _behaviours_valid(self, gateway: Gateway) -> bool:
        """Each behaviour field as the controller checks its annotation (or, on a Gateway API gateway, refused
        where Gateway API has no equivalent), the error on the field; a row that says otherwise on its key."""
        valid = True
        fields = self._behaviour_fields()
        rewrites = [(service, path) for service, path in self._path_rewrites() if path]
        merged = self._merged_annotations()
        for form in self.annotations.forms:
            key = getattr(form, "cleaned_data", {}).get("key")
            value = str(getattr(form, "cleaned_data", {}).get("value") or "")
            found = behaviour.BY_KEY.get(key or "")
            if found is not None and found.name in fields and fields[found.name] != value:
                form.add_error(
                    "key",
                    _("The field %(field)s under Behaviour sets this too: remove this row or make them agree.")
                    % {"field": found.label},
                )
                valid = False
            if key == behaviour.REWRITES and rewrites:
                form.add_error("key", _("The paths' Rewrite to fields set this: remove this row."))
                valid = False
        protocol = str(self.form.cleaned_data.get("protocol") or "")
        kind = manifest.object_kind(protocol, gateway_api=gateway.is_gateway_api)
        backends = tuple(_backend(f.cleaned_data) for f in self.paths.forms if hasattr(f, "cleaned_data"))
        context = annotation_values.Context(
            services=frozenset(b.service for b in backends if b.service),
            annotations={**gateway.annotation_dict(), **merged},
            tls=manifest.needs_tls(protocol),
        )
        for name, value in fields.items():
            if name in self.form.errors:
                continue
            error = self._behaviour_error(behaviour.BY_NAME[name], value, gateway, kind, backends, context)
            if error:
                self.form.add_error(name, error)
                valid = False
        for form in self.annotations.forms if gateway.is_gateway_api else []:
            # A behaviour typed as a row is the field (an ingress class's rows are checked as annotations).
            key = getattr(form, "cleaned_data", {}).get("key")
            found = behaviour.BY_KEY.get(key or "")
            if found is None or found.name in fields or form.errors:
                continue
            value = str(form.cleaned_data.get("value") or "")
            error = self._behaviour_error(found, value, gateway, kind, backends, context)
            if error:
                form.add_error("value", error)
                valid = False
        return self._rewrites_valid(gateway, kind, context) and valid

    def _behaviour_error(
        self,
        found: behaviour.Behaviour,
        value: str,
        gateway: Gateway,
        kind: str,
        backends: tuple[manifest.Backend, ...],
        context: annotation_values.Context,
    ) -> str | None:
        if found.name == "https_redirect" and not context.tls:
            return str(_("Only a route with TLS (https, wss, grpc) has HTTPS to redirect to."))
        if found.name in behaviour.RATE_COMPANIONS and behaviour.RATE not in context.annotations:
            return str(_("Set a rate limit as well."))
        if found.name == "rate_reject_code":
            code = annotation_values.go_parse_int(value)
            if code is None or not 400 <= code <= 599:
                return str(_("Must be a status from 400 to 599."))
        if gateway.is_gateway_api:
            carried = translate({found.key: value}, kind, backends).carried[0]
            if carried.outcome == Outcome.DROPPED:
                return str(
                    _("Gateway %(gateway)s is a Gateway API gateway, which cannot do this: %(why)s.")
                    % {"gateway": gateway.name, "why": carried.what}
                )
            return None
        error = annotation_values.check(found.key, value, context)
        if error is None and not behaviour.field_takes(found.name, value):
            # The controller takes a header name alone, and NGINX then adds nothing: the field asks for a value.
            return str(_("Each header needs a name and a value, such as X-Team:shop."))
        return error

    def _rewrites_valid(self, gateway: Gateway, kind: str, context: annotation_values.Context) -> bool:
        """Each path row's rewrite: a path the controller takes, and alike on the rows of one Service (NGINX
        rewrites per Service); a GRPCRoute has none."""
        valid = True
        first: dict[str, str] = {}
        for row in self.paths.forms:
            cleaned = getattr(row, "cleaned_data", {})
            service, path = str(cleaned.get("service") or ""), str(cleaned.get("rewrite") or "")
            if service and service not in first:
                first[service] = path
            error = None
            if path and gateway.is_gateway_api and kind == manifest.GRPC_ROUTE:
                error = _("Gateway %(gateway)s is a Gateway API gateway, which cannot do this: %(why)s.") % {
                    "gateway": gateway.name,
                    "why": _("a GRPCRoute has no path rewrite"),
                }
            elif service and first[service] != path:
                error = _(
                    "NGINX rewrites per Service: every path of Service %(service)s must rewrite alike "
                    "(%(other)s on the first)."
                ) % {"service": service, "other": first[service] or _("unchanged")}
            elif path and service:
                error = annotation_values.check(behaviour.REWRITES, f"serviceName={service} rewrite={path}", context)
            if error and "rewrite" not in row.errors:
                row.add_error("rewrite", error)
                valid = False
        return valid

    @property
    def behaviour_fields(self) -> list[tuple[forms.BoundField, str]]:
        """Each behaviour field with what applies while it is empty (the gateway's default, else the
        controller's, shown as the placeholder), and on a Gateway API gateway why it cannot be had there."""
        defaults = self.gateway.annotation_dict() if self.gateway is not None else {}
        kind = manifest.object_kind(self.protocol(), gateway_api=self._on_gateway_api)
        shown = []
        for found in behaviour.BEHAVIOURS:
            bound = self.form[found.name]
            note = ""
            if self._on_gateway_api:
                sample = {"https_redirect": "true"}.get(found.name, found.default or found.example)
                carried = translate({found.key: sample}, kind, ()).carried[0]
                if carried.outcome == Outcome.DROPPED:
                    note = _("Not on a Gateway API gateway: %(why)s.") % {"why": carried.what}
                    bound.field.widget.attrs["aria-describedby"] = (
                        f"{bound.auto_id}_helptext {bound.auto_id}_gateway_api"
                    )
            default = defaults.get(found.key, "")
            if found.name == "https_redirect":  # said in words: the choice's own label
                words = dict(bound.field.widget.choices)
                default = str(words.get(default, default)) if default else ""
                found = dataclasses.replace(found, default=str(words[found.default]))
            if default:
                gateway = self.gateway.name if self.gateway is not None else ""
                fallback = _("gateway %(gateway)s: %(value)s") % {"gateway": gateway, "value": default}
            else:
                fallback = found.default and _("default: %(value)s") % {"value": found.default}
            placeholder = str(fallback or found.example)
            if found.name == "https_redirect":
                bound.field.widget.choices = [("", placeholder), *list(bound.field.widget.choices)[1:]]
            else:
                bound.field.widget.attrs["placeholder"] = placeholder
            shown.append((bound, str(note)))
        return shown

    @property
    def annotation_rows(self) -> list[tuple[AnnotationForm, str]]:
        """Each annotation row with its warning (an nginx.org/* key the controller does not read, on an ingress
        class), for what is typed, bound or not."""
        on_ingress = self.gateway is not None and not self.gateway.is_gateway_api
        rows = self._rows_as_typed(self.annotations, ANNOTATION_FIELDS)
        shown = []
        for form, row in zip(self.annotations.forms, rows, strict=True):
            key = row["key"].strip()
            warning = (annotation_values.unknown_key_warning(key) or "") if on_ingress else ""
            if behaviour.split({key: row["value"]})[0]:  # shown in its field once saved
                warning = _("This is the field %(field)s under Behaviour; once saved it shows there.") % {
                    "field": behaviour.BY_KEY[key].label
                }
            if warning:  # read with the key's input (the template gives the warning this id)
                form.fields["key"].widget.attrs["aria-describedby"] = f"{form['key'].auto_id}-warning"
            shown.append((form, warning))
        return shown

    def _annotation_dict(self) -> dict[str, str]:
        return {
            str(f.cleaned_data["key"]): str(f.cleaned_data.get("value", ""))
            for f in self.annotations.forms
            if getattr(f, "cleaned_data", {}).get("key")
        }

    def values(self) -> RouteValues:
        """What the route should become; only after is_valid()."""
        data = self.form.cleaned_data
        return RouteValues(
            gateway=data["gateway"],
            host=data["host"],
            protocol=data["protocol"],
            tls_secret=data["tls_secret"],
            backends=tuple(_backend(f.cleaned_data) for f in self.paths.forms),
            annotations=self._merged_annotations(),
            tls_source=data["tls_source"],
            switch_to=data.get("switch_to", ""),
        )

    def add_error(self, field: str | None, message: str, row: int | None = None) -> None:
        """Put an error on a route field, a path row's field, or the form as a whole (``None``)."""
        if field in PATH_FIELDS and row is not None and row < len(self.paths.forms):
            self.paths.forms[row].add_error(field, message)
        elif field == "annotations" and self.annotations.forms:
            self.annotations.forms[0].add_error("key", message)
        elif field in self.form.fields and not self.form.fields[field].disabled:
            self.form.add_error(field, message)
        else:
            self.form.add_error(None, message)

    def errors(self) -> list[tuple[str, str, str]]:
        """(input id, label, message) of every error, in the order of the page: the error summary's links."""
        found: list[tuple[str, str, str]] = [("route-form", "", str(e)) for e in self.form.non_field_errors()]
        for name in self.form.fields:
            bound = self.form[name]
            found += [(bound.auto_id or "", str(bound.label), str(e)) for e in self.form.errors.get(name, [])]
        for formset, what in ((self.paths, _("Path %(n)s")), (self.annotations, _("Annotation %(n)s"))):
            found += [("route-form", "", str(e)) for e in formset.non_form_errors()]
            for index, row in enumerate(formset.forms):
                for name in row.fields:
                    bound = row[name]
                    label = f"{what % {'n': index + 1}} · {bound.label}"
                    found += [(bound.auto_id or "", label, str(e)) for e in row.errors.get(name, [])]
        return found

    @property
    def has_errors(self) -> bool:
        return bool(self.errors())

    def focus(self, element_id: str) -> None:
        """Focus this input (or button: ``focused``) when the page or the swapped part appears (htmx honours
        autofocus)."""
        self.focused = element_id
        for form in [self.form, *self.paths.forms, *self.annotations.forms]:
            for name in form.fields:
                if form[name].auto_id == element_id:
                    form.fields[name].widget.attrs["autofocus"] = True
                    return
