"""Several OS processes, each with its own Redis client, share one limit exactly."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
import uuid
from collections.abc import Iterator
from multiprocessing.pool import Pool

import pytest
import redis
import redis.asyncio as aioredis

from billing.ratelimits import LimitSpec, RedisRateLimiter

REDIS_URL = os.environ.get("RATELIMIT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PROCESSES = 4


def _hammer(prefix: str, spec: LimitSpec, attempts: int, tokens: int, start_at: float) -> int:
    """Worker: fire `attempts` concurrent acquires at `start_at`; return how many got in."""

    async def run() -> int:
        client = aioredis.Redis.from_url(REDIS_URL)
        limiter = RedisRateLimiter(client, prefix=prefix)
        await client.ping()  # connect before the start line so the processes really overlap
        await asyncio.sleep(max(start_at - time.time(), 0))
        decisions = await asyncio.gather(
            *(
                limiter.acquire([spec], request_id=uuid.uuid4().hex, estimated_tokens=tokens)
                for _ in range(attempts)
            )
        )
        await client.aclose()
        return sum(d.allowed for d in decisions)

    return asyncio.run(run())


def _in_flight(prefix: str, spec: LimitSpec, seconds: float, start_at: float) -> tuple[int, int]:
    """Worker: loop acquire/work/release; return (admitted, highest in-flight seen)."""

    async def one_client(limiter: RedisRateLimiter, client: aioredis.Redis) -> tuple[int, int]:
        admitted = highest = 0
        counter = f"{prefix}:observed-in-flight"
        while time.time() < start_at + seconds:
            rid = uuid.uuid4().hex
            if not (await limiter.acquire([spec], request_id=rid, estimated_tokens=0)).allowed:
                await asyncio.sleep(0.001)
                continue
            admitted += 1
            highest = max(highest, await client.incr(counter))
            await asyncio.sleep(0.003)
            await client.decr(counter)  # strictly before the lease is given back
            await limiter.release([spec], request_id=rid)
        return admitted, highest

    async def run() -> tuple[int, int]:
        client = aioredis.Redis.from_url(REDIS_URL, max_connections=50)
        limiter = RedisRateLimiter(client, prefix=prefix)
        await client.ping()
        await asyncio.sleep(max(start_at - time.time(), 0))
        results = await asyncio.gather(*(one_client(limiter, client) for _ in range(8)))
        await client.aclose()
        return sum(r[0] for r in results), max(r[1] for r in results)

    return asyncio.run(run())


@pytest.fixture(scope="module")
def pool() -> Iterator[Pool]:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        reason = f"Redis not reachable at {REDIS_URL} ({exc!r}); skipping multi-process tests"
        print(reason)
        pytest.skip(reason)
    with multiprocessing.get_context("spawn").Pool(PROCESSES) as workers:
        workers.map(abs, range(PROCESSES))  # pay the interpreter start-up before any timing
        yield workers


@pytest.fixture
def prefix() -> Iterator[str]:
    value = f"test:rl:{uuid.uuid4().hex}"
    yield value
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{value}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def test_processes_together_admit_exactly_the_request_limit(pool: Pool, prefix: str) -> None:
    spec = LimitSpec("team:7", rpm=37, tpm=None, max_parallel=None)
    start_at = time.time() + 1.0
    admitted = pool.starmap(_hammer, [(prefix, spec, 60, 0, start_at)] * PROCESSES)
    assert sum(admitted) == 37


def test_processes_together_never_reserve_more_than_the_token_limit(
    pool: Pool, prefix: str
) -> None:
    spec = LimitSpec("team:7", rpm=None, tpm=1000, max_parallel=None)
    start_at = time.time() + 1.0
    admitted = pool.starmap(_hammer, [(prefix, spec, 60, 7, start_at)] * PROCESSES)
    assert sum(admitted) == 1000 // 7


def test_processes_together_never_exceed_max_parallel(pool: Pool, prefix: str) -> None:
    spec = LimitSpec("key:1", rpm=None, tpm=None, max_parallel=5)
    start_at = time.time() + 1.0
    results = pool.starmap(_in_flight, [(prefix, spec, 1.5, start_at)] * PROCESSES)
    highest = max(r[1] for r in results)
    print(f"admitted per process: {[r[0] for r in results]}, highest in flight: {highest}")
    assert 1 < highest <= 5
    assert sum(r[0] for r in results) > 50
