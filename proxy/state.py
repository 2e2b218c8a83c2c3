"""Process-wide data-plane state: caches and clients built once per process, never per request."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from billing.pricebook import PriceBook
from billing.ratelimits import FailMode, MemoryRateLimiter, RedisRateLimiter
from gateway_project.pgpool import close_pool
from gateway_project.redis import async_client, redis_configured
from proxy import http
from proxy.resilience import CircuitBreaker
from proxy.routing import RouteTable
from tenants.auth import KeyResolver

RateLimiter = RedisRateLimiter | MemoryRateLimiter


def _breaker() -> CircuitBreaker:
    return CircuitBreaker(settings.GATEWAY_BREAKER_FAILURES, settings.GATEWAY_BREAKER_COOLDOWN_S)


@dataclass
class GatewayState:
    resolver: KeyResolver = field(default_factory=KeyResolver)
    routes: RouteTable = field(default_factory=RouteTable)
    prices: PriceBook = field(default_factory=PriceBook)
    breaker: CircuitBreaker = field(default_factory=_breaker)
    _limiters: dict[int, RateLimiter] = field(default_factory=dict)
    _pending: set[asyncio.Task[None]] = field(default_factory=set)

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` in the background; the process awaits it before shutting down."""
        task = asyncio.get_running_loop().create_task(work)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait for background accounting (graceful shutdown loses no record)."""
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=timeout)

    def limiter(self) -> RateLimiter:
        """The rate limiter of the running loop (redis.asyncio connections are loop-bound)."""
        loop_id = id(asyncio.get_running_loop())
        limiter = self._limiters.get(loop_id)
        if limiter is None:
            if redis_configured():
                limiter = RedisRateLimiter(
                    async_client(),
                    on_redis_error=FailMode(settings.GATEWAY_RATELIMIT_ON_REDIS_ERROR),
                    process_count=settings.GATEWAY_PROCESS_COUNT,
                    window_s=settings.GATEWAY_RATELIMIT_WINDOW_S,
                )
            else:
                limiter = MemoryRateLimiter(window_s=settings.GATEWAY_RATELIMIT_WINDOW_S)
            self._limiters[loop_id] = limiter
        return limiter

    def clear_caches(self) -> None:
        """Drop every cached key, route and price (tests)."""
        self.resolver.clear()
        self.routes.clear()
        self.prices.clear()
        self.breaker = _breaker()

    async def aclose(self) -> None:
        """Finish pending accounting, then release network resources at shutdown."""
        await self.drain()
        await http.close_clients()
        await close_pool()


_state: GatewayState | None = None


def get_state() -> GatewayState:
    global _state
    if _state is None:
        _state = GatewayState()
    return _state
