"""Limits and budgets as the data plane caches them with each key (plain data)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from billing.ratelimits import LimitSpec


@dataclass(frozen=True, slots=True)
class LimitRule:
    scope: str  # "key:1", "team:2", "org:3"
    model: str  # "" for all models
    rpm: int | None
    tpm: int | None
    max_parallel: int | None


@dataclass(frozen=True, slots=True)
class BudgetRule:
    id: int
    scope: str
    period: str
    limit_usd: Decimal
    limit_tokens: int | None
    hard: bool
    alert_at: tuple[int, ...]


_SCOPE_ORDER = {"key": 0, "team": 1, "org": 2}


def limit_specs(rules: tuple[LimitRule, ...], model: str) -> list[LimitSpec]:
    """Rate-limit specs for a request to `model`, most specific scope first."""
    specs = [
        LimitSpec(
            scope=f"{r.scope}:model:{r.model}" if r.model else r.scope,
            rpm=r.rpm,
            tpm=r.tpm,
            max_parallel=r.max_parallel,
        )
        for r in rules
        if r.model in ("", model)
    ]
    return sorted(specs, key=lambda s: (_SCOPE_ORDER[s.scope.split(":", 1)[0]], s.scope))


def load_rules(
    org_id: int, team_id: int, key_id: int
) -> tuple[tuple[LimitRule, ...], tuple[BudgetRule, ...]]:
    """Read the limits and budgets that apply to a key (sync; on key-cache misses only)."""
    from django.db.models import Q

    from billing.models import Budget, RateLimit

    where = Q(org_id=org_id) | Q(team_id=team_id) | Q(key_id=key_id)
    limits = tuple(
        LimitRule(_scope(r), r.model, r.rpm, r.tpm, r.max_parallel)
        for r in RateLimit.objects.filter(where).order_by("id")
    )
    budgets = tuple(
        BudgetRule(
            b.pk,
            _scope(b),
            b.period,
            b.limit_usd,
            b.limit_tokens,
            b.hard,
            tuple(sorted(int(x) for x in b.alert_at)),
        )
        for b in Budget.objects.filter(where).order_by("id")
    )
    return limits, budgets


def _scope(row: object) -> str:
    for name in ("key", "team", "org"):
        value = getattr(row, f"{name}_id")
        if value:
            return f"{name}:{value}"
    raise ValueError("row without scope")
