"""Calendar budget periods in an organization's time zone (half-hour offsets included)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo


def period_bounds(period: str, time_zone: str, at: datetime) -> tuple[datetime, datetime]:
    """[start, end) of the daily/weekly/monthly period containing `at`, as UTC datetimes."""
    tz = ZoneInfo(time_zone)
    local = at.astimezone(tz)
    day = local.date()
    if period == "daily":
        start, end = day, day + timedelta(days=1)
    elif period == "weekly":
        start = day - timedelta(days=day.weekday())  # ISO weeks start on Monday
        end = start + timedelta(days=7)
    elif period == "monthly":
        start = day.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
    else:
        raise ValueError(f"unknown period {period!r}")
    # Local midnight can fall in a DST gap; zoneinfo resolves it with fold=0 consistently.
    as_utc = [datetime(d.year, d.month, d.day, tzinfo=tz).astimezone(UTC) for d in (start, end)]
    return as_utc[0], as_utc[1]
