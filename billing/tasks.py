"""Thin Celery wrappers: take ids, import the work inside (HackSoft style)."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, reject_on_worker_lost=True)  # type: ignore[untyped-decorator]
def send_budget_alert_task(budget_id: int, period_id: int, threshold: int) -> None:
    from billing.alerts import send_budget_alert

    send_budget_alert(budget_id, period_id, threshold)


@shared_task(acks_late=True, reject_on_worker_lost=True)  # type: ignore[untyped-decorator]
def sweep_reservations_task() -> int:
    from billing.budgets import sweep_expired

    return sweep_expired()


@shared_task(acks_late=True, reject_on_worker_lost=True)  # type: ignore[untyped-decorator]
def refresh_rollups_task(start_iso: str | None = None, end_iso: str | None = None) -> int:
    """Recompute rollups for a window (default: the last two hours); idempotent."""
    from datetime import datetime

    from billing.rollups import refresh_recent, refresh_rollups

    if start_iso and end_iso:
        return refresh_rollups(datetime.fromisoformat(start_iso), datetime.fromisoformat(end_iso))
    return refresh_recent()


@shared_task(acks_late=True, reject_on_worker_lost=True)  # type: ignore[untyped-decorator]
def monthly_reports_task(month: str | None = None) -> int:
    """Prepare the previous month's cost reports and mail finance users (beat: the 1st)."""
    from billing.reports import monthly_emails, parse_month

    return monthly_emails(parse_month(month) if month else None)
