"""Behaviour of the rate limiters against real Redis, with the in-memory limiter in parity."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

import pytest
import pytest_asyncio
import redis.asyncio as aioredis
from redis import exceptions as redis_errors

from billing.ratelimits import (
    LimitReason,
    LimitSpec,
    MemoryRateLimiter,
    RateDecision,
    RedisRateLimiter,
    format_reset,
)

REDIS_URL = os.environ.get("RATELIMIT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


class Limiter(Protocol):
    """The interface both backends share."""

    async def acquire(
        self, specs: list[LimitSpec], *, request_id: str, estimated_tokens: int
    ) -> RateDecision: ...

    async def peek(self, specs: list[LimitSpec]) -> RateDecision: ...

    async def release(self, specs: list[LimitSpec], *, request_id: str) -> None: ...

    async def finish(
        self,
        specs: list[LimitSpec],
        *,
        request_id: str,
        estimated_tokens: int,
        actual_tokens: int | None,
    ) -> None: ...

    async def settle_tokens(
        self,
        specs: list[LimitSpec],
        *,
        request_id: str,
        estimated_tokens: int,
        actual_tokens: int,
    ) -> None: ...


MakeLimiter = Callable[..., Limiter]


@pytest_asyncio.fixture
async def redis_client() -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        await client.ping()
    except (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError) as exc:
        await client.aclose()
        reason = f"Redis not reachable at {REDIS_URL} ({exc!r}); skipping Redis tests"
        print(reason)
        pytest.skip(reason)
    yield client
    await client.aclose()


@pytest_asyncio.fixture
async def prefix(redis_client: aioredis.Redis) -> AsyncIterator[str]:
    value = f"test:rl:{uuid.uuid4().hex}"
    yield value
    keys = [key async for key in redis_client.scan_iter(match=f"{value}:*")]
    if keys:
        await redis_client.delete(*keys)


@pytest.fixture(params=["redis", "memory"])
def make_limiter(request: pytest.FixtureRequest) -> MakeLimiter:
    """Factory for either backend, so every behaviour test also proves parity."""
    if request.param == "memory":
        return lambda **kw: MemoryRateLimiter(**kw)
    client: aioredis.Redis = request.getfixturevalue("redis_client")
    prefix: str = request.getfixturevalue("prefix")
    return lambda **kw: RedisRateLimiter(client, prefix=prefix, **kw)


def rid() -> str:
    return uuid.uuid4().hex


async def admit_many(limiter: Limiter, specs: list[LimitSpec], n: int, tokens: int = 0) -> int:
    admitted = 0
    for _ in range(n):
        decision = await limiter.acquire(specs, request_id=rid(), estimated_tokens=tokens)
        admitted += decision.allowed
    return admitted


# --- format_reset -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (1, "1s"),
        (360, "6m0s"),
        (0.017, "17ms"),
        (90, "1m30s"),
        (0, "0s"),
        (1.5, "1.5s"),
        (8.64, "8.64s"),
        (3600, "1h0m0s"),
        (0.0004, "1ms"),
        (-3, "0s"),
    ],
)
def test_format_reset_matches_openai_duration_style(seconds: float, expected: str) -> None:
    assert format_reset(seconds) == expected


# --- each limit kind ----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_requests_beyond_rpm_are_denied_with_requests_reason(
    make_limiter: MakeLimiter,
) -> None:
    limiter = make_limiter()
    specs = [LimitSpec("key:1", rpm=3, tpm=None, max_parallel=None)]
    assert await admit_many(limiter, specs, 3) == 3
    denied = await limiter.acquire(specs, request_id=rid(), estimated_tokens=0)
    assert not denied.allowed
    assert denied.reason is LimitReason.REQUESTS
    assert denied.scope == "key:1"
    assert 59 < denied.retry_after_s <= 60
    assert denied.remaining_requests == 0


@pytest.mark.asyncio
async def test_token_estimate_beyond_tpm_is_denied_with_tokens_reason(
    make_limiter: MakeLimiter,
) -> None:
    limiter = make_limiter()
    specs = [LimitSpec("key:1", rpm=None, tpm=100, max_parallel=None)]
    first = await limiter.acquire(specs, request_id=rid(), estimated_tokens=60)
    assert first.allowed
    assert first.remaining_tokens == 40
    denied = await limiter.acquire(specs, request_id=rid(), estimated_tokens=41)
    assert (denied.allowed, denied.reason) == (False, LimitReason.TOKENS)
    assert 59 < denied.retry_after_s <= 60
    fits = await limiter.acquire(specs, request_id=rid(), estimated_tokens=40)
    assert fits.allowed
    assert fits.remaining_tokens == 0


@pytest.mark.asyncio
async def test_exhausted_tpm_denies_even_zero_token_requests(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter()
    specs = [LimitSpec("key:1", rpm=None, tpm=10, max_parallel=None)]
    assert (await limiter.acquire(specs, request_id=rid(), estimated_tokens=10)).allowed
    denied = await limiter.acquire(specs, request_id=rid(), estimated_tokens=0)
    assert denied.reason is LimitReason.TOKENS


@pytest.mark.asyncio
async def test_requests_beyond_max_parallel_are_denied_until_release(
    make_limiter: MakeLimiter,
) -> None:
    limiter = make_limiter()
    specs = [LimitSpec("key:1", rpm=None, tpm=None, max_parallel=2)]
    first = await limiter.acquire(specs, request_id="a", estimated_tokens=0)
    await limiter.acquire(specs, request_id="b", estimated_tokens=0)
    denied = await limiter.acquire(specs, request_id="c", estimated_tokens=0)
    assert first.lease_id == "a"
    assert (denied.allowed, denied.reason, denied.lease_id) == (
        False,
        LimitReason.CONCURRENCY,
        None,
    )
    assert 0 < denied.retry_after_s <= 1.0
    await limiter.release(specs, request_id="a")
    assert (await limiter.acquire(specs, request_id="d", estimated_tokens=0)).allowed


@pytest.mark.asyncio
async def test_expired_lease_frees_its_slot(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter(lease_ttl_s=0.5)
    specs = [LimitSpec("key:1", rpm=None, tpm=None, max_parallel=1)]
    assert (await limiter.acquire(specs, request_id="crashed", estimated_tokens=0)).allowed
    assert not (await limiter.acquire(specs, request_id=rid(), estimated_tokens=0)).allowed
    await asyncio.sleep(0.55)
    assert (await limiter.acquire(specs, request_id=rid(), estimated_tokens=0)).allowed


@pytest.mark.asyncio
async def test_release_of_unknown_request_is_harmless(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter()
    specs = [LimitSpec("key:1", rpm=None, tpm=None, max_parallel=1)]
    await limiter.release(specs, request_id="never-acquired")
    assert (await limiter.acquire(specs, request_id=rid(), estimated_tokens=0)).allowed


# --- scopes: headers and all-or-nothing ---------------------------------------------------


@pytest.mark.asyncio
async def test_headers_describe_the_most_restrictive_scope(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter()
    key = LimitSpec("key:1", rpm=10, tpm=1000, max_parallel=None)
    team = LimitSpec("team:7", rpm=5, tpm=100_000, max_parallel=None)
    await admit_many(limiter, [team], 3, tokens=10)  # sibling traffic in the team only
    decision = await limiter.acquire([key, team], request_id=rid(), estimated_tokens=100)
    assert decision.allowed
    # requests: key has 9 left, team has 1 left -> team; tokens: key 900 left vs team 99870.
    assert (decision.limit_requests, decision.remaining_requests) == (5, 1)
    assert (decision.limit_tokens, decision.remaining_tokens) == (1000, 900)
    assert decision.reset_requests_s is not None and 59 < decision.reset_requests_s <= 60


@pytest.mark.asyncio
async def test_scopes_without_a_limit_kind_give_no_header_values(
    make_limiter: MakeLimiter,
) -> None:
    limiter = make_limiter()
    decision = await limiter.acquire(
        [LimitSpec("key:1", rpm=None, tpm=None, max_parallel=3)], request_id="x", estimated_tokens=5
    )
    assert decision.allowed
    assert decision.limit_requests is decision.remaining_requests is decision.limit_tokens is None


@pytest.mark.asyncio
async def test_team_denial_records_nothing_in_the_key_scope(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter()
    key = LimitSpec("key:1", rpm=10, tpm=1000, max_parallel=5)
    team = LimitSpec("team:7", rpm=10, tpm=50, max_parallel=None)
    denied = await limiter.acquire([key, team], request_id="big", estimated_tokens=60)
    assert (denied.allowed, denied.reason, denied.scope) == (False, LimitReason.TOKENS, "team:7")
    key_state = await limiter.peek([key])
    assert key_state.remaining_tokens == 1000  # no token reservation
    assert key_state.remaining_requests == 10  # not counted where it would have passed
    # no lease either: all 5 slots are still free
    for n in range(5):
        assert (await limiter.acquire([key], request_id=f"p{n}", estimated_tokens=0)).allowed


@pytest.mark.asyncio
async def test_denied_request_counts_against_the_denying_scope(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter()
    key = LimitSpec("key:1", rpm=10, tpm=None, max_parallel=None)
    team = LimitSpec("team:7", rpm=10, tpm=50, max_parallel=None)
    await limiter.acquire([key, team], request_id=rid(), estimated_tokens=60)
    assert (await limiter.peek([team])).remaining_requests == 9


@pytest.mark.asyncio
async def test_first_denying_scope_is_reported_and_longest_wait_wins(
    make_limiter: MakeLimiter,
) -> None:
    limiter = make_limiter(lease_ttl_s=30)
    key = LimitSpec("key:1", rpm=None, tpm=None, max_parallel=1)
    team = LimitSpec("team:7", rpm=1, tpm=None, max_parallel=None)
    assert (await limiter.acquire([key, team], request_id="a", estimated_tokens=0)).allowed
    denied = await limiter.acquire([key, team], request_id="b", estimated_tokens=0)
    assert (denied.reason, denied.scope) == (LimitReason.CONCURRENCY, "key:1")
    assert denied.retry_after_s > 59  # the team's request window, not the 1 s lease hint


# --- token settlement ---------------------------------------------------------------------


@pytest.mark.asyncio
async def test_settle_lowers_and_raises_the_reservation_idempotently(
    make_limiter: MakeLimiter,
) -> None:
    limiter = make_limiter()
    specs = [LimitSpec("key:1", rpm=None, tpm=1000, max_parallel=None)]
    await limiter.acquire(specs, request_id="r", estimated_tokens=500)
    await limiter.settle_tokens(specs, request_id="r", estimated_tokens=500, actual_tokens=120)
    assert (await limiter.peek(specs)).remaining_tokens == 880
    for _ in range(2):
        await limiter.settle_tokens(specs, request_id="r", estimated_tokens=500, actual_tokens=700)
    assert (await limiter.peek(specs)).remaining_tokens == 300


@pytest.mark.asyncio
async def test_settle_after_the_window_charges_only_the_overrun(
    make_limiter: MakeLimiter,
) -> None:
    limiter = make_limiter(window_s=0.5)
    specs = [LimitSpec("key:1", rpm=None, tpm=1000, max_parallel=None)]
    await limiter.acquire(specs, request_id="long-stream", estimated_tokens=100)
    await asyncio.sleep(0.55)
    for _ in range(2):
        await limiter.settle_tokens(
            specs, request_id="long-stream", estimated_tokens=100, actual_tokens=250
        )
    assert (await limiter.peek(specs)).remaining_tokens == 850


# --- peek -------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_peek_reports_without_consuming(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter()
    specs = [LimitSpec("key:1", rpm=2, tpm=100, max_parallel=1)]
    for _ in range(3):
        peeked = await limiter.peek(specs)
        assert (peeked.allowed, peeked.remaining_requests, peeked.remaining_tokens) == (
            True,
            2,
            100,
        )
    await limiter.acquire(specs, request_id="a", estimated_tokens=30)
    peeked = await limiter.peek(specs)
    assert (peeked.allowed, peeked.reason) == (False, LimitReason.CONCURRENCY)
    assert (peeked.remaining_requests, peeked.remaining_tokens, peeked.lease_id) == (1, 70, None)


# --- sliding window accuracy --------------------------------------------------------------


@pytest.mark.asyncio
async def test_retry_after_is_when_the_next_request_fits(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter(window_s=1)
    specs = [LimitSpec("key:1", rpm=2, tpm=None, max_parallel=None)]
    await admit_many(limiter, specs, 2)
    await asyncio.sleep(0.3)
    denied = await limiter.acquire(specs, request_id=rid(), estimated_tokens=0)
    assert 0.3 < denied.retry_after_s <= 0.7
    too_early = await limiter.acquire(specs, request_id=rid(), estimated_tokens=0)
    assert not too_early.allowed  # and, since blocked requests count, it moves retry later
    await asyncio.sleep(too_early.retry_after_s + 0.01)
    assert (await limiter.acquire(specs, request_id=rid(), estimated_tokens=0)).allowed


@pytest.mark.asyncio
async def test_burst_straddling_a_window_boundary_is_not_doubled(
    make_limiter: MakeLimiter,
) -> None:
    window = 2
    limiter = make_limiter(window_s=window)
    specs = [LimitSpec("key:1", rpm=5, tpm=None, max_parallel=None)]
    # A fixed window would reset at every multiple of `window` (epoch); burst around one.
    boundary = (time.time() // window + 1) * window
    await asyncio.sleep(max(boundary - 0.15 - time.time(), 0))
    before = await admit_many(limiter, specs, 5)
    await asyncio.sleep(max(boundary + 0.05 - time.time(), 0))
    after = await admit_many(limiter, specs, 5)
    assert (before, after) == (5, 0)


@pytest.mark.asyncio
async def test_client_honouring_retry_after_never_exceeds_limit_in_any_window(
    make_limiter: MakeLimiter,
) -> None:
    window, rpm = 1.0, 5
    limiter = make_limiter(window_s=window)
    specs = [LimitSpec("key:1", rpm=rpm, tpm=None, max_parallel=None)]
    admitted: list[tuple[float, float]] = []  # (sent, answered): the decision lies between
    deadline = time.monotonic() + 3.5
    while time.monotonic() < deadline:
        sent = time.monotonic()
        decision = await limiter.acquire(specs, request_id=rid(), estimated_tokens=0)
        if decision.allowed:
            admitted.append((sent, time.monotonic()))
        else:
            await asyncio.sleep(decision.retry_after_s)
    # Any window holds at most rpm admissions: admissions i and i + rpm are more than one
    # window apart (bracketed by client times, so scheduling hiccups cannot cause failures).
    gaps = [admitted[i + rpm][1] - admitted[i][0] for i in range(len(admitted) - rpm)]
    assert min(gaps) > window
    # ... and a well-behaved client still gets the full rate.
    assert len(admitted) >= 3 * rpm


# --- Redis specifics ----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_every_key_gets_a_ttl_so_idle_scopes_vanish(
    redis_client: aioredis.Redis, prefix: str
) -> None:
    limiter = RedisRateLimiter(redis_client, prefix=prefix, window_s=5, lease_ttl_s=20)
    specs = [LimitSpec("key:1", rpm=5, tpm=100, max_parallel=2)]
    await limiter.acquire(specs, request_id="a", estimated_tokens=10)
    ttls = {
        key.decode().rsplit(":", 1)[1]: await redis_client.pttl(key)
        async for key in redis_client.scan_iter(match=f"{prefix}:*")
    }
    assert set(ttls) == {"req", "tok", "tokv", "lease"}
    assert all(0 < ttls[kind] <= 6000 for kind in ("req", "tok", "tokv"))
    assert 19_000 < ttls["lease"] <= 21_000


@pytest.mark.asyncio
async def test_flood_of_denied_requests_keeps_the_log_bounded(
    redis_client: aioredis.Redis, prefix: str
) -> None:
    limiter = RedisRateLimiter(redis_client, prefix=prefix)
    specs = [LimitSpec("key:1", rpm=3, tpm=None, max_parallel=None)]
    assert await admit_many(limiter, specs, 50) == 3
    assert await redis_client.zcard(f"{prefix}:key:1:req") == 3


class CountingRedis(aioredis.Redis):
    """Client that counts the commands it sends."""

    commands: list[str]

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        self.commands.append(str(args[0]))
        return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]


@pytest.mark.asyncio
async def test_acquire_is_a_single_evalsha_round_trip(prefix: str) -> None:
    client = CountingRedis.from_url(REDIS_URL)
    client.commands = []
    try:
        limiter = RedisRateLimiter(client, prefix=prefix)
        specs = [LimitSpec(f"s:{n}", rpm=10, tpm=100, max_parallel=2) for n in range(3)]
        await limiter.acquire(specs, request_id="warm", estimated_tokens=1)  # may SCRIPT LOAD
        client.commands.clear()
        await limiter.acquire(specs, request_id="measured", estimated_tokens=1)
        assert client.commands == ["EVALSHA"]
    finally:
        await client.aclose()


@pytest.mark.asyncio
async def test_script_is_loaded_automatically_when_redis_does_not_know_it(
    redis_client: aioredis.Redis, prefix: str
) -> None:
    limiter = RedisRateLimiter(redis_client, prefix=prefix)
    specs = [LimitSpec("key:1", rpm=10, tpm=None, max_parallel=None)]
    # An unknown SHA produces NOSCRIPT, exactly as after a Redis restart; SCRIPT FLUSH would
    # disturb other users of the shared test server.
    limiter._acquire_lua.sha = "0" * 40
    assert (await limiter.acquire(specs, request_id="a", estimated_tokens=0)).allowed
    assert limiter._acquire_lua.sha != "0" * 40


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"request_id": "", "estimated_tokens": 1}, "request_id"),
        ({"request_id": "x#late", "estimated_tokens": 1}, "request_id"),
        ({"request_id": "x", "estimated_tokens": -1}, "estimated_tokens"),
    ],
)
@pytest.mark.asyncio
async def test_invalid_arguments_are_rejected(
    make_limiter: MakeLimiter, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        await make_limiter().acquire([LimitSpec("key:1", 1, 1, 1)], **kwargs)


@pytest.mark.asyncio
async def test_backends_agree_on_a_mixed_sequence(
    redis_client: aioredis.Redis, prefix: str
) -> None:
    backends: list[Limiter] = [
        RedisRateLimiter(redis_client, prefix=prefix),
        MemoryRateLimiter(),
    ]
    key = LimitSpec("key:1", rpm=6, tpm=500, max_parallel=3)
    team = LimitSpec("team:1", rpm=8, tpm=400, max_parallel=None)
    traces: list[list[tuple[object, ...]]] = []
    for limiter in backends:
        trace: list[tuple[object, ...]] = []
        for n, tokens in enumerate([100, 50, 300, 20, 0, 80, 10, 10, 10, 10]):
            d = await limiter.acquire([key, team], request_id=f"r{n}", estimated_tokens=tokens)
            trace.append((d.allowed, d.reason, d.scope, d.remaining_requests, d.remaining_tokens))
            if n % 2 == 0:
                await limiter.release([key, team], request_id=f"r{n}")
            if n == 3:
                await limiter.settle_tokens(
                    [key, team], request_id="r0", estimated_tokens=100, actual_tokens=10
                )
        traces.append(trace)
    assert traces[0] == traces[1]


async def test_finish_releases_the_lease_and_settles_tokens_in_one_call(
    make_limiter: MakeLimiter,
) -> None:
    limiter = make_limiter()
    specs = [LimitSpec("team:finish", rpm=100, tpm=1000, max_parallel=1)]
    first = await limiter.acquire(specs, request_id="f1", estimated_tokens=600)
    assert first.allowed
    blocked = await limiter.acquire(specs, request_id="f2", estimated_tokens=10)
    assert not blocked.allowed and blocked.reason is LimitReason.CONCURRENCY
    await limiter.finish(specs, request_id="f1", estimated_tokens=600, actual_tokens=100)
    after = await limiter.acquire(specs, request_id="f3", estimated_tokens=800)
    assert after.allowed  # the lease is free and 500 of the 600 reserved tokens came back


async def test_finish_settles_in_the_pipelined_path_once_the_script_is_loaded(
    make_limiter: MakeLimiter,
) -> None:
    limiter = make_limiter()
    specs = [LimitSpec("team:finish2", tpm=1000, max_parallel=5)]
    for i in range(3):  # the first call may load the script; later ones use the pipeline
        assert (await limiter.acquire(specs, request_id=f"g{i}", estimated_tokens=300)).allowed
        await limiter.finish(specs, request_id=f"g{i}", estimated_tokens=300, actual_tokens=10)
    decision = await limiter.peek(specs)
    assert decision.remaining_tokens == 1000 - 30
