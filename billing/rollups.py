"""Rollups of audit records into hourly, daily and monthly aggregates per org/team/key/model.

Hours are UTC hours; days and months start at local midnight in each organization's time
zone, so monthly totals are exact even for half-hour offsets. Each affected period is
recomputed from the raw rows and replaced in one transaction: re-running is idempotent, and
a worker killed mid-task leaves the previous, consistent rows behind.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDay, TruncHour

from audit.models import AuditRecord
from billing.models import Rollup
from billing.periods import period_bounds
from tenants.models import Organization

G = Rollup.Granularity
_SUMS = {
    "requests": Count("id"),
    "blocked": Count("id", filter=Q(error_code="policy_violation")),
    "errors": Count("id", filter=Q(status__gte=400)),
    "upstream_errors": Count("id", filter=Q(status__in=[502, 503, 504])),
    "prompt_tokens": Sum("prompt_tokens"),
    "completion_tokens": Sum("completion_tokens"),
    "cost_usd": Sum("cost_usd"),
}
_SCOPE = ("org_id", "team_id", "key_id", "model_requested")


def _rows(records: Any, trunc: Any) -> list[dict[str, Any]]:
    grouped = records.annotate(period=trunc).values("period", *_SCOPE).annotate(**_SUMS)
    return list(grouped.order_by())


def _replace(
    granularity: str, starts: Iterable[datetime], org_ids: list[int], rows: list[dict[str, Any]]
) -> int:
    starts = list(starts)
    objects = [
        Rollup(
            granularity=granularity,
            period_start=row["period"],
            org_id=row["org_id"],
            team_id=row["team_id"] or 0,
            key_id=row["key_id"] or 0,
            model=row["model_requested"],
            **{k: row[k] or (Decimal(0) if k == "cost_usd" else 0) for k in _SUMS},
        )
        for row in rows
    ]
    with transaction.atomic():
        Rollup.objects.filter(
            granularity=granularity, period_start__in=starts, org_id__in=org_ids
        ).delete()
        Rollup.objects.bulk_create(objects, batch_size=2000)
    return len(objects)


def _hours(start: datetime, end: datetime) -> list[datetime]:
    first = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return [
        first + timedelta(hours=i) for i in range(int((end - first).total_seconds() // 3600) + 1)
    ]


def _local_periods(
    period: str, tz: str, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    periods = []
    cursor = start
    while cursor < end:
        bounds = period_bounds(period, tz, cursor)
        periods.append(bounds)
        cursor = bounds[1]
    return periods


def refresh_rollups(start: datetime, end: datetime, org_id: int | None = None) -> int:
    """Recompute every rollup period touching [start, end); returns rows written."""
    orgs = Organization.objects.all() if org_id is None else Organization.objects.filter(pk=org_id)
    by_tz: dict[str, list[int]] = defaultdict(list)
    for org in orgs.only("id", "time_zone"):
        by_tz[org.time_zone].append(org.pk)
    all_ids = [i for ids in by_tz.values() for i in ids]
    written = 0
    hours = _hours(start, end)
    records = AuditRecord.objects.filter(
        org_id__in=all_ids, created_at__gte=hours[0], created_at__lt=hours[-1] + timedelta(hours=1)
    )
    written += _replace(G.HOUR, hours, all_ids, _rows(records, TruncHour("created_at", tzinfo=UTC)))
    for tz, ids in by_tz.items():
        written += _refresh_local(tz, ids, start, end)
    return written


def _refresh_local(tz: str, org_ids: list[int], start: datetime, end: datetime) -> int:
    days = _local_periods("daily", tz, start, end)
    records = AuditRecord.objects.filter(
        org_id__in=org_ids, created_at__gte=days[0][0], created_at__lt=days[-1][1]
    )
    rows = _rows(records, TruncDay("created_at", tzinfo=ZoneInfo(tz)))
    for row in rows:  # back to UTC instants so every backend stores the same value
        row["period"] = row["period"].astimezone(UTC)
    written = _replace(G.DAY, [d[0] for d in days], org_ids, rows)
    months = _local_periods("monthly", tz, days[0][0], days[-1][1])
    return written + _replace(G.MONTH, [m[0] for m in months], org_ids, _months(org_ids, months))


def _months(org_ids: list[int], months: list[tuple[datetime, datetime]]) -> list[dict[str, Any]]:
    """Monthly rows as sums of the (local) daily rollups of each month."""
    out: list[dict[str, Any]] = []
    for month_start, month_end in months:
        days = Rollup.objects.filter(
            granularity=G.DAY, org_id__in=org_ids, period_start__gte=month_start,
            period_start__lt=month_end,
        )  # fmt: skip
        sums = {k: Sum(k) for k in _SUMS}
        for row in days.values("org_id", "team_id", "key_id", "model").annotate(**sums).order_by():
            row["period"] = month_start
            row["model_requested"] = row.pop("model")
            out.append(row)
    return out


def refresh_recent(now: datetime | None = None) -> int:
    """What the periodic task does: the last two hours (late rows included)."""
    now = now or datetime.now(UTC)
    return refresh_rollups(now - timedelta(hours=2), now + timedelta(seconds=1))
