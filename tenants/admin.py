"""Django admin for platform superusers; tenant staff (if any) only see their organization."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from tenants.models import ApiKey, Membership, Organization, PersonalToken, Team


class OrgScopedAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Superusers see everything; staff with a membership see their organization only."""

    org_path = "org"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        membership = getattr(request.user, "membership", None)
        if membership is None:
            return qs.none()
        return qs.filter(**{self.org_path: membership.org})


@admin.register(Organization)
class OrganizationAdmin(OrgScopedAdmin):
    org_path = "pk"
    list_display = ["slug", "name", "time_zone", "created_at"]
    search_fields = ["slug", "name"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = admin.ModelAdmin.get_queryset(self, request)
        if request.user.is_superuser:
            return qs
        membership = getattr(request.user, "membership", None)
        return qs.filter(pk=membership.org_id) if membership else qs.none()


@admin.register(Team)
class TeamAdmin(OrgScopedAdmin):
    list_display = ["slug", "name", "org", "cost_center"]
    list_filter = ["org"]
    filter_horizontal = ["allowed_models"]


@admin.register(Membership)
class MembershipAdmin(OrgScopedAdmin):
    list_display = ["user", "org", "role"]
    list_filter = ["role", "org"]


@admin.register(ApiKey)
class ApiKeyAdmin(OrgScopedAdmin):
    org_path = "team__org"
    list_display = ["name", "prefix", "team", "created_at", "expires_at", "revoked_at"]
    list_filter = ["team__org"]
    # The hash and lookup id are not editable; keys are issued via the API or create_api_key.
    readonly_fields = ["prefix", "created_at", "last_used_at"]
    exclude = ["key_hash", "lookup_id"]
    filter_horizontal = ["allowed_models"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(PersonalToken)
class PersonalTokenAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "user", "created_at", "expires_at", "revoked_at"]
    exclude = ["key_hash", "lookup_id"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
