"""A manifest pasted into the create form: read as an import reads a cluster object, into the form's values.

The text is parsed safely (PyYAML's safe loader, without aliases), must hold one Ingress, HTTPRoute or
GRPCRoute, and is read back by ``readback`` with the import's rules and refusals. Nothing is saved: the
values fill the create form, whose checks and ``save_route`` then decide as for a route typed by hand.

What the form has no place for is not carried: the parts an import would keep (labels, finalizers, owner
references, kubectl's last-applied configuration) are named in a note, and ``status`` and the fields the
API server sets (uid, resourceVersion, ...) are ignored. An object written for another namespace is
created in this environment's namespace, said in a note: the console writes nowhere else, and a manifest
copied from another environment is the common case.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import yaml
from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kubegems_routes.gateways.models import Gateway
from kubegems_routes.kube.client import GATEWAY_ROUTE_KINDS, Manifest
from kubegems_routes.routes import manifest, shapes
from kubegems_routes.routes.errors import NotImportable
from kubegems_routes.routes.forms import MAX_ANNOTATIONS, MAX_PATHS, FormState
from kubegems_routes.routes.kept import kept_fields, kept_from
from kubegems_routes.routes.models import Route
from kubegems_routes.routes.readback import values_from_gateway_route, values_from_ingress
from kubegems_routes.routes.values import RouteValues
from kubegems_routes.tenancy.models import Environment

MAX_CHARS = 512 * 1024
MAX_DEPTH = 50  # a route object nests about 12 levels deep
INGRESS_VERSION = "networking.k8s.io/v1"
# Metadata the API server sets: read back from a cluster object, meaningless for a new one.
SERVER_METADATA = frozenset(
    {
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "managedFields",
        "selfLink",
    }
)
# What the form reads of metadata, or the kept parts it names in a note.
READ_METADATA = frozenset({"name", "namespace", "labels", "annotations", "finalizers", "ownerReferences"})


class Refused(Exception):
    """Why the text cannot fill the form, in words for the user."""


@dataclass(frozen=True)
class Pasted:
    """A pasted object read into a route's values, and what the user should know about it."""

    kind: str
    name: str
    values: RouteValues
    notes: list[str] = field(default_factory=list)

    def state(self) -> FormState:
        """The values as the create form holds them (shown unsaved, as a row action shows its result)."""
        values = self.values
        # As an edit shows a route: the behaviours in their fields, the rewrites on their path rows.
        return FormState.with_behaviours(
            {
                "name": self.name,
                "gateway": str(values.gateway.pk),
                "host": values.host,
                "protocol": values.protocol,
                "tls_secret": values.tls_secret,
                "tls_source": values.tls_source,
            },
            [
                {
                    "path": b.path,
                    "path_type": b.path_type,
                    "service": b.service,
                    "port": b.port,
                    "weight": str(b.weight),
                }
                for b in values.backends
            ],
            values.annotations,
        )


class _AliasFound(yaml.MarkedYAMLError):
    pass


class _TooDeep(yaml.MarkedYAMLError):
    pass


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader without aliases (a few lines of anchors can stand for millions of nodes), and
    with timestamps read as strings, as Kubernetes reads them. Nesting is bounded: the composer recurses, and
    a few thousand brackets would exhaust Python's stack."""

    depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            raise _AliasFound(None, None, "alias", self.peek_event().start_mark)
        if self.depth >= MAX_DEPTH:
            raise _TooDeep(None, None, "depth", self.peek_event().start_mark)
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_timestamp(self, node: yaml.Node) -> str:
        return str(self.construct_scalar(node))  # type: ignore[arg-type]  # a timestamp is a scalar node


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_timestamp)


def load(text: str) -> Manifest:
    """The one object of the text (YAML or JSON), or Refused saying where and why it cannot be read."""
    try:
        documents = [d for d in yaml.load_all(text, Loader=_Loader) if d is not None]
    except _AliasFound as exc:
        raise Refused(
            _(
                "Anchors and aliases (& and *) are not read here (line %(line)s, column %(column)s): "
                "write the values out."
            )
            % _where(exc)
        ) from exc
    except _TooDeep as exc:
        raise Refused(
            _("Values are nested more than %(max)s levels deep (line %(line)s, column %(column)s): no route is.")
            % {**_where(exc), "max": MAX_DEPTH}
        ) from exc
    except yaml.MarkedYAMLError as exc:
        raise Refused(
            _("This is not valid YAML (line %(line)s, column %(column)s): %(problem)s")
            % {**_where(exc), "problem": exc.problem or exc.context or ""}
        ) from exc
    except yaml.YAMLError as exc:
        raise Refused(_("This is not valid YAML: %(problem)s") % {"problem": exc}) from exc
    if not documents:
        raise Refused(_("There is no object in this text."))
    if len(documents) > 1:
        raise Refused(
            _("This text holds %(n)s documents: paste one Ingress, HTTPRoute or GRPCRoute.") % {"n": len(documents)}
        )
    obj = documents[0]
    if not isinstance(obj, dict) or not isinstance(obj.get("metadata", {}), dict):
        raise Refused(_("This is not a Kubernetes object: one with apiVersion, kind, metadata and spec."))
    return obj


def _where(exc: yaml.MarkedYAMLError) -> dict[str, int]:
    mark = exc.problem_mark or exc.context_mark
    return {"line": mark.line + 1, "column": mark.column + 1} if mark else {"line": 1, "column": 1}


def read(text: str, environment: Environment) -> Pasted:
    """The pasted object as a route's values, or Refused with the reason (import's, for what a route cannot
    express). Reads the environment's gateways and routes; never the cluster."""
    obj = load(text)
    kind, version = str(obj.get("kind") or ""), str(obj.get("apiVersion") or "")
    if kind not in ("Ingress", *GATEWAY_ROUTE_KINDS):
        raise Refused(
            _("%(kind)s is not a route: paste an Ingress, an HTTPRoute or a GRPCRoute.") % {"kind": kind or "-"}
        )
    group = version.rpartition("/")[0]
    if (kind == "Ingress" and version != INGRESS_VERSION) or (kind != "Ingress" and group != manifest.GATEWAY_GROUP):
        raise Refused(
            _("%(kind)s of apiVersion %(version)s: the form reads %(wanted)s.")
            % {
                "kind": kind,
                "version": version or "-",
                "wanted": INGRESS_VERSION if kind == "Ingress" else f"{manifest.GATEWAY_GROUP}/v1",
            }
        )
    try:
        shapes.check(obj, shapes.INGRESS if kind == "Ingress" else shapes.GATEWAY_ROUTE)
    except shapes.WrongType as exc:
        raise Refused(str(exc)) from exc
    metadata = obj.get("metadata") or {}
    notes = []
    namespace = metadata.get("namespace")
    if namespace and namespace != environment.namespace:
        notes.append(
            _(
                "It was written for namespace %(theirs)s: the route is created in this environment's namespace, "
                "%(ours)s, and its Services are those of %(ours)s."
            )
            % {"theirs": namespace, "ours": environment.namespace}
        )
    # Read as the object would be here: a parentRef or backendRef without a namespace means this one.
    obj = copy.deepcopy(obj)
    obj["metadata"] = {**metadata, "namespace": environment.namespace}
    try:
        if kind == "Ingress":
            values = values_from_ingress(obj, environment)
        else:
            values = values_from_gateway_route(obj, environment)
    except NotImportable as exc:
        raise Refused(_gateway_hint(str(exc), kind, obj, environment)) from exc
    if values.kind != kind:
        raise Refused(_("Its gateway would make it another kind of object."))
    if len(values.backends) > MAX_PATHS:
        raise Refused(
            _("A route has at most %(max)s paths; this one has %(n)s.") % {"max": MAX_PATHS, "n": len(values.backends)}
        )
    if len(values.annotations) > MAX_ANNOTATIONS:
        raise Refused(
            _("A route has at most %(max)s annotations; this one has %(n)s.")
            % {"max": MAX_ANNOTATIONS, "n": len(values.annotations)}
        )
    dropped = kept_fields(kept_from(obj)) + [
        f"metadata.{k}" for k in sorted(map(str, metadata)) if k not in READ_METADATA | SERVER_METADATA
    ]
    if dropped:
        notes.append(
            _("The form has no place for %(fields)s: the new route's object will not have them.")
            % {"fields": ", ".join(dropped)}
        )
    name = str(metadata.get("name") or "")
    if name and Route.objects.filter(environment=environment, name=name).exists():
        notes.append(_("A route named %(name)s exists here already: give this one another name.") % {"name": name})
    return Pasted(kind, name, values, notes)


def _gateway_hint(why: str, kind: str, obj: Manifest, environment: Environment) -> str:
    """Import's reason; when the object names none of the environment's gateways, which ones it could name."""
    gateways = list(Gateway.objects.for_environment(environment))
    if kind == "Ingress":
        wanted = str((obj.get("spec") or {}).get("ingressClassName") or "")
        named = any(not g.is_gateway_api and g.ingress_class == wanted for g in gateways)
    else:
        scopes = manifest.parent_scopes(obj)
        named = any((p := g.parent()) is not None and p.scope in scopes for g in gateways)
    if named:
        return why
    offered = [
        _("ingress class %(cls)s") % {"cls": g.ingress_class}
        if not g.is_gateway_api
        else _("Gateway %(gateway)s") % {"gateway": f"{g.gateway_namespace}/{g.gateway_name}"}
        for g in gateways
        if g.is_gateway_api == (kind != "Ingress")
    ]
    if not offered:
        return why
    return _("%(why)s This environment's gateways: %(offered)s.") % {"why": why, "offered": ", ".join(offered)}


class PasteForm(forms.Form):
    """The create form's "paste a manifest": a valid paste cleans into ``Pasted``."""

    manifest = forms.CharField(
        label=gettext_lazy("Manifest (YAML or JSON)"),
        max_length=MAX_CHARS,
        strip=False,
        widget=forms.Textarea(
            attrs={"rows": 10, "spellcheck": "false", "autocomplete": "off", "class": "font-monospace"}
        ),
    )

    def __init__(self, *args: Any, environment: Environment, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.environment = environment

    def clean_manifest(self) -> Pasted:
        try:
            return read(str(self.cleaned_data["manifest"]), self.environment)
        except Refused as exc:
            raise forms.ValidationError(str(exc), code="refused") from exc
