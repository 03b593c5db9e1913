"""The create/edit route form: a ModelForm plus path rows and annotation rows.

``RouteEditor`` binds the three together, validates across them (secret rules,
gRPC needs HTTP/2, snippet policy, ports of the chosen service), builds the
manifest preview from whatever was typed, and puts API-server errors back on
the field they concern.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from typing import Any

from crispy_forms.helper import FormHelper
from django import forms
from django.core.exceptions import ValidationError
from django.forms import BaseFormSet, formset_factory
from django.utils.translation import gettext_lazy as _

from kubegems_routes.gateways.models import Gateway
from kubegems_routes.kube.client import Service
from kubegems_routes.kube.errors import Cause
from kubegems_routes.lib.validators import validate_annotation_key, validate_path, validate_port
from kubegems_routes.routes import manifest
from kubegems_routes.routes.models import PathType, Route, route_spec
from kubegems_routes.tenancy.models import Environment

SNIPPET_KEY = re.compile(r"(^|/)([-\w.]*-)?snippets?$")
ANNOTATIONS_LIMIT = 256 * 1024  # the API server's limit on all annotations together


def is_snippet_annotation(key: str) -> bool:
    """nginx.org/server-snippets, nginx.org/location-snippets, *-snippet(s) of any controller."""
    return bool(SNIPPET_KEY.search(key.lower()))


class RouteForm(forms.ModelForm):  # type: ignore[type-arg]
    # The Ingress version this edit started from, carried through the form so a
    # save can never silently overwrite a change made meanwhile.
    resource_version = forms.CharField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Route
        fields = ["name", "gateway", "host", "protocol", "tls_secret"]
        widgets = {"tls_secret": forms.TextInput(attrs={"list": "tls-secret-options", "autocomplete": "off"})}

    def __init__(self, *args: Any, environment: Environment, form_url: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.environment = environment
        if form_url:
            # hx-* on the widget itself, so the field works however it is rendered.
            self.fields["protocol"].widget.attrs.update(
                {
                    "hx-post": form_url,
                    "hx-trigger": "change",
                    "hx-vals": json.dumps({"_fragment": "secret", "_action": "refresh"}),
                    "hx-target": "#secret-field",
                    "hx-swap": "outerHTML",
                }
            )
        self.fields["gateway"].queryset = Gateway.objects.for_environment(environment).select_related("tenant")
        self.fields["gateway"].empty_label = None
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
        if protocol and manifest.needs_tls(protocol):
            if not cleaned.get("tls_secret") and "tls_secret" not in self.errors:
                self.add_error("tls_secret", _("%(protocol)s needs a TLS secret.") % {"protocol": protocol})
        else:
            cleaned["tls_secret"] = ""
        if protocol == manifest.GRPC and gateway is not None and not gateway.http2:
            self.add_error(
                "protocol",
                _("gRPC needs HTTP/2, and gateway %(gateway)s does not serve HTTP/2.") % {"gateway": gateway.name},
            )
        return cleaned


class PathForm(forms.Form):
    path = forms.CharField(label=_("Path"), max_length=1024, initial="/", validators=[validate_path])
    path_type = forms.ChoiceField(label=_("Path type"), choices=PathType.choices, initial=PathType.PREFIX)
    service = forms.CharField(label=_("Service"), max_length=63)
    port = forms.CharField(label=_("Port"), max_length=15, validators=[validate_port])

    def __init__(
        self, *args: Any, services: dict[str, Service] | None = None, ports_url: str = "", **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.services = services
        if services is not None:
            current = str(self._raw("service") or "")
            names = list(services)
            if current and current not in services:
                names.append(current)
            self.fields["service"].widget = forms.Select(
                choices=[("", _("choose a service"))] + [(n, n) for n in names],
                attrs={
                    "hx-get": ports_url,
                    "hx-trigger": "change",
                    "hx-include": "this",
                    "hx-vals": json.dumps({"row": self.prefix}),
                    "hx-target": f"#{self.prefix}-port-wrap",
                    "hx-swap": "outerHTML",
                }
                if ports_url
                else {},
            )
            chosen = services.get(current)
            if chosen is not None:
                port_value = str(self._raw("port") or "")
                choices = [(str(p.port), p.label) for p in chosen.ports]
                if port_value and port_value not in {str(p.port) for p in chosen.ports}:
                    choices.append((port_value, port_value))
                self.fields["port"].widget = forms.Select(choices=choices)

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


class BasePathFormSet(BaseFormSet):  # type: ignore[type-arg]
    def __init__(
        self, *args: Any, services: dict[str, Service] | None = None, ports_url: str = "", **kwargs: Any
    ) -> None:
        self.services = services
        self.ports_url = ports_url
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        return {"services": self.services, "ports_url": self.ports_url}

    def clean(self) -> None:
        seen: set[tuple[str, str]] = set()
        for form in self.forms:
            key = (form.cleaned_data.get("path", ""), form.cleaned_data.get("path_type", ""))
            if key in seen:
                form.add_error("path", _("This path is already in the route."))
            seen.add(key)


class BaseAnnotationFormSet(BaseFormSet):  # type: ignore[type-arg]
    def clean(self) -> None:
        seen: set[str] = set()
        for form in self.forms:
            key = form.cleaned_data.get("key")
            if key and key in seen:
                form.add_error("key", _("This key is already set above."))
            if key:
                seen.add(key)

    def as_dict(self) -> dict[str, str]:
        return {f.cleaned_data["key"]: f.cleaned_data.get("value", "") for f in self.forms if f.cleaned_data.get("key")}


# absolute_max = max_num: a TOTAL_FORMS of 10000 builds no more rows than allowed
# and answers a form error (Django's default would build and render 1,050).
PathFormSet = formset_factory(
    PathForm, formset=BasePathFormSet, extra=0, min_num=1, validate_min=True, max_num=50, absolute_max=50
)
AnnotationFormSet = formset_factory(
    AnnotationForm, formset=BaseAnnotationFormSet, extra=0, max_num=100, absolute_max=100
)

FORM_FIELDS = [*RouteForm.Meta.fields, "resource_version"]


def initial_from_data(data: Mapping[str, str]) -> tuple[dict[str, str], list[dict[str, str]], list[dict[str, str]]]:
    """Turn submitted data into initial values, so a re-rendered form shows no errors yet."""
    form = {name: data.get(name, "") for name in FORM_FIELDS if name in data}
    return (
        form,
        _rows(data, "paths", ["path", "path_type", "service", "port"]),
        _rows(data, "annotations", ["key", "value"]),
    )


def _rows(data: Mapping[str, str], prefix: str, fields: list[str]) -> list[dict[str, str]]:
    limit = {"paths": PathFormSet.absolute_max, "annotations": AnnotationFormSet.absolute_max}[prefix]
    try:
        total = min(int(data.get(f"{prefix}-TOTAL_FORMS", "0")), limit)
    except ValueError:
        total = 0
    return [{f: data.get(f"{prefix}-{i}-{f}", "") for f in fields} for i in range(total)]


class RouteEditor:
    """The form and its two row sets, bound to submitted data or showing initial values."""

    def __init__(
        self,
        environment: Environment,
        *,
        data: Mapping[str, str] | None = None,
        instance: Route | None = None,
        initial: tuple[dict[str, str], list[dict[str, str]], list[dict[str, str]]] | None = None,
        services: dict[str, Service] | None = None,
        form_url: str = "",
        ports_url: str = "",
    ) -> None:
        self.environment = environment
        self.conflict_diff = ""
        self.instance = instance or Route(environment=environment)
        self.services = services
        if data is not None:
            self.form = RouteForm(data, instance=self.instance, environment=environment, form_url=form_url)
            self.paths = PathFormSet(data, prefix="paths", services=services, ports_url=ports_url)
            self.annotations = AnnotationFormSet(data, prefix="annotations")
            return
        form_initial, path_rows, annotation_rows = initial or self._initial_from_instance()
        self.form = RouteForm(initial=form_initial, instance=self.instance, environment=environment, form_url=form_url)
        self.paths = PathFormSet(initial=path_rows or [{}], prefix="paths", services=services, ports_url=ports_url)
        self.annotations = AnnotationFormSet(initial=annotation_rows, prefix="annotations")

    def _initial_from_instance(self) -> tuple[dict[str, str], list[dict[str, str]], list[dict[str, str]]]:
        route = self.instance
        if not route.pk:
            return {}, [{"path": "/", "path_type": PathType.PREFIX.value}], []
        paths = [
            {"path": p.path, "path_type": p.path_type, "service": p.service, "port": p.port} for p in route.paths.all()
        ]
        annotations = [{"key": k, "value": v} for k, v in route.annotations.items()]
        return {}, paths, annotations

    # -- values as typed, for the live preview ---------------------------------

    def _value(self, name: str) -> str:
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
        value = self._value("protocol")
        return value if value in manifest.PROTOCOLS else manifest.HTTP

    def gateway(self) -> Gateway | None:
        """The chosen gateway, or the first offered (what the select shows when none is chosen)."""
        return self._gateway

    @functools.cached_property
    def _gateway(self) -> Gateway | None:
        gateways = list(self.form.fields["gateway"].queryset)
        chosen = self._value("gateway")
        return next((g for g in gateways if str(g.pk) == chosen), gateways[0] if gateways else None)

    def _row_values(self, formset: BaseFormSet, fields: list[str]) -> list[dict[str, str]]:  # type: ignore[type-arg]
        if formset.is_bound:
            return [{f: str(form.data.get(form.add_prefix(f), "") or "") for f in fields} for form in formset.forms]
        return [{f: str(form.initial.get(f, "") or "") for f in fields} for form in formset.forms]

    def preview_spec(self, host: str = "") -> manifest.RouteSpec | None:
        gateway = self.gateway()
        if gateway is None:
            return None
        backends = tuple(
            manifest.Backend(
                path=row["path"] or "/",
                path_type=row["path_type"] or PathType.PREFIX.value,
                service=row["service"],
                port=row["port"],
            )
            for row in self._row_values(self.paths, ["path", "path_type", "service", "port"])
        )
        annotations = {
            row["key"].strip(): row["value"]
            for row in self._row_values(self.annotations, ["key", "value"])
            if row["key"].strip()
        }
        return route_spec(
            environment=self.environment,
            gateway=gateway,
            name=self._value("name"),
            host=self._value("host").strip().lower() or host,
            protocol=self.protocol(),
            tls_secret=self._value("tls_secret"),
            backends=backends,
            annotations=annotations,
        )

    # -- validation --------------------------------------------------------------

    def is_valid(self) -> bool:
        valid = all([self.form.is_valid(), self.paths.is_valid(), self.annotations.is_valid()])
        if not valid:
            return False
        gateway: Gateway = self.form.cleaned_data["gateway"]
        annotations = self.annotations.as_dict()
        for form in self.annotations.forms:
            key = form.cleaned_data.get("key")
            if key and is_snippet_annotation(key) and not gateway.allow_snippets:
                form.add_error(
                    "key",
                    _("Snippet annotations inject NGINX configuration; gateway %(gateway)s does not allow them.")
                    % {"gateway": gateway.name},
                )
                valid = False
        if sum(len(k) + len(v) for k, v in annotations.items()) > ANNOTATIONS_LIMIT:
            self.annotations.forms[-1].add_error("value", _("All annotations together must stay under 256 KiB."))
            valid = False
        return valid

    def cleaned_backends(self) -> tuple[manifest.Backend, ...]:
        return tuple(
            manifest.Backend(
                path=f.cleaned_data["path"],
                path_type=f.cleaned_data["path_type"],
                service=f.cleaned_data["service"],
                port=f.cleaned_data["port"],
            )
            for f in self.paths.forms
        )

    def cleaned_annotations(self) -> dict[str, str]:
        return self.annotations.as_dict()

    # -- errors from the API server ----------------------------------------------------

    _CAUSE_FIELDS: tuple[tuple[re.Pattern[str], str], ...] = (
        (re.compile(r"^metadata\.name"), "name"),
        (re.compile(r"^spec\.rules\[\d+\]\.host"), "host"),
        (re.compile(r"^spec\.tls\[\d+\]\.hosts"), "host"),
        (re.compile(r"^spec\.tls\[\d+\]\.secretName"), "tls_secret"),
        (re.compile(r"^spec\.ingressClassName"), "gateway"),
    )
    _PATH_CAUSE = re.compile(r"^spec\.rules\[\d+\]\.http\.paths\[(\d+)\]\.(\w+)(?:\.service\.(\w+))?")

    def add_cluster_errors(self, causes: list[Cause], message: str) -> None:
        """Put each 422 cause on the field it names; the rest on the form as a whole."""
        placed = False
        for cause in causes:
            text = f"{cause.message}" if cause.message else message
            for pattern, field in self._CAUSE_FIELDS:
                if pattern.match(cause.field):
                    self.form.add_error(field, text)
                    placed = True
                    break
            else:
                match = self._PATH_CAUSE.match(cause.field)
                if match and int(match.group(1)) < len(self.paths.forms):
                    row = self.paths.forms[int(match.group(1))]
                    part, service_part = match.group(2), match.group(3)
                    field = {"path": "path", "pathType": "path_type"}.get(part) or (
                        "port" if service_part == "port" else "service"
                    )
                    row.add_error(field, text)
                    placed = True
                elif cause.field.startswith("metadata.annotations") and self.annotations.forms:
                    self.annotations.forms[0].add_error("key", text)
                    placed = True
        if not placed:
            self.form.add_error(None, message)

    @property
    def has_errors(self) -> bool:
        return bool(
            self.form.errors or any(self.paths.errors) or self.paths.non_form_errors() or any(self.annotations.errors)
        )
