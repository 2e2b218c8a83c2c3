"""Property tests: limiter invariants under arbitrary timing, and header formatting."""

from __future__ import annotations

import asyncio
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from billing.ratelimits import LimitSpec, MemoryRateLimiter, format_reset

WINDOW, LEASE_TTL = 1.0, 2.0
RPM, TPM, MAX_PARALLEL = 5, 100, 2
SPEC = LimitSpec("key:1", rpm=RPM, tpm=TPM, max_parallel=MAX_PARALLEL)

# (seconds to advance, estimated tokens, release the oldest held lease first?)
steps = st.lists(
    st.tuples(
        st.floats(min_value=0, max_value=0.7, allow_nan=False),
        st.integers(min_value=0, max_value=60),
        st.booleans(),
    ),
    max_size=60,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def simulate(
    plan: list[tuple[float, int, bool]],
) -> tuple[list[tuple[float, int]], list[float], list[tuple[float, bool, int]]]:
    """Run the plan; return admissions, all attempts, and (time, allowed, leases held)."""
    clock = FakeClock()
    limiter = MemoryRateLimiter(window_s=WINDOW, lease_ttl_s=LEASE_TTL, clock=clock)
    admitted: list[tuple[float, int]] = []
    attempts: list[float] = []
    held: dict[str, float] = {}  # request_id -> lease expiry
    outcomes: list[tuple[float, bool, int]] = []
    for n, (advance, tokens, release) in enumerate(plan):
        clock.now += advance
        held = {r: exp for r, exp in held.items() if exp > clock.now}
        if release and held:
            oldest = next(iter(held))
            await limiter.release([SPEC], request_id=oldest)
            del held[oldest]
        decision = await limiter.acquire([SPEC], request_id=f"r{n}", estimated_tokens=tokens)
        outcomes.append((clock.now, decision.allowed, len(held)))
        attempts.append(clock.now)
        if decision.allowed:
            admitted.append((clock.now, tokens))
            held[f"r{n}"] = clock.now + LEASE_TTL
    return admitted, attempts, outcomes


@settings(max_examples=200, deadline=None)
@given(steps)
def test_no_window_ever_holds_more_than_the_limits(plan: list[tuple[float, int, bool]]) -> None:
    admitted, _, outcomes = asyncio.run(simulate(plan))
    for when, _tokens in admitted:
        in_window = [(t, k) for t, k in admitted if when - WINDOW < t <= when]
        assert len(in_window) <= RPM
        assert sum(k for _, k in in_window) <= TPM
    assert all(held <= MAX_PARALLEL for _, _, held in outcomes)


@settings(max_examples=200, deadline=None)
@given(steps)
def test_quiet_scope_always_admits(plan: list[tuple[float, int, bool]]) -> None:
    _, attempts, outcomes = asyncio.run(simulate(plan))
    for i, (when, allowed, held) in enumerate(outcomes):
        quiet = not any(when - WINDOW < t for t in attempts[:i])
        if quiet and held == 0:
            assert allowed


def parse_go_duration(text: str) -> float:
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", text)
    assert "".join(f"{n}{u}" for n, u in parts) == text
    return sum(float(n) * units[u] for n, u in parts)


@given(st.floats(min_value=0, max_value=100_000, allow_nan=False))
def test_format_reset_round_trips_to_within_a_millisecond_never_early(seconds: float) -> None:
    parsed = parse_go_duration(format_reset(seconds))
    assert seconds - 1e-9 <= parsed < seconds + 0.001 + 1e-9
