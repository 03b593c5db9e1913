"""Cluster objects read back into a route's values: the inverse of ``manifest.build``.

An Ingress, HTTPRoute or GRPCRoute becomes ``RouteValues``, or ``NotImportable`` says what the route form
cannot express. Nothing here calls the cluster: the object is read by the caller (import, take-over).
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from kubegems_routes.gateways.models import Gateway
from kubegems_routes.kube.client import Manifest
from kubegems_routes.routes import drift, gateway_behaviour, manifest
from kubegems_routes.routes.errors import NotImportable
from kubegems_routes.routes.kept import kept_from
from kubegems_routes.routes.models import Route
from kubegems_routes.routes.values import RouteValues
from kubegems_routes.tenancy.models import Environment


def values_from_ingress(ingress: Manifest, environment: Environment) -> RouteValues:
    """Read an Ingress back into a route's values; NotImportable says what a route cannot express."""
    spec = ingress.get("spec") or {}
    ingress_class = spec.get("ingressClassName") or ""
    gateway = (
        Gateway.objects.for_environment(environment)
        .filter(kind=Gateway.Kind.INGRESS, ingress_class=ingress_class)
        .first()
    )
    if gateway is None:
        raise NotImportable(
            _("Its ingress class %(cls)s is not a gateway of this environment.") % {"cls": ingress_class or "-"}
        )
    rules = spec.get("rules") or []
    if len(rules) != 1 or spec.get("defaultBackend"):
        raise NotImportable(_("A route has exactly one rule and no default backend."))
    _refuse_unknown(spec, {"ingressClassName", "rules", "tls"}, "spec")
    _refuse_unknown(rules[0], {"host", "http"}, "spec.rules[0]")
    _refuse_unknown(rules[0].get("http") or {}, {"paths"}, "spec.rules[0].http")
    backends = []
    for i, path in enumerate((rules[0].get("http") or {}).get("paths") or []):
        where = f"spec.rules[0].http.paths[{i}]"
        _refuse_unknown(path, {"path", "pathType", "backend"}, where)
        service = (path.get("backend") or {}).get("service")
        if not service:
            raise NotImportable(_("Only Service backends can be imported."))
        _refuse_unknown(service, {"name", "port"}, f"{where}.backend.service")
        port = service.get("port") or {}
        backends.append(
            manifest.Backend(
                path=path.get("path", "/"),
                path_type=path.get("pathType", "Prefix"),
                service=service.get("name", ""),
                port=str(port.get("number") or port.get("name") or ""),
            )
        )
    if not backends:
        raise NotImportable(_("The Ingress has no paths."))
    tls = spec.get("tls") or []
    _refuse_tls(tls, str(rules[0].get("host", "")))
    annotations = drift.managed_view(ingress)["annotations"]
    if manifest.WEBSOCKET_SERVICES in annotations:
        protocol = manifest.WSS if tls else manifest.WS
    elif manifest.GRPC_SERVICES in annotations:
        protocol = manifest.GRPC
    else:
        protocol = manifest.HTTPS if tls else manifest.HTTP
    generated = manifest.protocol_annotations(protocol, [b.service for b in backends])
    secret = (tls[0].get("secretName") or "") if tls else ""
    name = str(ingress.get("metadata", {}).get("name", ""))
    # Asking the gateway's ClusterIssuer for a Secret named as the console names it: a route's certificate.
    certificate = bool(
        tls
        and gateway.cluster_issuer
        and annotations.get(manifest.CLUSTER_ISSUER) == gateway.cluster_issuer
        and secret == manifest.certificate_secret_name(name)
    )
    if certificate:
        generated = {**generated, manifest.CLUSTER_ISSUER: gateway.cluster_issuer}
    # Keep only what differs from the gateway's defaults and the protocol's own:
    # the rest comes back by itself when the route is built.
    base = {**gateway.annotation_dict(), **generated}
    return RouteValues(
        gateway=gateway,
        host=rules[0].get("host", ""),
        protocol=protocol,
        tls_secret=secret,
        backends=tuple(backends),
        annotations={k: v for k, v in annotations.items() if base.get(k) != v},
        tls_source=manifest.TLS_FROM_CERT_MANAGER if certificate else manifest.TLS_FROM_SECRET,
        kept=kept_from(ingress),
    )


def _refuse_tls(tls: list[Manifest], host: str) -> None:
    """A route has one certificate, for its own host (an empty host list means the rule's host)."""
    if len(tls) > 1:
        raise NotImportable(_("A route has one TLS certificate; this Ingress has %(n)s.") % {"n": len(tls)})
    if tls:
        _refuse_unknown(tls[0], {"hosts", "secretName"}, "spec.tls[0]")
        others = [h for h in tls[0].get("hosts") or [] if h != host]
        if others:
            raise NotImportable(
                _("Its certificate is also for %(hosts)s; a route's is for its own host only.")
                % {"hosts": ", ".join(others)}
            )


def values_from_gateway_route(obj: Manifest, environment: Environment, *, current: Route | None = None) -> RouteValues:
    """Read an HTTPRoute or GRPCRoute back into a route's values; NotImportable says what a route cannot express.

    The gateway is the environment's Gateway API gateway its parentRef names (namespace/name); the
    protocol comes from the kind and the listener (sectionName): grpc for a GRPCRoute, https on the
    gateway's HTTPS listener, http on its HTTP listener. An HTTPRoute does not say whether it carries
    WebSocket: ``current`` (the route being taken over) keeps ws or wss where the listener agrees.
    """
    kind = str(obj.get("kind", ""))
    spec = obj.get("spec") or {}
    namespace = str((obj.get("metadata") or {}).get("namespace") or environment.namespace)
    _refuse_unknown(spec, {"parentRefs", "hostnames", "rules"}, "spec")
    gateway, section = _attached_gateway(spec.get("parentRefs") or [], namespace, environment)
    protocol = _gateway_protocol(kind, gateway, section, current)
    hostnames = spec.get("hostnames") or []
    if len(hostnames) != 1:
        raise NotImportable(_("A route has exactly one host; this one has %(n)s.") % {"n": len(hostnames)})
    backends: list[manifest.Backend] = []
    paths: set[tuple[str, str]] = set()
    behaviour: list[Manifest] = []  # each rule's filters and timeouts
    rule_of: list[int] = []  # the rule each row comes from
    for i, rule in enumerate(spec.get("rules") or []):
        _refuse_unknown(rule, {"matches", "backendRefs", "filters", "timeouts"}, f"spec.rules[{i}]")
        behaviour.append({k: rule[k] for k in ("filters", "timeouts") if rule.get(k)})
        refs = _service_refs(rule.get("backendRefs") or [], namespace, f"spec.rules[{i}].backendRefs")
        for path, path_type in _rule_paths(kind, rule.get("matches") or [], f"spec.rules[{i}].matches"):
            # A path row per backendRef: rows sharing a path are one rule again when the route is built.
            rows = [
                manifest.Backend(path=path, path_type=path_type, service=service, port=port, weight=weight)
                for service, port, weight in refs
            ]
            key = manifest.rule_key(protocol, rows[0])
            if key in paths:
                raise NotImportable(
                    _("Path %(path)s is matched by more than one rule; a route sends each path to one set of backends.")
                    % {"path": path}
                )
            paths.add(key)
            backends += rows
            rule_of += [i] * len(rows)
    if not backends:
        raise NotImportable(_("It has no rules."))
    annotations = drift.managed_view(obj)["annotations"]
    _refuse_behaviour(behaviour, annotations, kind, backends, rule_of)
    base = gateway.annotation_dict()  # no protocol annotation in Gateway API
    return RouteValues(
        gateway=gateway,
        host=str(hostnames[0]),
        protocol=protocol,
        tls_secret="",
        backends=tuple(backends),
        annotations={k: v for k, v in annotations.items() if base.get(k) != v},
        kept=kept_from(obj),
    )


def _refuse_behaviour(
    behaviour: list[Manifest],
    annotations: dict[str, str],
    kind: str,
    backends: list[manifest.Backend],
    rule_of: list[int],
) -> None:
    """Filters and timeouts are a route's behaviours, written from its annotations (gateway_behaviour): read
    back only where they are exactly what those annotations make of each row (``rule_of``: each row's rule)."""
    if not any(behaviour):
        return
    made = gateway_behaviour.translate(annotations, kind, backends).rules
    if any(made[row] != behaviour[rule] for row, rule in enumerate(rule_of)):
        fields = sorted({f"spec.rules[{i}].{k}" for i, rule in enumerate(behaviour) for k in rule})
        raise NotImportable(
            _("The route form expresses %(fields)s only as its behaviour fields write them.")
            % {"fields": ", ".join(fields)}
        )


def _refuse_unknown(part: Manifest, known: set[str], where: str) -> None:
    """Refuse a field the route form has no place for (``where``: the field path of ``part``)."""
    extra = sorted(f"{where}.{k}" for k, v in part.items() if k not in known and v not in (None, [], {}, ""))
    if extra:
        raise NotImportable(_("The route form cannot express %(fields)s.") % {"fields": ", ".join(extra)})


def _attached_gateway(refs: list[Manifest], namespace: str, environment: Environment) -> tuple[Gateway, str]:
    """The environment's gateway the route's only parentRef names, and the listener it attaches to."""
    if len(refs) != 1:
        raise NotImportable(
            _("A route attaches to exactly one Gateway; this one has %(n)s parentRefs.") % {"n": len(refs)}
        )
    ref = refs[0]
    if ref.get("group", manifest.GATEWAY_GROUP) != manifest.GATEWAY_GROUP or ref.get("kind", "Gateway") != "Gateway":
        raise NotImportable(_("Its parent is not a Gateway."))
    if ref.get("port") is not None:
        raise NotImportable(_("The route form cannot express a parentRef's port."))
    gateway_namespace, name = str(ref.get("namespace") or namespace), str(ref.get("name", ""))
    gateway = (
        Gateway.objects.for_environment(environment)
        .filter(kind=Gateway.Kind.GATEWAY_API, gateway_namespace=gateway_namespace, gateway_name=name)
        .first()
    )
    if gateway is None:
        raise NotImportable(
            _("Its Gateway %(gateway)s is not a gateway of this environment.")
            % {"gateway": f"{gateway_namespace}/{name}"}
        )
    return gateway, str(ref.get("sectionName") or "")


def _gateway_protocol(kind: str, gateway: Gateway, section: str, current: Route | None) -> str:
    if kind == manifest.GRPC_ROUTE:
        candidates = [manifest.GRPC]
    elif kind == manifest.HTTP_ROUTE:
        # On a gateway whose two listeners are the same, http and https write the same object.
        candidates = [p for p in manifest.PROTOCOLS if p != manifest.GRPC]
    else:
        raise NotImportable(_("Only HTTPRoutes and GRPCRoutes can be imported."))
    fitting = [p for p in candidates if (gateway.parent() or manifest.GatewayParent("", "")).listener(p) == section]
    if not fitting:
        raise NotImportable(
            _("It attaches to listener %(section)s, which is not the listener gateway %(gateway)s uses for it.")
            % {"section": section or "-", "gateway": gateway.name}
        )
    if current is not None and current.protocol in fitting:
        return current.protocol
    return fitting[0]


def _service_refs(refs: list[Manifest], namespace: str, where: str) -> list[tuple[str, str, int]]:
    """(Service, port number, weight) of each backendRef of a rule: Services of the route's namespace."""
    if not refs:
        raise NotImportable(_("A rule of it has no backend."))
    found: list[tuple[str, str, int]] = []
    for i, ref in enumerate(refs):
        _refuse_unknown(ref, {"group", "kind", "name", "namespace", "port", "weight"}, f"{where}[{i}]")
        if ref.get("group", "") != "" or ref.get("kind", "Service") != "Service":
            raise NotImportable(_("Only Service backends can be imported."))
        if (ref.get("namespace") or namespace) != namespace:
            raise NotImportable(_("Its backend is a Service of another namespace."))
        if ref.get("port") is None:
            raise NotImportable(_("Its backend has no port."))
        service, port = str(ref.get("name", "")), str(ref["port"])
        if any((service, port) == (s, p) for s, p, _w in found):
            raise NotImportable(
                _("Service %(service)s port %(port)s is named twice in one rule.") % {"service": service, "port": port}
            )
        found.append((service, port, int(ref.get("weight", manifest.DEFAULT_WEIGHT))))
    return found


def _rule_paths(kind: str, matches: list[Manifest], where: str) -> list[tuple[str, str]]:
    """(path, path type) of each match of a rule: one path row each (rules match by specificity, not order)."""
    if not matches:
        return [("/", "Prefix")]
    found = []
    for i, match in enumerate(matches):
        if kind == manifest.GRPC_ROUTE:
            _refuse_unknown(match, {"method"}, f"{where}[{i}]")
            method = match.get("method") or {}
            if method.get("type", "Exact") != "Exact" or (method.get("method") and not method.get("service")):
                raise NotImportable(_("The route form expresses gRPC matches by service and method only."))
            parts = [str(p) for p in (method.get("service"), method.get("method")) if p]
            found.append(("/" + "/".join(parts), "Prefix"))
            continue
        _refuse_unknown(match, {"path"}, f"{where}[{i}]")
        path = match.get("path") or {"type": "PathPrefix", "value": "/"}
        path_type = manifest.FORM_PATH_TYPES.get(path.get("type", "PathPrefix"))
        if path_type is None:
            raise NotImportable(
                _("The route form offers Prefix and Exact paths, not %(type)s.") % {"type": path.get("type")}
            )
        found.append((str(path.get("value", "/")), path_type))
    return found
