"""Cost-guard stages of the pipeline: rate limits and budget reservations, and their headers."""

from __future__ import annotations

import math

from asgiref.sync import sync_to_async

from billing import budgets, ledger
from billing.pricing import max_cost
from billing.ratelimits import LimitReason, RateDecision, format_reset
from billing.rules import limit_specs
from gateway_project.pgpool import is_postgres
from proxy.errors import GatewayError
from proxy.outcome import Outcome
from proxy.routing import RouteInfo


def ratelimit_headers(decision: RateDecision | None) -> dict[str, str]:
    """OpenAI's x-ratelimit-* headers for the most restrictive scope."""
    if decision is None:
        return {}
    headers: dict[str, str] = {}
    for kind in ("requests", "tokens"):
        limit = getattr(decision, f"limit_{kind}")
        if limit is None:
            continue
        headers[f"x-ratelimit-limit-{kind}"] = str(limit)
        headers[f"x-ratelimit-remaining-{kind}"] = str(
            max(0, getattr(decision, f"remaining_{kind}"))
        )
        headers[f"x-ratelimit-reset-{kind}"] = format_reset(
            getattr(decision, f"reset_{kind}_s") or 0
        )
    return headers


async def check_rate_limits(outcome: Outcome) -> None:
    """Acquire RPM/TPM/concurrency for every scope at once, or raise 429 (503 if unavailable)."""
    ctx = outcome.ctx
    assert ctx is not None
    specs = limit_specs(ctx.limit_rules, outcome.model)
    if not specs:
        return
    outcome.limit_specs = specs
    outcome.estimated_tokens = outcome.estimated_prompt_tokens + (outcome.max_output_tokens or 0)
    decision = await outcome.state.limiter().acquire(
        specs, request_id=outcome.request_id, estimated_tokens=outcome.estimated_tokens
    )
    outcome.rate = decision
    if decision.allowed:
        return
    retry_after = str(max(1, math.ceil(decision.retry_after_s)))
    headers = {**ratelimit_headers(decision), "retry-after": retry_after}
    if decision.reason is LimitReason.UNAVAILABLE:
        raise GatewayError(
            503,
            "Rate limiting is unavailable; try again shortly.",
            code="rate_limiter_unavailable",
            headers=headers,
        )
    if decision.reason is LimitReason.CONCURRENCY:
        raise GatewayError(
            429,
            f"Too many concurrent requests for {decision.scope}.",
            code="concurrency_limit_exceeded",
            headers=headers,
        )
    what = "tokens" if decision.reason is LimitReason.TOKENS else "requests"
    raise GatewayError(
        429,
        f"Rate limit reached for {what} per minute on {decision.scope}; retry after {retry_after}s.",
        code="rate_limit_exceeded",
        type="rate_limit_error",
        headers=headers,
    )


async def reserve_budget(outcome: Outcome, route: RouteInfo) -> None:
    """Hold the request's maximum cost in every budget of key, team and org, or raise 429."""
    ctx = outcome.ctx
    assert ctx is not None
    if not ctx.budget_rules:
        return
    price = await outcome.state.prices.most_expensive(
        route.name, [d.upstream_model for d in route.deployments]
    )
    amount = max_cost(outcome.estimated_prompt_tokens, outcome.max_output_tokens, price)
    tokens = outcome.estimated_prompt_tokens + (
        outcome.max_output_tokens or price.max_output_tokens
    )
    try:
        if is_postgres():
            outcome.reserved_periods = await ledger.reserve(
                request_id=outcome.request_id,
                rules=ctx.budget_rules,
                time_zone=ctx.org_time_zone,
                amount=amount,
                tokens=tokens,
            )
        else:
            await sync_to_async(budgets.reserve)(
                request_id=outcome.request_id,
                rules=ctx.budget_rules,
                time_zone=ctx.org_time_zone,
                amount=amount,
                tokens=tokens,
            )
    except budgets.BudgetExceeded as exc:
        raise GatewayError(
            429,
            f"The {exc.rule.period} budget of {exc.rule.scope} is exhausted.",
            code="budget_exceeded",
            type="insufficient_quota",
            headers={"x-should-retry": "false"},
        ) from None
    outcome.reserved = amount
