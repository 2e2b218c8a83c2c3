"""Async rate limiting for /v1: requests/min, tokens/min and in-flight requests per scope.

Algorithm: a sliding-window *log* per scope, not fixed windows or buckets. Redis keeps a ZSET
of admitted requests scored by time, a ZSET+HASH of token reservations with a running total,
and a ZSET of concurrency leases scored by expiry. A request is admitted when, in every scope,
fewer than ``rpm`` requests and at most ``tpm - estimate`` tokens lie in (now - window, now]
and fewer than ``max_parallel`` unexpired leases exist. Because the window slides with the
request, no 60 s interval ever holds more than ``rpm`` admissions: a burst straddling a
minute boundary cannot get 2x (the boundary tests measure exactly ``rpm`` per window).
Expired entries and leases are purged first, so a crashed process frees its slots after
``lease_ttl_s``; every key carries a TTL so idle scopes vanish. Memory per scope is bounded
by the limit (see below), and each decision is O(scopes * log n).

Why it is exact across processes: the whole decision for all scopes (purge, check, record)
is one Lua script, and Redis runs scripts one at a time, so concurrent gateways on any number
of machines serialize on Redis. Time comes from Redis ``TIME`` inside the script, never from
gateway clocks, so clock skew between machines cannot widen a window. One EVALSHA per
acquire (redis-py reloads the script on NOSCRIPT). For Redis Cluster all scope keys must share
a slot: use a hash-tagged prefix such as ``"sgw:rl:{rl}"``.

All-or-nothing, and what a denial counts: if any scope denies, no token reservation and no
lease is recorded anywhere. "Blocked requests count": the denied request is added to the
request log of each scope that denied it (whatever the reason), so a client hammering a
blocked scope stays blocked. It is deliberately *not* counted in the scopes that would have
admitted it, so one key's rejected retries cannot burn the team/org budget of its siblings.
Since decisions only compare the in-window count with ``rpm``, the log keeps only the newest
``rpm`` entries, which bounds memory under a flood without changing any decision.

Headers: ``RateDecision`` carries limit/remaining/reset for the scope with the lowest
remaining requests (and separately tokens); reset is the time until that scope's log is
empty (OpenAI's "resets to its initial state"); ``format_reset`` renders it like OpenAI.

Fail modes (Redis refusing connections, timing out, read-only or out of memory):
``CLOSED`` denies with ``LimitReason.UNAVAILABLE`` and a 1 s retry; ``LOCAL`` (default) uses an
in-process ``MemoryRateLimiter`` with every limit divided by ``process_count`` (rounded down,
at least 1), so N processes never admit more than the shared limit; ``OPEN`` admits everything
and is unsafe (no limits during the outage). The outage is logged once; Redis is probed again
at most once per second and used as soon as it answers. Requests admitted locally are not
known to Redis afterwards, so right after recovery a scope may briefly exceed its limit.
"""

from __future__ import annotations

from billing.ratelimits.core import (
    FailMode,
    LimitReason,
    LimitSpec,
    RateDecision,
    format_reset,
)
from billing.ratelimits.memory import MemoryRateLimiter
from billing.ratelimits.redis_backend import RedisRateLimiter

__all__ = [
    "FailMode",
    "LimitReason",
    "LimitSpec",
    "MemoryRateLimiter",
    "RateDecision",
    "RedisRateLimiter",
    "format_reset",
]
