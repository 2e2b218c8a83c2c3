from __future__ import annotations

from datetime import UTC, datetime

import pytest

from billing.periods import period_bounds


def test_monthly_period_in_a_half_hour_offset_zone():
    start, end = period_bounds("monthly", "Asia/Kolkata", datetime(2026, 1, 31, 19, 0, tzinfo=UTC))
    # 19:00 UTC on Jan 31 is 00:30 on Feb 1 in India (+05:30).
    assert start == datetime(2026, 1, 31, 18, 30, tzinfo=UTC)
    assert end == datetime(2026, 2, 28, 18, 30, tzinfo=UTC)


def test_weekly_periods_start_on_monday_local_time():
    start, end = period_bounds("weekly", "America/New_York", datetime(2026, 11, 22, 12, tzinfo=UTC))
    assert start == datetime(2026, 11, 16, 5, 0, tzinfo=UTC)  # Monday 00:00 EST
    assert (end - start).days == 7


def test_daily_period_across_a_dst_change_is_23_hours():
    start, end = period_bounds("daily", "Europe/Berlin", datetime(2026, 3, 29, 12, tzinfo=UTC))
    assert (end - start).total_seconds() == 23 * 3600


def test_december_rolls_into_january():
    start, end = period_bounds("monthly", "UTC", datetime(2026, 12, 15, tzinfo=UTC))
    assert end == datetime(2027, 1, 1, tzinfo=UTC)


def test_unknown_period_is_an_error():
    with pytest.raises(ValueError):
        period_bounds("hourly", "UTC", datetime(2026, 1, 1, tzinfo=UTC))
