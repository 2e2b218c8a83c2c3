"""Budget reservation and settlement: exact under concurrency on any number of processes.

Reserve: one transaction with a conditional UPDATE per budget period,
`reserved = reserved + x WHERE spent + reserved + x <= limit`, on the period row itself, so
PostgreSQL re-checks the condition on the newest row version after waiting for a lock (no
check-then-act race), plus the Reservation row. Any scope saying no rolls everything back.
Settle: the reservation is flipped to settled exactly once (idempotent per request id), the
unused part released, the spend and the usage row written in the same transaction.
Periods are locked in id order so concurrent transactions cannot deadlock.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from billing.models import BudgetPeriod, Reservation, UsageRecord
from billing.periods import period_bounds
from billing.pricing import QUANTUM
from billing.rules import BudgetRule

log = logging.getLogger(__name__)
RESERVATION_TTL = timedelta(minutes=30)
_period_ids: dict[tuple[int, datetime], int] = {}


class BudgetExceeded(Exception):
    """A hard budget has no room for this request."""

    def __init__(self, rule: BudgetRule) -> None:
        super().__init__(f"budget {rule.id} ({rule.scope}) exhausted")
        self.rule = rule


@dataclass(frozen=True, slots=True)
class Alert:
    budget_id: int
    period_id: int
    threshold: int
    spent: Decimal


def cached_period_id(rule: BudgetRule, time_zone: str, now: datetime) -> int | None:
    """The period row id if this process already knows it (no database access)."""
    starts, _ = period_bounds(rule.period, time_zone, now)
    return _period_ids.get((rule.id, starts))


def forget_period_ids() -> None:
    """Drop cached period ids (a period row vanished: its budget was deleted and re-created)."""
    _period_ids.clear()


def period_id(rule: BudgetRule, time_zone: str, now: datetime) -> int:
    """The BudgetPeriod row for the period containing `now`, created on first use."""
    starts, ends = period_bounds(rule.period, time_zone, now)
    cached = _period_ids.get((rule.id, starts))
    if cached is not None:
        return cached
    BudgetPeriod.objects.bulk_create(
        [BudgetPeriod(budget_id=rule.id, starts_at=starts, ends_at=ends)], ignore_conflicts=True
    )
    pid = BudgetPeriod.objects.values_list("id", flat=True).get(budget_id=rule.id, starts_at=starts)
    _period_ids[(rule.id, starts)] = pid
    return int(pid)


def _hold(pid: int, rule: BudgetRule, amount: Decimal, tokens: int) -> bool:
    sql = (
        "UPDATE billing_budgetperiod SET reserved = reserved + CAST(%s AS NUMERIC), "
        "tokens_reserved = tokens_reserved + %s WHERE id = %s AND budget_id = %s"
    )
    params: list[Any] = [amount, tokens, pid, rule.id]
    if rule.hard:
        # CAST: SQLite binds Decimal as TEXT, and TEXT sorts after every number there.
        sql += " AND spent + reserved + CAST(%s AS NUMERIC) <= CAST(%s AS NUMERIC)"
        params += [amount, rule.limit_usd]
        if rule.limit_tokens is not None:
            sql += " AND tokens_spent + tokens_reserved + %s <= %s"
            params += [tokens, rule.limit_tokens]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return bool(cursor.rowcount == 1)


class _StalePeriod(Exception):
    pass


def reserve(
    *,
    request_id: str,
    rules: Sequence[BudgetRule],
    time_zone: str,
    amount: Decimal,
    tokens: int,
    now: datetime | None = None,
) -> bool:
    """Hold `amount` in every budget or none; raise BudgetExceeded. False if no budgets apply."""
    try:
        return _reserve_once(request_id, rules, time_zone, amount, tokens, now)
    except _StalePeriod:
        return _reserve_once(request_id, rules, time_zone, amount, tokens, now)


def _reserve_once(
    request_id: str,
    rules: Sequence[BudgetRule],
    time_zone: str,
    amount: Decimal,
    tokens: int,
    now: datetime | None,
) -> bool:
    if not rules:
        return False
    now = now or timezone.now()
    periods = sorted(
        ((period_id(rule, time_zone, now), rule) for rule in rules), key=lambda item: item[0]
    )
    with transaction.atomic():
        for pid, rule in periods:
            if not _hold(pid, rule, amount, tokens):
                if BudgetPeriod.objects.filter(pk=pid, budget_id=rule.id).exists():
                    raise BudgetExceeded(rule)
                # The cached period row is gone (budget deleted and re-created): start over.
                _period_ids.clear()
                raise _StalePeriod
        Reservation.objects.create(
            request_id=request_id,
            amount=amount,
            tokens=tokens,
            periods=[pid for pid, _ in periods],
            expires_at=now + RESERVATION_TTL,
        )
    return True


def _apply(
    pid: int, *, spent: Decimal, tokens: int, held: Decimal, held_tokens: int
) -> tuple[int, int, Decimal] | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE billing_budgetperiod SET spent = spent + CAST(%s AS NUMERIC),"
            " tokens_spent = tokens_spent + %s, reserved = reserved - CAST(%s AS NUMERIC),"
            " tokens_reserved = tokens_reserved - %s"
            " WHERE id = %s RETURNING spent, budget_id",
            [spent, tokens, held, held_tokens, pid],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    # Quantize: SQLite (embedded mode) keeps NUMERIC as a float; PostgreSQL is exact anyway.
    return pid, int(row[1]), Decimal(str(row[0])).quantize(QUANTUM)


def settle(
    *,
    request_id: str,
    cost: Decimal,
    tokens: int,
    rules: Sequence[BudgetRule] = (),
    usage: dict[str, Any] | None = None,
) -> list[Alert]:
    """Charge the actual cost, release the rest, write the usage row; once per request id."""
    alerts: list[Alert] = []
    with transaction.atomic():
        res = Reservation.objects.select_for_update().filter(request_id=request_id).first()
        if res is not None and res.status != Reservation.Status.SETTLED:
            held = res.status == Reservation.Status.HELD
            settled = []
            for pid in sorted(res.periods):
                row = _apply(
                    pid,
                    spent=cost,
                    tokens=tokens,
                    held=res.amount if held else Decimal(0),
                    held_tokens=res.tokens if held else 0,
                )
                if row is not None:
                    settled.append(row)
            alerts.extend(crossed_thresholds(settled, cost, rules))
            res.status = Reservation.Status.SETTLED
            res.save(update_fields=["status"])
        elif res is not None:
            return []  # already settled: idempotent
        if usage is not None:
            UsageRecord.objects.bulk_create(
                [UsageRecord(request_id=request_id, **usage)], ignore_conflicts=True
            )
        alerts = [a for a in alerts if _claim_alert(a)]
    return alerts


def crossed_thresholds(
    settled: Sequence[tuple[int, int, Decimal]], cost: Decimal, rules: Sequence[BudgetRule]
) -> list[Alert]:
    """Alert thresholds this charge crossed, from (period, budget, spent after) rows."""
    by_id = {r.id: r for r in rules}
    alerts = []
    for pid, budget_id, spent_after in settled:
        rule = by_id.get(budget_id)
        if rule is None or not rule.alert_at or rule.limit_usd <= 0:
            continue
        before = (spent_after - cost) * 100 / rule.limit_usd
        after = spent_after * 100 / rule.limit_usd
        alerts += [
            Alert(budget_id, pid, t, spent_after) for t in rule.alert_at if before < t <= after
        ]
    return alerts


def claim_alerts(alerts: Sequence[Alert]) -> list[Alert]:
    """Claim each alert once per period (row lock) and queue its delivery; returns the claimed."""
    with transaction.atomic():
        return [a for a in alerts if _claim_alert(a)]


def _claim_alert(alert: Alert) -> bool:
    """Record that a threshold alerted this period; False if it already had (alert once)."""
    period = BudgetPeriod.objects.select_for_update().get(pk=alert.period_id)
    if alert.threshold in period.alerts_sent:
        return False
    period.alerts_sent = sorted([*period.alerts_sent, alert.threshold])
    period.save(update_fields=["alerts_sent"])
    from billing.tasks import send_budget_alert_task

    transaction.on_commit(
        lambda: send_budget_alert_task.delay(alert.budget_id, alert.period_id, alert.threshold)
    )
    return True


def release(request_id: str) -> None:
    """Give a held reservation back (the request failed before reaching a provider)."""
    with transaction.atomic():
        res = Reservation.objects.select_for_update().filter(request_id=request_id).first()
        if res is None or res.status != Reservation.Status.HELD:
            return
        for pid in sorted(res.periods):
            _apply(pid, spent=Decimal(0), tokens=0, held=res.amount, held_tokens=res.tokens)
        res.status = Reservation.Status.RELEASED
        res.save(update_fields=["status"])


def sweep_expired(now: datetime | None = None) -> int:
    """Release reservations whose request never settled (crashed process); returns the count."""
    now = now or timezone.now()
    expired = list(
        Reservation.objects.filter(status=Reservation.Status.HELD, expires_at__lt=now).values_list(
            "request_id", flat=True
        )[:1000]
    )
    for request_id in expired:
        release(request_id)
    if expired:
        log.info("released %d expired budget reservations", len(expired))
    return len(expired)
