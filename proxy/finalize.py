"""After the response: give back rate-limit leases, settle the budget, write the usage row.

This runs after the client has its answer (the ASGI layer calls it once the body is sent, and
stream relays call it from their `finally`), so accounting adds no latency to responses.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import sync_to_async

from billing import budgets
from billing.pricing import FREE
from billing.pricing import cost as cost_of
from proxy.formats import Usage
from proxy.outcome import Outcome

log = logging.getLogger(__name__)


async def finalize(outcome: Outcome) -> None:
    """Release limits and settle money for one finished request; never raises."""
    try:
        await _release_limits(outcome)
    except Exception:
        log.exception("rate-limit release failed", extra={"request_id": outcome.request_id})
    try:
        await _settle(outcome)
    except Exception:
        # The reservation expires and the sweeper releases it; the error is visible in logs.
        log.exception("settlement failed", extra={"request_id": outcome.request_id})


async def _release_limits(outcome: Outcome) -> None:
    if not outcome.limit_specs or outcome.rate is None or not outcome.rate.allowed:
        return
    limiter = outcome.state.limiter()
    await limiter.release(outcome.limit_specs, request_id=outcome.request_id)
    if outcome.usage is not None:
        await limiter.settle_tokens(
            outcome.limit_specs,
            request_id=outcome.request_id,
            estimated_tokens=outcome.estimated_tokens,
            actual_tokens=outcome.usage.total_tokens,
        )


async def _settle(outcome: Outcome) -> None:
    ctx = outcome.ctx
    if ctx is None:
        return
    if not outcome.reached_provider:
        if outcome.reserved is not None:
            await sync_to_async(budgets.release)(outcome.request_id)
        return
    usage = outcome.usage or Usage()
    price = outcome.price or FREE
    amount = cost_of(usage, price) if outcome.status < 400 or usage.total_tokens else 0
    await sync_to_async(budgets.settle)(
        request_id=outcome.request_id,
        cost=amount,
        tokens=usage.total_tokens,
        rules=ctx.budget_rules,
        usage=_usage_row(outcome, usage, amount, price.id),
    )


def _usage_row(outcome: Outcome, usage: Usage, amount: Any, price_id: int | None) -> dict[str, Any]:
    ctx = outcome.ctx
    assert ctx is not None
    dep = outcome.deployment
    return {
        "org_id": ctx.org_id,
        "team_id": ctx.team_id,
        "key_id": ctx.key_id,
        "key_prefix": ctx.key_prefix,
        "end_user": outcome.end_user or ctx.end_user,
        "endpoint": outcome.route,
        "model_requested": outcome.model,
        "model_served": dep.upstream_model if dep else "",
        "provider": dep.provider_name if dep else "",
        "deployment_id": dep.id if dep else None,
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "cached_tokens": usage.cached_tokens,
        "cache_write_tokens": usage.cache_write_tokens,
        "reasoning_tokens": usage.reasoning_tokens,
        "usage_estimated": outcome.usage_estimated,
        "cost_usd": amount,
        "price_id": price_id,
        "status": outcome.status or 200,
        "stream": outcome.stream,
        "latency_ms": round(outcome.latency_ms, 2),
    }
