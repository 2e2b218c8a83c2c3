"""Read-only admin for request records and seal blocks; captured prompts are never shown."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from audit.models import AuditRecord, SealBlock


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The audit trail is append-only: the admin can look, never add, edit or delete."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        return {}  # not even the bulk "delete selected" action


@admin.register(AuditRecord)
class AuditRecordAdmin(ReadOnlyAdmin):
    # `captured` (encrypted prompt/response) stays out of every view and form.
    exclude = ["captured"]
    fields = [f.name for f in AuditRecord._meta.concrete_fields if f.name != "captured"]
    list_display = [
        "id", "created_at", "request_id", "org_slug", "team_slug", "key_prefix",
        "endpoint", "model_requested", "decision", "status", "cost_usd",
    ]  # fmt: skip
    list_filter = ["decision", "status", "endpoint"]
    search_fields = ["request_id", "org_slug", "team_slug", "key_prefix", "end_user"]
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(SealBlock)
class SealBlockAdmin(ReadOnlyAdmin):
    list_display = ["chain", "seq", "kind", "count", "first_at", "last_at", "created_at"]
    list_filter = ["chain", "kind"]
    # `entries` (thousands of rows per block) is left to `manage.py verify_audit`.
    fields = [
        "chain", "seq", "kind", "count", "first_at", "last_at", "created_at",
        "prev_hash", "block_hash", "signature", "header",
    ]  # fmt: skip
