"""Django admin for the cost guard (platform superusers)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from billing.models import Budget, BudgetPeriod, Price, RateLimit, Reservation, UsageRecord


@admin.register(Price)
class PriceAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["model", "input_per_million", "output_per_million", "effective_from", "source"]
    search_fields = ["model"]

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # versions are immutable: add a new one instead


@admin.register(RateLimit)
class RateLimitAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["scope", "org", "team", "key", "model", "rpm", "tpm", "max_parallel"]


@admin.register(Budget)
class BudgetAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["scope", "org", "team", "key", "period", "limit_usd", "hard"]


@admin.register(BudgetPeriod)
class BudgetPeriodAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["budget", "starts_at", "spent", "reserved", "alerts_sent"]
    readonly_fields = [
        "budget",
        "starts_at",
        "ends_at",
        "spent",
        "reserved",
        "tokens_spent",
        "tokens_reserved",
        "alerts_sent",
    ]


@admin.register(Reservation)
class ReservationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["request_id", "amount", "status", "created_at", "expires_at"]


@admin.register(UsageRecord)
class UsageRecordAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = [
        "created_at",
        "request_id",
        "org",
        "team",
        "model_requested",
        "cost_usd",
        "status",
    ]
    list_filter = ["status", "org"]

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
