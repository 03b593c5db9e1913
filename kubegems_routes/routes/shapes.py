"""The types of the fields ``readback`` reads, for objects that no API server has checked yet (pure).

``readback`` reads objects from the cluster, whose schema the API server enforced. A pasted object is text:
``rules: x`` or ``port: {number: "80"}`` must be refused by its field, as the API server would refuse it,
before ``readback`` reads it. Only the fields ``readback`` reads are typed here; fields it does not know are
refused by ``readback`` itself (a route has no place for them).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

Shape = type | dict[str, Any] | list[Any] | str
# A mapping of strings to strings (labels, annotations): YAML reads an unquoted 30 or true as a number or a bool.
STRINGS = "strings"

_REF = {"group": str, "kind": str, "namespace": str, "name": str, "sectionName": str, "port": int, "weight": int}
_METADATA = {
    "name": str,
    "namespace": str,
    "labels": STRINGS,
    "annotations": STRINGS,
    "finalizers": [str],
    "ownerReferences": [dict],
}
INGRESS: dict[str, Any] = {
    "metadata": _METADATA,
    "spec": {
        "ingressClassName": str,
        "rules": [
            {
                "host": str,
                "http": {
                    "paths": [
                        {
                            "path": str,
                            "pathType": str,
                            "backend": {"service": {"name": str, "port": {"number": int, "name": str}}},
                        }
                    ]
                },
            }
        ],
        "tls": [{"hosts": [str], "secretName": str}],
    },
}
GATEWAY_ROUTE: dict[str, Any] = {
    "metadata": _METADATA,
    "spec": {
        "parentRefs": [_REF],
        "hostnames": [str],
        "rules": [
            {
                "matches": [
                    {
                        "path": {"type": str, "value": str},
                        "method": {"type": str, "service": str, "method": str},
                    }
                ],
                "backendRefs": [_REF],
            }
        ],
    },
}


class WrongType(ValueError):
    """A field whose value is not of its type; the message names the field."""


def check(obj: Any, shape: Shape, where: str = "", *, item: bool = False) -> None:
    """Raise WrongType for the first field of ``obj`` not of its ``shape``. An absent or null field is fine,
    a null ``item`` of a list is not."""
    if obj is None and not item:
        return
    if isinstance(shape, dict):
        if not isinstance(obj, dict):
            raise WrongType(_("%(field)s must be a mapping.") % {"field": where or "-"})
        for key, inner in shape.items():
            check(obj.get(key), inner, f"{where}.{key}" if where else key)
    elif isinstance(shape, list):
        if not isinstance(obj, list):
            raise WrongType(_("%(field)s must be a list.") % {"field": where})
        for i, value in enumerate(obj):
            check(value, shape[0], f"{where}[{i}]", item=True)
    elif shape == STRINGS:
        check(obj, dict, where)
        for key, value in obj.items():
            check(key, str, f"{where}.{key}", item=True)
            check(value, str, f"{where}.{key}", item=True)
    elif shape is int and (isinstance(obj, bool) or not isinstance(obj, int)):
        raise WrongType(_("%(field)s must be a whole number.") % {"field": where})
    elif shape is str and not isinstance(obj, str):
        raise WrongType(_("%(field)s must be a string: quote it.") % {"field": where})
    elif shape is dict and not isinstance(obj, dict):
        raise WrongType(_("%(field)s must be a mapping.") % {"field": where})
