"""Rate limits, the versioned price book, budgets, reservations and usage rows.

Money is Decimal (NUMERIC in the database), never float. Budgets are held exactly by
conditional UPDATEs on BudgetPeriod rows (see billing/budgets.py), so concurrent requests on
any number of processes cannot overspend.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from django.db import models
from django.db.models import Q
from django.utils import timezone

from tenants.models import ApiKey, ConfigModel, ConfigQuerySet, Organization, Team

MONEY: dict[str, Any] = {"max_digits": 20, "decimal_places": 10}


class Scope(models.TextChoices):
    ORG = "org", "Organization"
    TEAM = "team", "Team"
    KEY = "key", "API key"


class ScopedModel(ConfigModel):
    """Belongs to exactly one of organization, team or key (a check constraint says so)."""

    org = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        abstract = True

    @property
    def scope(self) -> Scope:
        if self.key_id:
            return Scope.KEY
        return Scope.TEAM if self.team_id else Scope.ORG

    @property
    def owner_org_id(self) -> int:
        if self.key is not None:
            return int(self.key.team.org_id)
        if self.team is not None:
            return int(self.team.org_id)
        return int(self.org_id)  # type: ignore[arg-type]


def _one_scope(name: str) -> models.CheckConstraint:
    only_org = Q(org__isnull=False, team__isnull=True, key__isnull=True)
    only_team = Q(org__isnull=True, team__isnull=False, key__isnull=True)
    only_key = Q(org__isnull=True, team__isnull=True, key__isnull=False)
    return models.CheckConstraint(condition=only_org | only_team | only_key, name=name)


class RateLimit(ScopedModel):
    """Requests/tokens per minute and parallel requests for a scope, optionally per model."""

    model = models.CharField(max_length=128, blank=True, help_text="Empty: all models.")
    rpm = models.PositiveIntegerField(null=True, blank=True)
    tpm = models.PositiveIntegerField(null=True, blank=True)
    max_parallel = models.PositiveIntegerField(null=True, blank=True)

    objects: ClassVar[ConfigQuerySet] = ConfigQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        constraints = [
            _one_scope("ratelimit_one_scope"),
            models.UniqueConstraint(
                fields=["org", "team", "key", "model"], name="ratelimit_unique"
            ),
        ]


class PriceQuerySet(models.QuerySet["Price"]):
    def current(self, model: str, at: Any = None) -> Price | None:
        """The price version in force for a model at a time (default: now)."""
        at = at or timezone.now()
        return (
            self.filter(model=model, effective_from__lte=at)
            .order_by("-effective_from", "-id")
            .first()
        )


class Price(ConfigModel):
    """One immutable price version; a change is a new row with a later effective_from."""

    model = models.CharField(max_length=200, db_index=True)
    input_per_million = models.DecimalField(**MONEY, default=Decimal(0))
    output_per_million = models.DecimalField(**MONEY, default=Decimal(0))
    cached_input_per_million = models.DecimalField(**MONEY, null=True, blank=True)
    cache_write_per_million = models.DecimalField(**MONEY, null=True, blank=True)
    per_request = models.DecimalField(**MONEY, default=Decimal(0))
    # Longest answer the model can give: what a request without max_tokens reserves.
    max_output_tokens = models.PositiveIntegerField(default=16384)
    effective_from = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects: ClassVar[PriceQuerySet] = PriceQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        indexes = [models.Index(fields=["model", "-effective_from"], name="price_lookup")]

    def __str__(self) -> str:
        return f"{self.model} v{self.pk} from {self.effective_from:%Y-%m-%d}"

    def same_rates(self, other: dict[str, Decimal | None]) -> bool:
        return all(getattr(self, name) == value for name, value in other.items())


class Period(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"


class Budget(ScopedModel):
    """Spend allowed per calendar period (in the organization's time zone)."""

    period = models.CharField(max_length=8, choices=Period.choices, default=Period.MONTHLY)
    limit_usd = models.DecimalField(**MONEY)
    limit_tokens = models.BigIntegerField(null=True, blank=True)
    # Hard budgets reject requests that would exceed them; soft ones only alert.
    hard = models.BooleanField(default=True)
    alert_at = models.JSONField(
        default=list, blank=True, help_text="Percentages, e.g. [50, 80, 100]"
    )
    alert_emails = models.JSONField(default=list, blank=True)
    alert_webhook = models.URLField(blank=True)

    objects: ClassVar[ConfigQuerySet] = ConfigQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        constraints = [
            _one_scope("budget_one_scope"),
            models.UniqueConstraint(fields=["org", "team", "key"], name="budget_unique_scope"),
        ]


class BudgetPeriod(models.Model):
    """The running counters of one budget for one period; the unit the database locks."""

    budget = models.ForeignKey(Budget, on_delete=models.CASCADE, related_name="periods")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    spent = models.DecimalField(**MONEY, default=Decimal(0))
    reserved = models.DecimalField(**MONEY, default=Decimal(0))
    tokens_spent = models.BigIntegerField(default=0)
    tokens_reserved = models.BigIntegerField(default=0)
    alerts_sent = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["budget", "starts_at"], name="budgetperiod_unique"),
        ]


class Reservation(models.Model):
    """Money held for one in-flight request; settled (or released) exactly once."""

    class Status(models.TextChoices):
        HELD = "held"
        SETTLED = "settled"
        RELEASED = "released"

    request_id = models.CharField(max_length=64, unique=True)
    amount = models.DecimalField(**MONEY)
    tokens = models.BigIntegerField(default=0)
    periods = models.JSONField(default=list)  # BudgetPeriod ids, in lock order
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.HELD)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)


class UsageRecord(models.Model):
    """One row per request that reached a provider (streams and disconnects included)."""

    request_id = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    org = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="+")
    key = models.ForeignKey(ApiKey, null=True, on_delete=models.SET_NULL, related_name="+")
    key_prefix = models.CharField(max_length=32)
    end_user = models.CharField(max_length=200, blank=True)
    endpoint = models.CharField(max_length=64)
    model_requested = models.CharField(max_length=200)
    model_served = models.CharField(max_length=200, blank=True)
    provider = models.CharField(max_length=64, blank=True)
    deployment_id = models.BigIntegerField(null=True)
    prompt_tokens = models.BigIntegerField(default=0)
    completion_tokens = models.BigIntegerField(default=0)
    cached_tokens = models.BigIntegerField(default=0)
    cache_write_tokens = models.BigIntegerField(default=0)
    reasoning_tokens = models.BigIntegerField(default=0)
    usage_estimated = models.BooleanField(default=False)
    cost_usd = models.DecimalField(**MONEY, default=Decimal(0))
    price = models.ForeignKey(Price, null=True, on_delete=models.PROTECT, related_name="+")
    status = models.PositiveSmallIntegerField()
    stream = models.BooleanField(default=False)
    latency_ms = models.FloatField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["org", "created_at"], name="usage_org_time"),
            models.Index(fields=["team", "created_at"], name="usage_team_time"),
        ]


class Rollup(models.Model):
    """Aggregates of audit records per period and scope; recomputed idempotently by Celery.

    Dashboards and finance reports read these, never the raw rows.

    `granularity` hour periods start on UTC hours; day and month periods start at local
    midnight in the organization's time zone (so half-hour offsets are exact).
    """

    class Granularity(models.TextChoices):
        HOUR = "hour"
        DAY = "day"
        MONTH = "month"

    granularity = models.CharField(max_length=5, choices=Granularity.choices)
    period_start = models.DateTimeField()
    org_id = models.BigIntegerField()
    team_id = models.BigIntegerField(default=0)
    key_id = models.BigIntegerField(default=0)
    model = models.CharField(max_length=200, blank=True)
    requests = models.BigIntegerField(default=0)
    blocked = models.BigIntegerField(default=0)
    errors = models.BigIntegerField(default=0)
    upstream_errors = models.BigIntegerField(default=0)
    prompt_tokens = models.BigIntegerField(default=0)
    completion_tokens = models.BigIntegerField(default=0)
    cost_usd = models.DecimalField(**MONEY, default=Decimal(0))

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["granularity", "period_start", "org_id", "team_id", "key_id", "model"],
                name="rollup_unique",
            )
        ]
        indexes = [
            models.Index(fields=["org_id", "granularity", "period_start"], name="rollup_org")
        ]


class MonthClose(models.Model):
    """A closed month: the report frozen as JSON with a checksum, so later changes can't alter it.

    Rows are never updated or deleted (save() of an existing row and delete() raise); corrections
    go into an open month as Adjustment rows.
    """

    org = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    month = models.DateField(help_text="First day of the month.")
    report = models.JSONField()
    checksum = models.CharField(max_length=64)
    closed_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "month"], name="monthclose_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.org_id} {self.month:%Y-%m} closed"

    @staticmethod
    def checksum_of(report: dict[str, Any]) -> str:
        import hashlib
        import json

        canonical = json.dumps(report, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()

    def verify(self) -> bool:
        """True when the stored report still matches the checksum taken at close time."""
        return self.checksum_of(self.report) == self.checksum

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("a closed month is immutable: add an adjustment to an open month")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError("a closed month is immutable")


class Adjustment(models.Model):
    """A correction booked into an open month (credit negative, charge positive); append-only."""

    org = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    month = models.DateField(help_text="First day of the (open) month it is booked into.")
    amount_usd = models.DecimalField(**MONEY)
    reason = models.CharField(max_length=300)
    created_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["org", "month"], name="adjustment_org_month")]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("adjustments are append-only: book a new one")
        super().save(*args, **kwargs)
