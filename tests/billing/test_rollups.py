"""Rollups equal the raw rows, in each organization's local calendar, even after a crash."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from audit.models import AuditRecord
from billing import rollups
from billing.models import Rollup

pytestmark = pytest.mark.django_db
KOLKATA_MIDNIGHT = datetime(2026, 3, 31, 18, 30, tzinfo=UTC)  # 2026-04-01 00:00 +05:30


def _record(world, n, when, **extra):
    fields = {
        "request_id": f"req-{n}", "created_at": when, "org_id": world.acme.pk, "org_slug": "acme",
        "team_id": world.search.pk, "key_id": world.acme_key.pk, "endpoint": "/v1/chat/completions",
        "model_requested": "demo", "status": 200, "prompt_tokens": 10, "completion_tokens": 5,
        "cost_usd": Decimal("0.0010"),
    }  # fmt: skip
    fields.update(extra)
    return AuditRecord.objects.create(**fields)


@pytest.fixture
def traffic(world):
    world.acme.time_zone = "Asia/Kolkata"
    world.acme.save()
    # Around the local month boundary: 20 minutes before and after 00:00 IST on April 1st.
    for n, minutes in enumerate(range(-20, 21, 2), start=1):
        extra = {"status": 400, "error_code": "policy_violation"} if n % 5 == 0 else {}
        _record(world, n, KOLKATA_MIDNIGHT + timedelta(minutes=minutes), **extra)
    return world


def _sql_total(org_id, start, end):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*), COALESCE(SUM(cost_usd), 0) FROM audit_auditrecord"
            " WHERE org_id = %s AND created_at >= %s AND created_at < %s",
            # Adapt as the backend stores datetimes (SQLite compares them as text).
            [
                org_id,
                connection.ops.adapt_datetimefield_value(start),
                connection.ops.adapt_datetimefield_value(end),
            ],
        )
        count, cost = cursor.fetchone()
    return count, Decimal(str(cost)).quantize(Decimal("0.0000000001"))


def _rollup(world, granularity, start):
    rows = Rollup.objects.filter(granularity=granularity, org_id=world.acme.pk, period_start=start)
    return sum(r.requests for r in rows), sum((r.cost_usd for r in rows), Decimal(0)).quantize(
        Decimal("0.0000000001")
    )


def test_monthly_rollups_follow_the_half_hour_offset_calendar(traffic):
    world = traffic
    rollups.refresh_rollups(
        KOLKATA_MIDNIGHT - timedelta(hours=1), KOLKATA_MIDNIGHT + timedelta(hours=1)
    )
    april = (KOLKATA_MIDNIGHT, datetime(2026, 4, 30, 18, 30, tzinfo=UTC))
    march = (datetime(2026, 2, 28, 18, 30, tzinfo=UTC), KOLKATA_MIDNIGHT)
    assert (
        _rollup(world, "month", april[0])
        == _sql_total(world.acme.pk, *april)
        == (11, Decimal("0.0110000000"))
    )
    assert (
        _rollup(world, "month", march[0])
        == _sql_total(world.acme.pk, *march)
        == (10, Decimal("0.0100000000"))
    )
    assert _rollup(world, "day", KOLKATA_MIDNIGHT)[0] == 11
    hour = Rollup.objects.filter(
        granularity="hour", period_start=KOLKATA_MIDNIGHT - timedelta(minutes=30)
    )
    assert sum(r.requests for r in hour) == 21
    assert sum(r.blocked for r in Rollup.objects.filter(granularity="month")) == 4


def test_refreshing_twice_changes_nothing(traffic):
    window = (KOLKATA_MIDNIGHT - timedelta(hours=1), KOLKATA_MIDNIGHT + timedelta(hours=1))
    rollups.refresh_rollups(*window)
    first = sorted(
        Rollup.objects.values_list("granularity", "period_start", "requests", "cost_usd")
    )
    rollups.refresh_rollups(*window)
    assert (
        sorted(Rollup.objects.values_list("granularity", "period_start", "requests", "cost_usd"))
        == first
    )


def test_a_crash_mid_refresh_leaves_consistent_rows_and_a_rerun_fixes_them(traffic, monkeypatch):
    world = traffic
    window = (KOLKATA_MIDNIGHT - timedelta(hours=1), KOLKATA_MIDNIGHT + timedelta(hours=1))
    rollups.refresh_rollups(*window)
    _record(world, 999, KOLKATA_MIDNIGHT + timedelta(minutes=5))  # a late row
    real = rollups._replace
    calls = []

    def crash_after_hours(granularity, *args):
        calls.append(granularity)
        if granularity != "hour":
            raise SystemExit("worker killed")  # dies after the hourly transaction committed
        return real(granularity, *args)

    monkeypatch.setattr(rollups, "_replace", crash_after_hours)
    with pytest.raises(SystemExit):
        rollups.refresh_rollups(*window)
    monkeypatch.setattr(rollups, "_replace", real)
    april = (KOLKATA_MIDNIGHT, datetime(2026, 4, 30, 18, 30, tzinfo=UTC))
    assert _rollup(world, "month", april[0])[0] == 11  # old but consistent
    rollups.refresh_rollups(*window)
    assert (
        _rollup(world, "month", april[0])
        == _sql_total(world.acme.pk, *april)
        == (12, Decimal("0.0120000000"))
    )
