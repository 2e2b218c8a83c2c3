"""In-process sliding-window limiter: the embedded mode and RedisRateLimiter's LOCAL fallback."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from billing.ratelimits.core import (
    CONCURRENCY_RETRY_S,
    LimitReason,
    LimitSpec,
    RateDecision,
    ScopeState,
    build_decision,
    release_then_settle,
    tokens_denied,
    validate,
)


@dataclass
class _ScopeLog:
    """Mirror of the four Redis keys of one scope."""

    requests: deque[float] = field(default_factory=deque)  # admission times, oldest first
    # request_id -> (time, tokens); dict order is time order because the clock is monotonic.
    tokens: dict[str, tuple[float, int]] = field(default_factory=dict)
    token_sum: int = 0
    leases: dict[str, float] = field(default_factory=dict)  # request_id -> expiry

    def empty(self) -> bool:
        """True when nothing is left to remember, so the scope can be dropped."""
        return not (self.requests or self.tokens or self.leases)


class MemoryRateLimiter:
    """Same interface and semantics as RedisRateLimiter, exact within one process only."""

    def __init__(
        self,
        *,
        window_s: float = 60,
        lease_ttl_s: float = 600,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Limits arrive per call; the clock is injectable for deterministic tests."""
        self._window = float(window_s)
        self._lease_ttl = float(lease_ttl_s)
        self._clock = clock
        self._scopes: dict[str, _ScopeLog] = {}
        # No await happens while the lock is held, so it never blocks the event loop for
        # long; it makes the limiter safe across threads/loops too (sync_to_async, workers).
        self._lock = threading.Lock()
        self._next_sweep = clock() + self._window

    async def acquire(
        self, specs: Sequence[LimitSpec], *, request_id: str, estimated_tokens: int
    ) -> RateDecision:
        """Admit the request in every scope or in none (a denial still counts as a request)."""
        validate(specs, estimated_tokens, request_id)
        with self._lock:
            now = self._clock()
            self._maybe_sweep(now)
            logs = [self._purged(spec.scope, now) for spec in specs]
            reasons = [
                self._check(spec, log, estimated_tokens, now)[0]
                for spec, log in zip(specs, logs, strict=True)
            ]
            denied = any(reasons)
            states = []
            for spec, log, reason in zip(specs, logs, reasons, strict=True):
                if not denied:
                    self._admit(spec, log, request_id, estimated_tokens, now)
                elif reason is not None and spec.rpm is not None:
                    self._record_denial(spec.rpm, log, now)
                retry = self._check(spec, log, estimated_tokens, now)[1] if reason else 0.0
                states.append(self._state(spec, log, reason, retry, now))
        lease = request_id if any(s.max_parallel is not None for s in specs) else None
        return build_decision(specs, states, lease)

    async def peek(self, specs: Sequence[LimitSpec]) -> RateDecision:
        """What a zero-token request would get now, without recording anything."""
        validate(specs)
        with self._lock:
            now = self._clock()
            states = []
            for spec in specs:
                log = self._purged(spec.scope, now)
                reason, retry = self._check(spec, log, 0, now)
                states.append(self._state(spec, log, reason, retry, now))
        return build_decision(specs, states, None)

    async def release(self, specs: Sequence[LimitSpec], *, request_id: str) -> None:
        """Free the concurrency lease of `request_id` in every scope (unknown ids are ignored)."""
        with self._lock:
            for spec in specs:
                log = self._scopes.get(spec.scope)
                if log is not None:
                    log.leases.pop(request_id, None)

    async def finish(
        self,
        specs: Sequence[LimitSpec],
        *,
        request_id: str,
        estimated_tokens: int,
        actual_tokens: int | None,
    ) -> None:
        """Release the lease and settle tokens (same interface as the Redis limiter)."""
        await release_then_settle(
            self,
            specs,
            request_id=request_id,
            estimated_tokens=estimated_tokens,
            actual_tokens=actual_tokens,
        )

    async def settle_tokens(
        self,
        specs: Sequence[LimitSpec],
        *,
        request_id: str,
        estimated_tokens: int,
        actual_tokens: int,
    ) -> None:
        """Replace the reservation by actual usage; idempotent per request_id."""
        validate(specs, min(estimated_tokens, actual_tokens), request_id)
        with self._lock:
            now = self._clock()
            for spec in specs:
                if spec.tpm is not None:
                    log = self._scopes.setdefault(spec.scope, _ScopeLog())
                    self._settle(log, request_id, estimated_tokens, actual_tokens, now)

    def _settle(self, log: _ScopeLog, request_id: str, est: int, actual: int, now: float) -> None:
        """Adjust in place while in the window, else charge the overrun as a late entry."""
        entry = log.tokens.get(request_id)
        if entry is not None and entry[0] > now - self._window:
            self._set_tokens(log, request_id, entry[0], actual)
            return
        late = f"{request_id}#late"
        extra = max(actual - est, 0)
        if extra or late in log.tokens:
            when = log.tokens[late][0] if late in log.tokens else now
            self._set_tokens(log, late, when, extra)

    @staticmethod
    def _set_tokens(log: _ScopeLog, member: str, when: float, value: int) -> None:
        """Store one reservation and keep the running total consistent."""
        old = log.tokens.get(member, (when, 0))[1]
        log.tokens[member] = (when, value)
        log.token_sum += value - old

    def _purged(self, scope: str, now: float) -> _ScopeLog:
        """The scope's log with everything outside the window (or expired) dropped."""
        log = self._scopes.setdefault(scope, _ScopeLog())
        cutoff = now - self._window
        while log.requests and log.requests[0] <= cutoff:
            log.requests.popleft()
        while log.tokens:
            member, (when, value) = next(iter(log.tokens.items()))
            if when > cutoff:
                break
            del log.tokens[member]
            log.token_sum -= value
        for member in [m for m, expiry in log.leases.items() if expiry <= now]:
            del log.leases[member]
        return log

    def _check(
        self, spec: LimitSpec, log: _ScopeLog, est: int, now: float
    ) -> tuple[LimitReason | None, float]:
        """First failing limit of the scope and the wait until all of its checks pass."""
        reason: LimitReason | None = None
        retry = 0.0
        if spec.rpm is not None and len(log.requests) >= spec.rpm:
            reason, retry = LimitReason.REQUESTS, self._requests_retry(spec.rpm, log, now)
        if spec.tpm is not None and tokens_denied(log.token_sum, est, spec.tpm):
            reason = reason or LimitReason.TOKENS
            retry = max(retry, self._tokens_retry(spec.tpm, log, est, now))
        if spec.max_parallel is not None and len(log.leases) >= spec.max_parallel:
            reason = reason or LimitReason.CONCURRENCY
            first = min(log.leases.values(), default=now + CONCURRENCY_RETRY_S)
            retry = max(retry, min(first - now, CONCURRENCY_RETRY_S))
        return reason, retry

    def _requests_retry(self, rpm: int, log: _ScopeLog, now: float) -> float:
        """One more request fits once the (count - rpm + 1)-th oldest entry has left."""
        index = len(log.requests) - rpm
        if index >= len(log.requests):
            return self._window
        return log.requests[index] + self._window - now

    def _tokens_retry(self, tpm: int, log: _ScopeLog, est: int, now: float) -> float:
        """Walk reservations oldest first until enough tokens would have left the window."""
        want = max(est, 1)
        if want > tpm:
            return self._window
        need, freed = log.token_sum + want - tpm, 0
        for when, value in log.tokens.values():
            freed += value
            if freed >= need:
                return when + self._window - now
        return self._window

    def _admit(self, spec: LimitSpec, log: _ScopeLog, rid: str, est: int, now: float) -> None:
        """Record an admitted request: request log, token reservation and lease."""
        if spec.rpm is not None:
            log.requests.append(now)
        if spec.tpm is not None and est > 0:
            previous = log.tokens.pop(rid, None)  # a retried id moves to the end (time order)
            if previous is not None:
                log.token_sum -= previous[1]
            self._set_tokens(log, rid, now, est)
        if spec.max_parallel is not None:
            log.leases[rid] = now + self._lease_ttl

    @staticmethod
    def _record_denial(rpm: int, log: _ScopeLog, now: float) -> None:
        """Blocked requests count; only the newest rpm entries can matter (bounded memory)."""
        log.requests.append(now)
        while len(log.requests) > rpm:
            log.requests.popleft()

    def _state(
        self,
        spec: LimitSpec,
        log: _ScopeLog,
        reason: LimitReason | None,
        retry: float,
        now: float,
    ) -> ScopeState:
        """Header material for one scope."""
        newest_token = next(reversed(log.tokens.values()), None)
        return ScopeState(
            reason=reason,
            retry_after_s=retry,
            requests_used=len(log.requests) if spec.rpm is not None else 0,
            reset_requests_s=self._reset(log.requests[-1] if log.requests else None, now),
            tokens_used=log.token_sum if spec.tpm is not None else 0,
            reset_tokens_s=self._reset(newest_token[0] if newest_token else None, now),
        )

    def _reset(self, newest: float | None, now: float) -> float:
        """Time until the log is empty again (OpenAI: 'resets to its initial state')."""
        return 0.0 if newest is None else max(newest + self._window - now, 0.0)

    def _maybe_sweep(self, now: float) -> None:
        """Drop idle scopes once per window, like Redis key TTLs do."""
        if now < self._next_sweep:
            return
        self._next_sweep = now + self._window
        for scope in list(self._scopes):
            if self._purged(scope, now).empty():
                del self._scopes[scope]
