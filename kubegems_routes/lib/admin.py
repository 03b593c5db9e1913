"""Django admin pieces shared by the apps' admin modules."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import models
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _


class LabelledInlineFormSet(BaseInlineFormSet):
    """Rows whose Delete checkbox is named too: Django's sits under a column heading no input is tied to."""

    def add_fields(self, form: forms.ModelForm, index: int | None) -> None:
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            form.fields["DELETE"].widget.attrs.setdefault("aria-label", _("Delete"))


class LabelledTabularInline(admin.TabularInline):
    """A tabular inline whose inputs carry their column's name.

    Django's tabular inline names each column once, in a heading that no input
    is tied to: a screen reader announces an unnamed "edit text" (axe: label,
    critical). Each input gets its field's verbose name as aria-label, and the
    Delete checkbox its own (``LabelledInlineFormSet``; a formset of an inline
    that extends this one extends that).
    """

    formset = LabelledInlineFormSet

    def formfield_for_dbfield(
        self, db_field: models.Field[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.Field | None:
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if field is not None:
            field.widget.attrs.setdefault("aria-label", capfirst(db_field.verbose_name))
        return field
