"""Redis-backed limiter: one Lua script per decision, with a fail mode for outages."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from redis import exceptions as redis_errors
from redis.exceptions import NoScriptError

from billing.ratelimits import lua
from billing.ratelimits.core import (
    CONCURRENCY_RETRY_S,
    UNAVAILABLE_RETRY_S,
    FailMode,
    LimitReason,
    LimitSpec,
    RateDecision,
    ScopeState,
    build_decision,
    release_then_settle,
    scale_specs,
    validate,
)
from billing.ratelimits.memory import MemoryRateLimiter

logger = logging.getLogger(__name__)

_US = 1_000_000
_REASONS: dict[int, LimitReason | None] = {
    0: None,
    1: LimitReason.REQUESTS,
    2: LimitReason.TOKENS,
    3: LimitReason.CONCURRENCY,
}
# "Redis is not answering" as opposed to a bug in our script or arguments, which must surface.
# READONLY/OOM are included: after a failover or under memory pressure nothing can be recorded.
_OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    redis_errors.ReadOnlyError,
    redis_errors.OutOfMemoryError,
    TimeoutError,
    OSError,
)


class _RedisHealth:
    """Tracks outages: logs once per outage and lets one probe through per interval."""

    def __init__(self, probe_interval_s: float) -> None:
        """Start in the healthy state."""
        self._interval = probe_interval_s
        self._down = False
        self._next_probe = 0.0

    def should_try(self) -> bool:
        """Whether this call may use Redis; while down, at most one call per interval may."""
        if not self._down:
            return True
        now = time.monotonic()
        if now < self._next_probe:
            return False
        self._next_probe = now + self._interval  # concurrent callers keep using the fallback
        return True

    def failed(self, exc: BaseException, mode: FailMode) -> None:
        """Record a failed call; only the first failure of an outage is logged."""
        if not self._down:
            # The exception type only: messages may carry hosts, never request data here.
            logger.warning(
                "rate limiter: Redis unreachable (%s); fail mode %s until it answers",
                type(exc).__name__,
                mode.value,
            )
        self._down = True
        self._next_probe = time.monotonic() + self._interval

    def succeeded(self) -> None:
        """Record a successful call, ending the outage if there was one."""
        if self._down:
            logger.info("rate limiter: Redis reachable again; shared limits restored")
            self._down = False


class RedisRateLimiter:
    """Limits shared by every process that uses the same Redis and prefix."""

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        prefix: str = "sgw:rl",
        window_s: float = 60,
        lease_ttl_s: float = 600,
        on_redis_error: FailMode = FailMode.LOCAL,
        process_count: int = 1,
        timeout_s: float = 1.0,
    ) -> None:
        """`timeout_s` bounds each Redis call, whatever retry policy the client has."""
        if process_count < 1:
            raise ValueError("process_count must be >= 1")
        self._redis = redis
        self._prefix = prefix
        self._window_us = round(window_s * _US)
        self._lease_ttl_us = round(lease_ttl_s * _US)
        self._fail_mode = FailMode(on_redis_error)
        self._process_count = process_count
        self._timeout_s = timeout_s
        self._acquire_lua = redis.register_script(lua.ACQUIRE)
        self._peek_lua = redis.register_script(lua.PEEK)
        self._settle_lua = redis.register_script(lua.SETTLE)
        self._health = _RedisHealth(UNAVAILABLE_RETRY_S)
        self._local = MemoryRateLimiter(window_s=window_s, lease_ttl_s=lease_ttl_s)

    async def acquire(
        self, specs: Sequence[LimitSpec], *, request_id: str, estimated_tokens: int
    ) -> RateDecision:
        """Admit the request in every scope or in none, in one atomic round trip."""
        validate(specs, estimated_tokens, request_id)
        if not specs:
            return RateDecision(allowed=True)
        raw = await self._run(
            self._acquire_lua, self._keys(specs), self._args(specs, request_id, estimated_tokens)
        )
        if raw is not None:
            return _decode(specs, raw, request_id)
        if self._fail_mode is FailMode.LOCAL:
            return await self._local.acquire(
                self._local_specs(specs), request_id=request_id, estimated_tokens=estimated_tokens
            )
        return _degraded_decision(self._fail_mode)

    async def peek(self, specs: Sequence[LimitSpec]) -> RateDecision:
        """Current state for headers / key info, recording nothing."""
        validate(specs)
        raw = await self._run(self._peek_lua, self._keys(specs), self._args(specs, "", 0))
        if raw is not None:
            return _decode(specs, raw, None)
        if self._fail_mode is FailMode.LOCAL:
            return await self._local.peek(self._local_specs(specs))
        return _degraded_decision(self._fail_mode)

    async def release(self, specs: Sequence[LimitSpec], *, request_id: str) -> None:
        """Free the concurrency lease; never raises (an unreleased lease expires by TTL)."""
        # The lease may have been taken locally during an outage; deleting is always safe.
        await self._local.release(specs, request_id=request_id)
        leased = [s for s in specs if s.max_parallel is not None]
        if not leased or not self._health.should_try():
            return  # only scopes with a concurrency limit take leases
        pipe = self._redis.pipeline(transaction=False)  # one round trip for all scopes
        for spec in leased:
            pipe.zrem(self._key(spec, "lease"), request_id)
        try:
            async with asyncio.timeout(self._timeout_s):
                await pipe.execute()
        except _OUTAGE_ERRORS as exc:
            self._health.failed(exc, self._fail_mode)
            return
        self._health.succeeded()

    async def settle_tokens(
        self,
        specs: Sequence[LimitSpec],
        *,
        request_id: str,
        estimated_tokens: int,
        actual_tokens: int,
    ) -> None:
        """Correct the token reservation to actual usage; idempotent per request_id."""
        validate(specs, min(estimated_tokens, actual_tokens), request_id)
        keys = [self._key(s, kind) for s in specs if s.tpm is not None for kind in ("tok", "tokv")]
        if not keys:
            return
        args = [self._window_us, request_id, estimated_tokens, actual_tokens]
        settled = await self._run(self._settle_lua, keys, args)
        if settled is None and self._fail_mode is FailMode.LOCAL:
            await self._local.settle_tokens(
                specs,
                request_id=request_id,
                estimated_tokens=estimated_tokens,
                actual_tokens=actual_tokens,
            )

    async def finish(
        self,
        specs: Sequence[LimitSpec],
        *,
        request_id: str,
        estimated_tokens: int,
        actual_tokens: int | None,
    ) -> None:
        """Release the lease and settle tokens in one round trip (after every request)."""
        leased = [s for s in specs if s.max_parallel is not None]
        token_keys = [
            self._key(s, kind) for s in specs if s.tpm is not None for kind in ("tok", "tokv")
        ]
        settle = actual_tokens is not None and bool(token_keys)
        if not (leased and settle) or not self._health.should_try():
            # One kind of work at most: the single-purpose calls are already one round trip.
            await release_then_settle(
                self,
                specs,
                request_id=request_id,
                estimated_tokens=estimated_tokens,
                actual_tokens=actual_tokens,
            )
            return
        assert actual_tokens is not None
        validate(specs, min(estimated_tokens, actual_tokens), request_id)
        await self._local.release(specs, request_id=request_id)
        pipe = self._redis.pipeline(transaction=False)
        for spec in leased:
            pipe.zrem(self._key(spec, "lease"), request_id)
        args = [str(v) for v in (self._window_us, request_id, estimated_tokens, actual_tokens)]
        # A raw EVALSHA: registering the script on the pipeline would add a SCRIPT EXISTS trip.
        pipe.evalsha(self._settle_lua.sha, len(token_keys), *token_keys, *args)
        try:
            async with asyncio.timeout(self._timeout_s):
                results = await pipe.execute(raise_on_error=False)
        except _OUTAGE_ERRORS as exc:
            self._health.failed(exc, self._fail_mode)
            return
        self._health.succeeded()
        if isinstance(results[-1], NoScriptError):  # Redis restarted: load it and settle again
            await self.settle_tokens(
                specs,
                request_id=request_id,
                estimated_tokens=estimated_tokens,
                actual_tokens=actual_tokens,
            )

    async def _run(self, script: Any, keys: list[str], args: list[Any]) -> list[int] | None:
        """Run a script (EVALSHA, loading it on NOSCRIPT); None when Redis is unusable."""
        if not self._health.should_try():
            return None
        try:
            async with asyncio.timeout(self._timeout_s):
                result: list[int] = await script(keys=keys, args=args)
        except _OUTAGE_ERRORS as exc:
            self._health.failed(exc, self._fail_mode)
            return None
        self._health.succeeded()
        return result

    def _key(self, spec: LimitSpec, kind: str) -> str:
        """Redis key of one structure of a scope."""
        return f"{self._prefix}:{spec.scope}:{kind}"

    def _keys(self, specs: Sequence[LimitSpec]) -> list[str]:
        """KEYS for the acquire/peek scripts: four per scope, in script order."""
        return [self._key(s, kind) for s in specs for kind in ("req", "tok", "tokv", "lease")]

    def _args(self, specs: Sequence[LimitSpec], request_id: str, est: int) -> list[Any]:
        """ARGV for the acquire/peek scripts; -1 encodes "no limit"."""
        head: list[Any] = [
            self._window_us,
            self._lease_ttl_us,
            request_id,
            est,
            round(CONCURRENCY_RETRY_S * _US),
        ]
        for s in specs:
            head += [_or_minus_one(s.rpm), _or_minus_one(s.tpm), _or_minus_one(s.max_parallel)]
        return head

    def _local_specs(self, specs: Sequence[LimitSpec]) -> list[LimitSpec]:
        """Per-process share of each limit, so N processes together stay within the total."""
        return scale_specs(specs, self._process_count)


def _or_minus_one(value: int | None) -> int:
    """Script encoding of an optional limit."""
    return -1 if value is None else value


def _decode(specs: Sequence[LimitSpec], raw: list[int], request_id: str | None) -> RateDecision:
    """Turn the script's flat integer reply into a decision."""
    states = []
    for i in range(len(specs)):
        reason, retry, rcount, rreset, tused, treset = (int(v) for v in raw[1 + 6 * i : 7 + 6 * i])
        states.append(
            ScopeState(
                reason=_REASONS[reason],
                retry_after_s=retry / _US,
                requests_used=rcount,
                reset_requests_s=rreset / _US,
                tokens_used=tused,
                reset_tokens_s=treset / _US,
            )
        )
    takes_lease = request_id is not None and any(s.max_parallel is not None for s in specs)
    return build_decision(specs, states, request_id if takes_lease else None)


def _degraded_decision(mode: FailMode) -> RateDecision:
    """CLOSED denies (UNAVAILABLE, short retry); OPEN admits with no limit information."""
    if mode is FailMode.OPEN:
        return RateDecision(allowed=True)
    return RateDecision(
        allowed=False, reason=LimitReason.UNAVAILABLE, retry_after_s=UNAVAILABLE_RETRY_S
    )
