"""Django admin for policies; versions are read-only (publish new ones through the API/UI)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from policies.models import Policy, PolicyVersion
from tenants.admin import OrgScopedAdmin


class VersionInline(admin.TabularInline):  # type: ignore[type-arg]
    model = PolicyVersion
    extra = 0
    fields = ["number", "version", "note", "created_by", "created_at"]
    readonly_fields = ["number", "version", "note", "created_by", "created_at"]
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Policy)
class PolicyAdmin(OrgScopedAdmin):
    list_display = ["name", "org", "current"]
    readonly_fields = ["current"]
    inlines = [VersionInline]
