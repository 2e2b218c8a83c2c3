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
from billing.rules import BudgetRule
from gateway_project.pgpool import get_pool

# One statement each, in autocommit: one round trip, no BEGIN/COMMIT, no pipeline. Rows are
# locked in id order (no deadlocks); FOR UPDATE yields the newest committed versions, so the
# fit check and the increments see every concurrent reservation (exact, not check-then-act).
_RESERVE = """
WITH lk AS (
  SELECT id, budget_id, spent, reserved, tokens_spent, tokens_reserved
  FROM billing_budgetperiod WHERE id = ANY(%(pids)s) ORDER BY id FOR UPDATE),
v (id, budget_id, lim, tlim) AS (VALUES {values}),
chk AS (
  SELECT count(*) AS seen,
         count(*) FILTER (WHERE (v.lim IS NULL OR lk.spent + lk.reserved + %(amount)s <= v.lim)
           AND (v.tlim IS NULL OR lk.tokens_spent + lk.tokens_reserved + %(tokens)s <= v.tlim))
           AS fit,
         min(lk.id) FILTER (WHERE NOT ((v.lim IS NULL OR lk.spent + lk.reserved + %(amount)s <= v.lim)
           AND (v.tlim IS NULL OR lk.tokens_spent + lk.tokens_reserved + %(tokens)s <= v.tlim)))
           AS refused
  FROM lk JOIN v ON lk.id = v.id AND lk.budget_id = v.budget_id),
upd AS (
  UPDATE billing_budgetperiod p SET reserved = p.reserved + %(amount)s,
    tokens_reserved = p.tokens_reserved + %(tokens)s
  FROM chk WHERE chk.fit = %(n)s AND p.id = ANY(%(pids)s) RETURNING p.id),
ins AS (
  INSERT INTO billing_reservation (request_id, amount, tokens, periods, status, created_at,
    expires_at)
  SELECT %(rid)s, %(amount)s, %(tokens)s, %(periods)s, 'held', %(now)s, %(expires)s
  FROM chk WHERE chk.fit = %(n)s RETURNING id)
SELECT chk.seen, chk.fit, chk.refused FROM chk
"""
_SETTLE = """
WITH o AS (
  SELECT id, status AS old FROM billing_reservation WHERE request_id = %(rid)s FOR UPDATE),
r AS (
  UPDATE billing_reservation res SET status = %(final)s FROM o
  WHERE res.id = o.id AND (o.old = 'held' OR (%(final)s = 'settled' AND o.old = 'released'))
  RETURNING res.amount, res.tokens, o.old),
lk AS (SELECT id FROM billing_budgetperiod WHERE id = ANY(%(pids)s) ORDER BY id FOR UPDATE),
p AS (
  UPDATE billing_budgetperiod bp SET
    spent = bp.spent + %(cost)s, tokens_spent = bp.tokens_spent + %(tokens)s,
    reserved = bp.reserved - CASE WHEN r.old = 'held' THEN r.amount ELSE 0 END,
    tokens_reserved = bp.tokens_reserved - CASE WHEN r.old = 'held' THEN r.tokens ELSE 0 END
  FROM r, lk WHERE bp.id = lk.id
  RETURNING bp.id, bp.budget_id, bp.spent){inserts}
SELECT id, budget_id, spent FROM p
"""


@dataclass(frozen=True, slots=True)
class Held:
    """What a successful reservation holds, for the settlement."""

    period_ids: tuple[int, ...]


async def _period_id(rule: BudgetRule, time_zone: str, now: datetime) -> int:
    pid = budgets.cached_period_id(rule, time_zone, now)
    if pid is None:  # first request of a period: create the row (rare, so the ORM is fine)
        pid = await sync_to_async(budgets.period_id)(rule, time_zone, now)
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
    except _StalePeriod:
        budgets.forget_period_ids()  # a cached period row is gone (budget re-created): start over
        return await _reserve_once(request_id, rules, time_zone, amount, tokens, now)


class _StalePeriod(Exception):
    pass


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
    params |= {
        "pids": pids, "amount": amount, "tokens": tokens, "n": len(held), "rid": request_id,
        "periods": Jsonb(pids), "now": now, "expires": now + RESERVATION_TTL,
    }  # fmt: skip
    pool = await get_pool()
    async with pool.connection() as conn:
        cur = await conn.execute(_RESERVE.format(values=values), params)
        row = await cur.fetchone()
    seen, fit, refused = row if row else (0, 0, None)
    if fit == len(held):
        return tuple(pids)
    # Nothing was written: the conditional UPDATE and INSERT only run when every budget fits.
    if refused is None or seen < len(held):
        raise _StalePeriod
    raise BudgetExceeded(next(rule for pid, rule in held if pid == refused))


def _insert_cte(name: str, table: str, row: dict[str, Any], params: dict[str, Any]) -> str:
    """A data-modifying CTE inserting `row`; its values are added to `params`."""
    names = []
    for column, value in row.items():
        key = f"{name}_{column}"
        params[key] = Jsonb(value) if isinstance(value, list | dict) else value
        names.append(f"%({key})s")
    return (
        f",\n{name} AS (INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join(names)})"
        " ON CONFLICT (request_id) DO NOTHING)"
    )


def _insert(table: str, row: dict[str, Any]) -> tuple[str, list[Any]]:
    """A plain INSERT of `row` (benchmarks and tools)."""
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
    """One statement, one round trip; returns (period, budget, spent) for alert checks."""
    params: dict[str, Any] = {
        "rid": request_id,
        "final": "settled" if reached_provider else "released",
        "cost": cost if reached_provider else Decimal(0),
        "tokens": tokens if reached_provider else 0,
        "pids": list(period_ids),
    }
    inserts = ""
    if usage is not None:
        inserts += _insert_cte(
            "u", "billing_usagerecord", {"request_id": request_id, **usage}, params
        )
    inserts += _insert_cte("a", "audit_auditrecord", audit, params)
    pool = await get_pool()
    async with pool.connection() as conn:
        cur = await conn.execute(_SETTLE.format(inserts=inserts), params)
        rows = await cur.fetchall()
    if not reached_provider:
        return []
    return [(int(r[0]), int(r[1]), Decimal(r[2])) for r in rows]
