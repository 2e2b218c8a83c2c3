"""After the response: give back rate-limit leases, then settle money and append the audit record.

This runs after the client has its answer (the ASGI layer calls it once the body is sent, and
stream relays call it from their `finally`), so accounting adds no latency to responses. The
settlement, the usage row and the audit record are one transaction: one database hop.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from asgiref.sync import sync_to_async
from django.db import transaction

from audit import records
from billing import budgets, ledger
from billing.pricing import FREE
from billing.pricing import cost as cost_of
from gateway_project import logs, metrics, tracing
from gateway_project.pgpool import is_postgres
from proxy.formats import Usage
from proxy.outcome import Outcome

log = logging.getLogger(__name__)


async def finalize(outcome: Outcome) -> None:
    """Observe, release limits and persist one finished request; never raises."""
    try:
        amounts: tuple[Usage, Decimal] | None = _amounts(outcome)
    except Exception:
        amounts = None
        log.exception("pricing the request failed", extra={"request_id": outcome.request_id})
    # Before any await, so a cancelled finalize still leaves its metrics and access line.
    _observe(outcome, amounts[1] if amounts is not None else Decimal(0))
    try:
        await _release_limits(outcome)
    except Exception:
        log.exception("rate-limit release failed", extra={"request_id": outcome.request_id})
    if outcome.ctx is None or amounts is None:
        return  # unauthenticated: counted in metrics, not written per attempt (no DB amplification)
    try:
        if is_postgres():
            await _persist_async(outcome, *amounts)
        else:
            await sync_to_async(_persist)(outcome, *amounts)
    except Exception:
        # The reservation expires and the sweeper releases it; the error is visible in logs.
        log.exception("persisting the request failed", extra={"request_id": outcome.request_id})


def _observe(outcome: Outcome, amount: Decimal) -> None:
    """Metrics, the access log line and the trace span: in memory, tens of microseconds."""
    try:
        cost = float(amount)
        metrics.observe(outcome, cost)
        logs.access(outcome, cost)
        tracing.record(outcome, cost)
    except Exception:
        log.exception(
            "recording the request's telemetry failed", extra={"request_id": outcome.request_id}
        )


async def _release_limits(outcome: Outcome) -> None:
    if not outcome.limit_specs or outcome.rate is None or not outcome.rate.allowed:
        return
    await outcome.state.limiter().finish(
        outcome.limit_specs,
        request_id=outcome.request_id,
        estimated_tokens=outcome.estimated_tokens,
        actual_tokens=outcome.usage.total_tokens if outcome.usage is not None else None,
    )


def _amounts(outcome: Outcome) -> tuple[Usage, Decimal]:
    usage = outcome.usage or Usage()
    if not outcome.reached_provider:
        return usage, Decimal(0)
    return usage, cost_of(usage, outcome.price or FREE)


def _persist(outcome: Outcome, usage: Usage, amount: Decimal) -> None:
    ctx = outcome.ctx
    assert ctx is not None
    with transaction.atomic():
        if outcome.reached_provider:
            budgets.settle(
                request_id=outcome.request_id,
                cost=amount,
                tokens=usage.total_tokens,
                rules=ctx.budget_rules,
                usage=_usage_row(outcome, usage, amount),
            )
        elif outcome.reserved is not None:
            budgets.release(outcome.request_id)
        records.record(_audit_row(outcome, usage, amount))


async def _persist_async(outcome: Outcome, usage: Usage, amount: Decimal) -> None:
    """PostgreSQL: settlement, usage row and audit record in one pipelined round trip."""
    ctx = outcome.ctx
    assert ctx is not None
    settled = await ledger.settle_and_record(
        request_id=outcome.request_id,
        cost=amount,
        tokens=usage.total_tokens,
        period_ids=outcome.reserved_periods,
        reached_provider=outcome.reached_provider,
        usage=_usage_row(outcome, usage, amount) if outcome.reached_provider else None,
        audit=_audit_row(outcome, usage, amount),
    )
    alerts = budgets.crossed_thresholds(settled, amount, ctx.budget_rules)
    if alerts:  # rare: a threshold was crossed; claiming it once needs a row lock
        await sync_to_async(budgets.claim_alerts)(alerts)


def _usage_row(outcome: Outcome, usage: Usage, amount: Decimal) -> dict[str, Any]:
    ctx = outcome.ctx
    assert ctx is not None
    dep = outcome.deployment
    return {
        "created_at": outcome.received_at,
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
        "price_id": outcome.price.id if outcome.price else None,
        "status": outcome.status or 200,
        "stream": outcome.stream,
        "latency_ms": round(outcome.latency_ms, 2),
    }


def _audit_row(outcome: Outcome, usage: Usage, amount: Decimal) -> dict[str, Any]:
    ctx = outcome.ctx
    assert ctx is not None
    dep, decision = outcome.deployment, outcome.decision
    rules = {f.rule_id for d in (decision, outcome.output_decision) if d for f in d.findings}
    return {
        "created_at": outcome.received_at,
        "request_id": outcome.request_id,
        "org_id": ctx.org_id,
        "org_slug": ctx.org_slug,
        "team_id": ctx.team_id,
        "team_slug": ctx.team_slug,
        "key_id": ctx.key_id,
        "key_prefix": ctx.key_prefix,
        "end_user": outcome.end_user or ctx.end_user,
        "client_ip": outcome.client_ip or None,
        "endpoint": outcome.route,
        "model_requested": outcome.model,
        "model_served": dep.upstream_model if dep else "",
        "provider": dep.provider_name if dep else "",
        "deployment_id": dep.id if dep else None,
        "policy_version": decision.version if decision else "",
        "decision": decision.action if decision else "",
        "output_decision": outcome.output_decision.action if outcome.output_decision else "",
        "rule_ids": sorted(rules),
        "risk_score": max(
            (d.risk_score for d in (decision, outcome.output_decision) if d), default=0
        ),
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "cost_usd": amount,
        "status": outcome.status or 200,
        "error_code": outcome.error_code or "",
        "stream": outcome.stream,
        "latency_ms": round(outcome.latency_ms, 2),
        "attempts": [
            {
                "deployment": a.deployment_id,
                "provider": a.provider,
                "outcome": a.outcome,
                "status": a.status,
                "ms": a.duration_ms,
            }
            for a in outcome.attempts
        ],  # fmt: skip
        "prompt_hmac": outcome.prompt_hmac,
        "captured": _capture(outcome) if ctx.capture_prompts else "",
    }


def _capture(outcome: Outcome) -> str:
    """The forwarded (already redacted) prompt and the answer, encrypted."""
    return records.seal_capture(outcome.forwarded_prompt, outcome.response_text)
