"""What `GET /v1/key/info` tells an app about its own key: limits, spend, remaining budget."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from billing.budgets import period_id
from billing.models import BudgetPeriod
from billing.rules import BudgetRule


def budget_status(
    rules: tuple[BudgetRule, ...], time_zone: str, now: datetime
) -> list[dict[str, Any]]:
    """Current-period spend per budget (sync)."""
    out = []
    for rule in rules:
        period = BudgetPeriod.objects.get(pk=period_id(rule, time_zone, now))
        remaining = rule.limit_usd - period.spent - period.reserved
        out.append(
            {
                "scope": rule.scope.split(":", 1)[0],
                "period": rule.period,
                "period_start": period.starts_at.isoformat(),
                "period_end": period.ends_at.isoformat(),
                "limit_usd": str(rule.limit_usd),
                "spent_usd": str(period.spent.normalize()),
                "reserved_usd": str(period.reserved.normalize()),
                "remaining_usd": str(max(remaining, 0 * remaining).normalize()),
                "hard": rule.hard,
            }
        )
    return out
