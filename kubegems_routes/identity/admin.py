from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from kubegems_routes.identity.models import GroupRole, SignInAccount


@admin.register(GroupRole)
class GroupRoleAdmin(admin.ModelAdmin):
    list_display = ["group", "role", "tenant", "project", "environment"]
    list_filter = ["role"]
    search_fields = ["group"]
    autocomplete_fields = ["tenant", "project", "environment"]


@admin.register(SignInAccount)
class SignInAccountAdmin(admin.ModelAdmin):
    """Written by sign-ins only; admins look, or delete one to let the provider account be linked afresh."""

    list_display = ["user", "issuer", "subject", "groups", "staff_granted", "last_sign_in"]
    search_fields = ["user__username", "subject"]
    readonly_fields = ["user", "issuer", "subject", "groups", "staff_granted", "last_sign_in"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
