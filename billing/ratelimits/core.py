"""Data types and backend-independent decision logic shared by every rate limiter backend."""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

# A concurrency denial has no natural expiry (it ends when another request finishes), so the
# hint is short; it is still capped by the oldest lease's expiry when that comes sooner.
CONCURRENCY_RETRY_S = 1.0
# How long CLOSED mode tells clients to wait, and how often a down Redis is probed again.
UNAVAILABLE_RETRY_S = 1.0


class LimitReason(enum.StrEnum):
    """Which limit denied a request."""

    REQUESTS = "requests"
    TOKENS = "tokens"
    CONCURRENCY = "concurrency"
    # Only in FailMode.CLOSED while Redis is unreachable: callers may prefer 503 over 429.
    UNAVAILABLE = "unavailable"


class FailMode(enum.StrEnum):
    """What RedisRateLimiter does while Redis is unreachable."""

    CLOSED = "closed"  # deny everything
    LOCAL = "local"  # in-process limits divided by process_count
    OPEN = "open"  # allow everything (unsafe: no limits at all during the outage)


@dataclass(frozen=True)
class LimitSpec:
    """The limits of one scope; None means that kind of limit does not apply."""

    scope: str
    rpm: int | None = None
    tpm: int | None = None
    max_parallel: int | None = None


@dataclass(frozen=True)
class RateDecision:
    """Outcome of acquire/peek, with header values for the most restrictive scope."""

    allowed: bool
    reason: LimitReason | None = None
    scope: str | None = None
    retry_after_s: float = 0.0
    limit_requests: int | None = None
    remaining_requests: int | None = None
    reset_requests_s: float | None = None
    limit_tokens: int | None = None
    remaining_tokens: int | None = None
    reset_tokens_s: float | None = None
    lease_id: str | None = None


@dataclass(frozen=True)
class ScopeState:
    """What a backend reports for one scope after evaluating (and maybe recording) a request."""

    reason: LimitReason | None
    retry_after_s: float
    requests_used: int
    reset_requests_s: float
    tokens_used: int
    reset_tokens_s: float


def validate(
    specs: Sequence[LimitSpec], estimated_tokens: int = 0, request_id: str | None = None
) -> None:
    """Reject inputs that would silently corrupt the shared counters."""
    # "" is the field holding each scope's token total; "#late" marks late settlements.
    if request_id is not None and (not request_id or request_id.endswith("#late")):
        raise ValueError("request_id must be non-empty and must not end with '#late'")
    if estimated_tokens < 0:
        raise ValueError("estimated_tokens must be >= 0")
    for spec in specs:
        for value in (spec.rpm, spec.tpm, spec.max_parallel):
            if value is not None and value < 0:
                raise ValueError(f"negative limit in scope {spec.scope!r}")


def tokens_denied(used: int, estimated: int, tpm: int) -> bool:
    """True if reserving `estimated` tokens would exceed the TPM limit (exhausted denies all)."""
    return used >= tpm or used + estimated > tpm


def build_decision(
    specs: Sequence[LimitSpec], states: Sequence[ScopeState], lease_id: str | None
) -> RateDecision:
    """Combine per-scope states: first denial wins the reason, the longest wait wins retry."""
    denials = [(spec, st) for spec, st in zip(specs, states, strict=True) if st.reason]
    req = _most_restrictive(specs, states, tokens=False)
    tok = _most_restrictive(specs, states, tokens=True)
    return RateDecision(
        allowed=not denials,
        reason=denials[0][1].reason if denials else None,
        scope=denials[0][0].scope if denials else None,
        retry_after_s=max((st.retry_after_s for _, st in denials), default=0.0),
        limit_requests=req[0] if req else None,
        remaining_requests=req[1] if req else None,
        reset_requests_s=req[2] if req else None,
        limit_tokens=tok[0] if tok else None,
        remaining_tokens=tok[1] if tok else None,
        reset_tokens_s=tok[2] if tok else None,
        lease_id=None if denials else lease_id,
    )


def _most_restrictive(
    specs: Sequence[LimitSpec], states: Sequence[ScopeState], *, tokens: bool
) -> tuple[int, int, float] | None:
    """(limit, remaining, reset) of the scope with the lowest remaining; ties go to the first."""
    best: tuple[int, int, float] | None = None
    for spec, st in zip(specs, states, strict=True):
        limit = spec.tpm if tokens else spec.rpm
        if limit is None:
            continue
        used, reset = (
            (st.tokens_used, st.reset_tokens_s)
            if tokens
            else (st.requests_used, st.reset_requests_s)
        )
        remaining = max(limit - used, 0)
        if best is None or remaining < best[1]:
            best = (limit, remaining, reset)
    return best


def scale_specs(specs: Sequence[LimitSpec], divisor: int) -> list[LimitSpec]:
    """Each limit divided by `divisor`, rounded down but at least 1 (0 stays 0: a hard block)."""

    def part(limit: int | None) -> int | None:
        if limit is None or limit == 0:
            return limit
        return max(limit // divisor, 1)

    return [LimitSpec(s.scope, part(s.rpm), part(s.tpm), part(s.max_parallel)) for s in specs]


def format_reset(seconds: float) -> str:
    """Duration in OpenAI's x-ratelimit-reset-* style (Go duration): "17ms", "1s", "6m0s"."""
    ms = max(math.ceil(round(seconds * 1000, 6)), 0)  # round up: never tell clients too early
    if ms < 1000:
        return f"{ms}ms" if ms else "0s"
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    whole, frac = divmod(rest, 1000)
    secs = f"{whole}.{frac:03d}".rstrip("0") if frac else str(whole)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"


class _Finishing(Protocol):
    async def release(self, specs: Sequence[LimitSpec], *, request_id: str) -> None: ...

    async def settle_tokens(
        self,
        specs: Sequence[LimitSpec],
        *,
        request_id: str,
        estimated_tokens: int,
        actual_tokens: int,
    ) -> None: ...


async def release_then_settle(
    limiter: _Finishing,
    specs: Sequence[LimitSpec],
    *,
    request_id: str,
    estimated_tokens: int,
    actual_tokens: int | None,
) -> None:
    """After a request: free its lease, then correct its token reservation to actual usage."""
    await limiter.release(specs, request_id=request_id)
    if actual_tokens is not None:
        await limiter.settle_tokens(
            specs,
            request_id=request_id,
            estimated_tokens=estimated_tokens,
            actual_tokens=actual_tokens,
        )
