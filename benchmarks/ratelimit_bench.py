"""Latency of RedisRateLimiter.acquire with 3 scopes against a local Redis.

Run: .venv/bin/python benchmarks/ratelimit_bench.py [--n 5000] [--url redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid

import redis.asyncio as aioredis

from billing.ratelimits import LimitSpec, RedisRateLimiter


def summary(name: str, samples: list[float]) -> str:
    """Median / p90 / p99 in microseconds."""
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return ordered[min(int(q * len(ordered)), len(ordered) - 1)] * 1e6

    return (
        f"{name:<34} n={len(samples):>5}  median={statistics.median(samples) * 1e6:7.1f} us  "
        f"p90={pick(0.9):7.1f} us  p99={pick(0.99):7.1f} us"
    )


async def measure(limiter: RedisRateLimiter, specs: list[LimitSpec], n: int) -> list[float]:
    """Sequential acquire+release pairs; only acquire is timed."""
    samples = []
    for _ in range(n):
        rid = uuid.uuid4().hex
        started = time.perf_counter()
        await limiter.acquire(specs, request_id=rid, estimated_tokens=500)
        samples.append(time.perf_counter() - started)
        await limiter.release(specs, request_id=rid)
    return samples


async def main(url: str, n: int) -> None:
    """Admitted path (logs filling up to n entries per scope) and a denied (flooded) path."""
    client = aioredis.Redis.from_url(url)
    prefix = f"bench:rl:{uuid.uuid4().hex}"
    limiter = RedisRateLimiter(client, prefix=prefix)
    big = 10**9
    scopes = ["key:123", "team:7", "org:2"]
    admitted = [LimitSpec(s, rpm=big, tpm=big, max_parallel=1000) for s in scopes]
    denied = [LimitSpec(f"blocked:{s}", rpm=50, tpm=big, max_parallel=1000) for s in scopes]
    try:
        await measure(limiter, admitted, 200)  # warm up: connection, script load
        print(summary("acquire, 3 scopes, admitted", await measure(limiter, admitted, n)))
        await measure(limiter, denied, 50)
        print(summary("acquire, 3 scopes, denied (RPM)", await measure(limiter, denied, n)))
        ping = []
        for _ in range(n):
            started = time.perf_counter()
            await client.ping()
            ping.append(time.perf_counter() - started)
        print(summary("PING (round-trip floor)", ping))
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--n", type=int, default=5000)
    options = parser.parse_args()
    asyncio.run(main(options.url, options.n))
