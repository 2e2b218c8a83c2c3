"""The hot-path ledger on PostgreSQL: budgets.py's semantics in raw, pipelined SQL.

reserve: one transaction, two round trips: lock the period rows in id order, apply the
conditional UPDATEs (all or nothing), then insert the reservation and commit (or roll back).
settle_and_record: one transaction, one round trip: flip the reservation to settled exactly
once, charge the actual cost and release the rest, insert the usage row and the audit record.
The SQLite (embedded) mode keeps using billing/budgets.py through the ORM.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from asgiref.sync import sync_to_async
from django.utils import timezone
from psycopg.types.json import Jsonb

from billing import budgets
from billing.budgets import RESERVATION_TTL, BudgetExceeded
from billing.periods import period_bounds
from billing.rules import BudgetRule
from gateway_project.pgpool import get_pool

_HOLD = (
    "UPDATE billing_budgetperiod p SET reserved = p.reserved + %(amount)s,"
    " tokens_reserved = p.tokens_reserved + %(tokens)s"
    " FROM (VALUES {values}) AS v(id, budget_id, lim, tlim)"
    " WHERE p.id = v.id AND p.budget_id = v.budget_id"
    " AND (v.lim IS NULL OR p.spent + p.reserved + %(amount)s <= v.lim)"
    " AND (v.tlim IS NULL OR p.tokens_spent + p.tokens_reserved + %(tokens)s <= v.tlim)"
    " RETURNING p.id"
)
_LOCK = "SELECT id FROM billing_budgetperiod WHERE id = ANY(%s) ORDER BY id FOR UPDATE"
_SETTLE = """
WITH r AS (
  UPDATE billing_reservation res SET status = 'settled'
  FROM (SELECT id, status AS old FROM billing_reservation
        WHERE request_id = %(rid)s FOR UPDATE) o
  WHERE res.id = o.id AND o.old <> 'settled'
  RETURNING res.amount, res.tokens, o.old)
UPDATE billing_budgetperiod p SET
  spent = p.spent + %(cost)s, tokens_spent = p.tokens_spent + %(tokens)s,
  reserved = p.reserved - CASE WHEN r.old = 'held' THEN r.amount ELSE 0 END,
  tokens_reserved = p.tokens_reserved - CASE WHEN r.old = 'held' THEN r.tokens ELSE 0 END
FROM r WHERE p.id = ANY(%(pids)s)
RETURNING p.id, p.budget_id, p.spent
"""
_RELEASE = """
WITH r AS (
  UPDATE billing_reservation res SET status = 'released'
  FROM (SELECT id FROM billing_reservation
        WHERE request_id = %(rid)s AND status = 'held' FOR UPDATE) o
  WHERE res.id = o.id RETURNING res.amount, res.tokens)
UPDATE billing_budgetperiod p SET reserved = p.reserved - r.amount,
  tokens_reserved = p.tokens_reserved - r.tokens
FROM r WHERE p.id = ANY(%(pids)s)
"""
_period_ids: dict[tuple[int, datetime], int] = {}


@dataclass(frozen=True, slots=True)
class Held:
    """What a successful reservation holds, for the settlement."""

    period_ids: tuple[int, ...]


async def _period_id(rule: BudgetRule, time_zone: str, now: datetime) -> int:
    starts, _ = period_bounds(rule.period, time_zone, now)
    pid = _period_ids.get((rule.id, starts))
    if pid is None:  # first request of a period: create the row (rare, so the ORM is fine)
        pid = await sync_to_async(budgets.period_id)(rule, time_zone, now)
        _period_ids[(rule.id, starts)] = pid
    return pid


def _values(held: list[tuple[int, BudgetRule]]) -> tuple[str, dict[str, Any]]:
    rows: list[str] = []
    params: dict[str, Any] = {}
    for i, (pid, rule) in enumerate(held):
        rows.append(f"(%(p{i})s::bigint, %(b{i})s::bigint, %(l{i})s::numeric, %(t{i})s::bigint)")
        params |= {f"p{i}": pid, f"b{i}": rule.id, f"l{i}": rule.limit_usd if rule.hard else None,
                   f"t{i}": rule.limit_tokens if rule.hard else None}  # fmt: skip
    return ", ".join(rows), params


async def reserve(
    *,
    request_id: str,
    rules: Sequence[BudgetRule],
    time_zone: str,
    amount: Decimal,
    tokens: int,
    now: datetime | None = None,
) -> tuple[int, ...]:
    """Hold `amount` in every budget or none (BudgetExceeded); returns the held period ids."""
    if not rules:
        return ()
    now = now or timezone.now()
    try:
        return await _reserve_once(request_id, rules, time_zone, amount, tokens, now)
    except BudgetExceeded as exc:
        if await _period_exists(exc.rule, time_zone, now):
            raise
        _period_ids.clear()  # the cached period row is gone (budget re-created): start over
        return await _reserve_once(request_id, rules, time_zone, amount, tokens, now)


async def _reserve_once(
    request_id: str,
    rules: Sequence[BudgetRule],
    time_zone: str,
    amount: Decimal,
    tokens: int,
    now: datetime,
) -> tuple[int, ...]:
    held = sorted([(await _period_id(r, time_zone, now), r) for r in rules], key=lambda x: x[0])
    values, params = _values(held)
    pids = [pid for pid, _ in held]
    pool = await get_pool()
    async with pool.connection() as conn, conn.pipeline(), conn.transaction():
        await conn.execute(_LOCK, [pids])
        cur = await conn.execute(
            _HOLD.format(values=values), {"amount": amount, "tokens": tokens, **params}
        )
        got = {row[0] for row in await cur.fetchall()}
        if len(got) != len(held):
            # Raising inside the transaction rolls every hold back: all or nothing.
            raise BudgetExceeded(next(rule for pid, rule in held if pid not in got))
        await conn.execute(
            "INSERT INTO billing_reservation (request_id, amount, tokens, periods, status,"
            " created_at, expires_at) VALUES (%s, %s, %s, %s, 'held', %s, %s)",
            [request_id, amount, tokens, Jsonb(pids), now, now + RESERVATION_TTL],
        )
    return tuple(pids)


async def _period_exists(rule: BudgetRule, time_zone: str, now: datetime) -> bool:
    starts, _ = period_bounds(rule.period, time_zone, now)
    pid = _period_ids.get((rule.id, starts))
    pool = await get_pool()
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT 1 FROM billing_budgetperiod WHERE id = %s AND budget_id = %s", [pid, rule.id]
        )
        return await cur.fetchone() is not None


def _insert(table: str, row: dict[str, Any]) -> tuple[str, list[Any]]:
    columns = list(row)
    values = [Jsonb(v) if isinstance(v, list | dict) else v for v in row.values()]
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
        " ON CONFLICT (request_id) DO NOTHING"
    )
    return sql, values


async def settle_and_record(
    *,
    request_id: str,
    cost: Decimal,
    tokens: int,
    period_ids: Sequence[int],
    reached_provider: bool,
    usage: dict[str, Any] | None,
    audit: dict[str, Any],
) -> list[tuple[int, int, Decimal]]:
    """One transaction, one round trip; returns (period, budget, spent) for alert checks."""
    pool = await get_pool()
    settled: list[tuple[int, int, Decimal]] = []
    async with pool.connection() as conn, conn.pipeline(), conn.transaction():
        cur = None
        if period_ids:
            await conn.execute(_LOCK, [list(period_ids)])
            args = {"rid": request_id, "cost": cost, "tokens": tokens, "pids": list(period_ids)}
            cur = await conn.execute(_SETTLE if reached_provider else _RELEASE, args)
        if usage is not None:
            await conn.execute(*_insert("billing_usagerecord", {"request_id": request_id, **usage}))
        await conn.execute(*_insert("audit_auditrecord", audit))
        if cur is not None and reached_provider:
            settled = [(r[0], r[1], Decimal(r[2])) for r in await cur.fetchall()]
    return settled
