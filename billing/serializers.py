"""Management API representations of prices, limits and budgets."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from billing.models import Budget, Price, RateLimit
from tenants.models import ApiKey, Team


class PriceSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = Price
        fields = [
            "id", "model", "input_per_million", "output_per_million", "cached_input_per_million",
            "cache_write_per_million", "per_request", "max_output_tokens", "effective_from",
            "source", "created_at",
        ]  # fmt: skip
        read_only_fields = ["id", "created_at"]


class ScopedSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    """Exactly one of team or key (organization-wide when neither is given)."""

    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), required=False, allow_null=True
    )
    key = serializers.PrimaryKeyRelatedField(
        queryset=ApiKey.objects.all(), required=False, allow_null=True
    )
    scope = serializers.CharField(read_only=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("team") and attrs.get("key"):
            raise serializers.ValidationError("Give a team or a key, not both.")
        return attrs


class RateLimitSerializer(ScopedSerializer):
    class Meta:
        model = RateLimit
        fields = ["id", "scope", "team", "key", "model", "rpm", "tpm", "max_parallel"]
        read_only_fields = ["id", "scope"]


class BudgetSerializer(ScopedSerializer):
    class Meta:
        model = Budget
        fields = [
            "id", "scope", "team", "key", "period", "limit_usd", "limit_tokens", "hard",
            "alert_at", "alert_emails", "alert_webhook",
        ]  # fmt: skip
        read_only_fields = ["id", "scope"]

    def validate_alert_at(self, value: Any) -> list[int]:
        if not isinstance(value, list) or not all(
            isinstance(v, int) and 0 < v <= 1000 for v in value
        ):
            raise serializers.ValidationError("A list of percentages between 1 and 1000.")
        return sorted(value)
