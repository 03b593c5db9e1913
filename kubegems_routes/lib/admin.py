"""Django admin pieces shared by the apps' admin modules."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import models
from django.http import HttpRequest
from django.utils.text import capfirst


class LabelledTabularInline(admin.TabularInline):
    """A tabular inline whose inputs carry their column's name.

    Django's tabular inline names each column once, in a heading that no input
    is tied to: a screen reader announces an unnamed "edit text" (axe: label,
    critical). Each input gets its field's verbose name as aria-label.
    """

    def formfield_for_dbfield(
        self, db_field: models.Field[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.Field | None:
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if field is not None:
            field.widget.attrs.setdefault("aria-label", capfirst(db_field.verbose_name))
        return field
