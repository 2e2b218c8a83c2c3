"""Deployment order, the circuit breaker, retries/fallbacks and the client-facing final errors."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from typing import Any

import pytest

from proxy import resilience
from proxy.providers import ProviderError
from proxy.resilience import Attempt, CircuitBreaker, call_with_fallbacks, final_error
from proxy.routing import DeploymentInfo


def dep(id: int, priority: int = 0, weight: int = 1) -> DeploymentInfo:
    return DeploymentInfo(
        id=id, provider_id=id, provider_name=f"p{id}", kind="openai", base_url="", secret="",
        options={}, upstream_model="m", priority=priority, weight=weight, connect_timeout_s=1,
        first_byte_timeout_s=1, stream_idle_timeout_s=1, total_timeout_s=1,
    )  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(resilience.time, "monotonic", clock)
    return clock


def failing(status: int = 500, **kwargs: Any) -> ProviderError:
    return ProviderError(
        f"HTTP {status}",
        kind="status",
        status=status,
        retryable=status >= 500 or status == 429,
        fallback=status in (401, 403, 404),
        retry_after=kwargs.pop("retry_after", 0.0),
        **kwargs,
    )


# ---------------------------------------------------------------------------- order


def test_lower_priority_always_comes_first():
    deployments = [dep(1, priority=2), dep(2, priority=0, weight=1), dep(3, priority=1)]
    for seed in range(20):
        ordered = resilience.order_deployments(deployments, random.Random(seed))
        assert [d.id for d in ordered] == [2, 3, 1]


def test_weights_split_traffic_within_a_priority():
    deployments = [dep(1, weight=9), dep(2, weight=1), dep(3, priority=1, weight=100)]
    rng = random.Random(7)
    firsts = Counter(resilience.order_deployments(deployments, rng)[0].id for _ in range(2000))
    assert set(firsts) == {1, 2}
    assert 0.85 < firsts[1] / 2000 < 0.95
    for _ in range(50):
        ordered = resilience.order_deployments(deployments, rng)
        assert sorted(d.id for d in ordered[:2]) == [1, 2] and ordered[2].id == 3


def test_zero_weight_still_gets_a_turn():
    deployments = [dep(1, weight=0), dep(2, weight=0)]
    firsts = Counter(
        resilience.order_deployments(deployments, random.Random(s))[0].id for s in range(200)
    )
    assert firsts[1] > 50 and firsts[2] > 50


# ---------------------------------------------------------------------------- breaker


def test_breaker_opens_after_threshold_consecutive_failures(clock):
    breaker = CircuitBreaker(threshold=3, cooldown_s=10)
    for _ in range(2):
        breaker.record_failure(1)
        assert breaker.allow(1)
    breaker.record_failure(1)
    assert breaker.is_open(1)
    assert not breaker.allow(1)
    assert breaker.allow(2)  # per deployment


def test_success_resets_the_failure_count(clock):
    breaker = CircuitBreaker(threshold=2, cooldown_s=10)
    breaker.record_failure(1)
    breaker.record_success(1)
    breaker.record_failure(1)
    assert not breaker.is_open(1)


def test_half_open_lets_exactly_one_probe_through_after_the_cooldown(clock):
    breaker = CircuitBreaker(threshold=1, cooldown_s=10)
    breaker.record_failure(1)
    clock.now += 9.9
    assert not breaker.allow(1)
    clock.now += 0.2
    assert breaker.allow(1)  # the probe
    assert not breaker.allow(1)  # everyone else waits for it
    breaker.record_success(1)
    assert not breaker.is_open(1)
    assert breaker.allow(1) and breaker.allow(1)


def test_failed_probe_reopens_for_a_full_cooldown(clock):
    breaker = CircuitBreaker(threshold=5, cooldown_s=10)
    for _ in range(5):
        breaker.record_failure(1)
    clock.now += 11
    assert breaker.allow(1)
    breaker.record_failure(1)  # one failure is enough while probing
    assert not breaker.allow(1)
    clock.now += 9
    assert not breaker.allow(1)
    clock.now += 2
    assert breaker.allow(1)


def test_released_probe_lets_the_next_request_probe(clock):
    breaker = CircuitBreaker(threshold=1, cooldown_s=10)
    breaker.record_failure(1)
    clock.now += 11
    assert breaker.allow(1)
    breaker.release(1)
    assert breaker.allow(1)


# ---------------------------------------------------------------------------- call_with_fallbacks


class Script:
    """An operation answering per deployment from a list of results (exceptions raised)."""

    def __init__(self, **plans: list[Any]) -> None:
        self.plans = {int(k[1:]): list(v) for k, v in plans.items()}
        self.calls: list[int] = []

    async def __call__(self, d: DeploymentInfo) -> Any:
        self.calls.append(d.id)
        outcome = self.plans[d.id].pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


async def run(deployments: list[DeploymentInfo], script: Script, breaker: Any = None) -> Any:
    attempts: list[Attempt] = []
    breaker = breaker or CircuitBreaker(threshold=100, cooldown_s=30)
    result, used = await call_with_fallbacks(
        deployments, script, breaker=breaker, attempts=attempts
    )
    return result, used.id, attempts


async def test_retries_the_same_deployment_then_succeeds():
    script = Script(d1=[failing(503), failing(429), "ok"])
    result, used, attempts = await run([dep(1)], script)
    assert (result, used) == ("ok", 1)
    assert [a.outcome for a in attempts] == ["status", "status", "ok"]


async def test_falls_back_after_two_tries_when_another_deployment_exists():
    script = Script(d1=[failing(500)] * 5, d2=["ok"])
    result, used, _ = await run([dep(1), dep(2, priority=1)], script)
    assert (result, used, script.calls) == ("ok", 2, [1, 1, 2])


async def test_misconfigured_deployment_falls_back_without_retry():
    script = Script(d1=[failing(401)], d2=["ok"])
    _, used, _ = await run([dep(1), dep(2, priority=1)], script)
    assert (used, script.calls) == (2, [1, 2])


async def test_client_error_is_final_without_fallback():
    script = Script(d1=[failing(400)], d2=["ok"])
    with pytest.raises(resilience.GatewayError) as caught:
        await run([dep(1), dep(2, priority=1)], script)
    assert caught.value.status == 400
    assert script.calls == [1]


async def test_attempts_are_capped(settings):
    settings.GATEWAY_MAX_ATTEMPTS = 3
    script = Script(d1=[failing(500)] * 10)
    with pytest.raises(resilience.GatewayError) as caught:
        await run([dep(1)], script)
    assert caught.value.status == 502
    assert caught.value.headers["x-should-retry"] == "false"
    assert len(script.calls) == 3


async def test_retry_after_beyond_the_wait_budget_is_not_waited_for(settings):
    settings.GATEWAY_MAX_RETRY_WAIT_S = 1.0
    script = Script(d1=[failing(429, retry_after=30.0)])
    with pytest.raises(resilience.GatewayError) as caught:
        await run([dep(1)], script)
    assert caught.value.status == 429
    assert caught.value.headers["retry-after"] == "30"


async def test_open_circuits_are_skipped_and_all_open_is_a_503(clock):
    breaker = CircuitBreaker(threshold=1, cooldown_s=30)
    breaker.record_failure(1)
    script = Script(d1=["never"], d2=["ok"])
    _, used, _ = await run([dep(1), dep(2, priority=1)], script, breaker)
    assert (used, script.calls) == (2, [2])
    breaker.record_failure(2)
    with pytest.raises(resilience.GatewayError) as caught:
        await run([dep(1), dep(2, priority=1)], Script(), breaker)
    assert (caught.value.status, caught.value.code) == (503, "no_healthy_upstream")


async def test_probe_answered_with_a_client_error_releases_the_circuit(clock):
    breaker = CircuitBreaker(threshold=1, cooldown_s=10)
    breaker.record_failure(1)
    clock.now += 11
    with pytest.raises(resilience.GatewayError):
        await run([dep(1)], Script(d1=[failing(400)]), breaker)
    assert breaker.allow(1)


async def test_cancelled_probe_releases_the_circuit(clock):
    breaker = CircuitBreaker(threshold=1, cooldown_s=10)
    breaker.record_failure(1)
    clock.now += 11
    with pytest.raises(asyncio.CancelledError):
        await run([dep(1)], Script(d1=[asyncio.CancelledError()]), breaker)
    assert breaker.allow(1)


async def test_exhausted_attempts_do_not_claim_a_probe_they_never_run(clock, settings):
    settings.GATEWAY_MAX_ATTEMPTS = 2
    breaker = CircuitBreaker(threshold=1, cooldown_s=10)
    breaker.record_failure(3)
    clock.now += 11  # deployment 3 is half-open
    script = Script(d1=[failing(500)], d2=[failing(500)], d3=["ok"])
    with pytest.raises(resilience.GatewayError):
        await run([dep(1), dep(2, priority=1), dep(3, priority=2)], script, breaker)
    assert 3 not in script.calls
    assert breaker.allow(3), "deployment 3 stays half-open for the next request"


# ---------------------------------------------------------------------------- final errors


def _attempts(n: int) -> list[Attempt]:
    return [Attempt(1, "p", "m", "status", 500, 1.0)] * n


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (None, 503, "no_healthy_upstream"),
        (ProviderError("x", kind="unsupported"), 400, "unsupported_operation"),
        (ProviderError("x", kind="timeout"), 504, "upstream_timeout"),
        (ProviderError("x", kind="refused"), 502, "upstream_refused"),
        (ProviderError("x", kind="connection"), 502, "upstream_unavailable"),
        (ProviderError("x", kind="protocol"), 502, "upstream_unavailable"),
        (failing(429), 429, "upstream_rate_limited"),
        (failing(503), 503, "upstream_overloaded"),
        (failing(529), 503, "upstream_overloaded"),
        (failing(400), 400, "upstream_bad_request"),
        (failing(413), 400, "upstream_bad_request"),
        (failing(422), 400, "upstream_bad_request"),
        (failing(500), 502, "upstream_error"),
        (failing(401), 502, "upstream_error"),
    ],
)
def test_final_error_mapping(error, status, code):
    result = final_error(error, _attempts(1))
    assert (result.status, result.code) == (status, code)
    assert "x-should-retry" not in result.headers


def test_final_error_after_retries_tells_sdks_not_to_retry_and_passes_retry_after():
    result = final_error(failing(429, retry_after=2.4), _attempts(3))
    assert result.headers == {"x-should-retry": "false", "retry-after": "2"}
    assert final_error(None, _attempts(0)).headers["retry-after"] == "5"
