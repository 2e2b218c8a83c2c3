"""Per-IP throttling of failed /v1 authentications (Redis when shared, in-process otherwise)."""

from __future__ import annotations

import logging
import time

from django.conf import settings

from gateway_project.redis import async_client, redis_configured

log = logging.getLogger(__name__)
_WINDOW_S = 60


class AuthThrottle:
    """Counts failures per client IP in one-minute windows; no database involved."""

    def __init__(self) -> None:
        self._local: dict[tuple[str, int], int] = {}

    @staticmethod
    def _window() -> int:
        return int(time.time()) // _WINDOW_S

    async def is_blocked(self, ip: str) -> bool:
        """True when this IP already used up its failures for the current window."""
        limit = settings.GATEWAY_AUTH_FAILURES_PER_MIN
        key = f"sgw:authfail:{ip}:{self._window()}"
        if redis_configured():
            try:
                raw = await async_client().get(key)
                return int(raw or 0) >= limit
            except Exception:
                log.warning("auth throttle: redis unreachable, using the local counter")
        return self._local.get((ip, self._window()), 0) >= limit

    async def record_failure(self, ip: str) -> bool:
        """Count a failure; True when this one exceeded the limit."""
        limit = settings.GATEWAY_AUTH_FAILURES_PER_MIN
        window = self._window()
        if redis_configured():
            key = f"sgw:authfail:{ip}:{window}"
            try:
                pipe = async_client().pipeline()
                pipe.incr(key)
                pipe.expire(key, _WINDOW_S * 2)
                count, _ = await pipe.execute()
                return int(count) > limit
            except Exception:
                log.warning("auth throttle: redis unreachable, using the local counter")
        self._local = {k: v for k, v in self._local.items() if k[1] >= window - 1}
        count = self._local.get((ip, window), 0) + 1
        self._local[(ip, window)] = count
        return count > limit
