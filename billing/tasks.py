"""Thin Celery wrappers: take ids, import the work inside (HackSoft style)."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, reject_on_worker_lost=True)  # type: ignore[misc]
def send_budget_alert_task(budget_id: int, period_id: int, threshold: int) -> None:
    from billing.alerts import send_budget_alert

    send_budget_alert(budget_id, period_id, threshold)


@shared_task(acks_late=True, reject_on_worker_lost=True)  # type: ignore[misc]
def sweep_reservations_task() -> int:
    from billing.budgets import sweep_expired

    return sweep_expired()
