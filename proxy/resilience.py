"""Retries, fallbacks and circuit breaking across a route's deployments.

Retries happen only before anything was sent to the client (the pipeline opens streams here and
relays them afterwards). Back-off is jittered exponential, honouring the upstream's Retry-After;
attempts and total waiting are capped. A deployment whose circuit is open is skipped until its
cool-down ends, then one request probes it (half-open).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from django.conf import settings

from proxy.errors import GatewayError
from proxy.providers.base import ProviderError
from proxy.routing import DeploymentInfo

T = TypeVar("T")
_BASE_BACKOFF_S = 0.25
_MAX_BACKOFF_S = 4.0


@dataclass(frozen=True, slots=True)
class Attempt:
    deployment_id: int
    provider: str
    upstream_model: str
    outcome: str  # "ok" or the ProviderError kind
    status: int | None
    duration_ms: float


@dataclass
class _Circuit:
    failures: int = 0
    opened_at: float | None = None
    probing: bool = False


@dataclass
class CircuitBreaker:
    """Per-deployment breaker, per process (each process learns about upstream health itself)."""

    threshold: int = 5
    cooldown_s: float = 30.0
    _circuits: dict[int, _Circuit] = field(default_factory=dict)

    def allow(self, deployment_id: int) -> bool:
        circuit = self._circuits.get(deployment_id)
        if circuit is None or circuit.opened_at is None:
            return True
        if time.monotonic() - circuit.opened_at < self.cooldown_s or circuit.probing:
            return False
        circuit.probing = True  # half-open: this request is the probe
        return True

    def release(self, deployment_id: int) -> None:
        """End a half-open probe that proved nothing (cancelled, or refused for reasons of its
        own such as a 400): the circuit stays as it was and the next request probes again."""
        circuit = self._circuits.get(deployment_id)
        if circuit is not None:
            circuit.probing = False

    def record_success(self, deployment_id: int) -> None:
        self._circuits.pop(deployment_id, None)

    def record_failure(self, deployment_id: int) -> None:
        circuit = self._circuits.setdefault(deployment_id, _Circuit())
        circuit.failures += 1
        if circuit.probing or circuit.failures >= self.threshold:
            circuit.opened_at = time.monotonic()
            circuit.probing = False

    def is_open(self, deployment_id: int) -> bool:
        circuit = self._circuits.get(deployment_id)
        return circuit is not None and circuit.opened_at is not None


def order_deployments(
    deployments: Sequence[DeploymentInfo], rng: random.Random | None = None
) -> list[DeploymentInfo]:
    """Lower priority first; within a priority, a weighted random order."""
    rng = rng or random.Random()
    ordered: list[DeploymentInfo] = []
    for priority in sorted({d.priority for d in deployments}):
        group = [d for d in deployments if d.priority == priority]
        while group:
            pick = rng.choices(group, weights=[max(d.weight, 1) for d in group])[0]
            ordered.append(pick)
            group.remove(pick)
    return ordered


def _backoff(tries: int) -> float:
    return min(_MAX_BACKOFF_S, _BASE_BACKOFF_S * 2.0**tries) * random.uniform(0.5, 1.0)


async def call_with_fallbacks(
    deployments: Sequence[DeploymentInfo],
    operation: Callable[[DeploymentInfo], Awaitable[T]],
    *,
    breaker: CircuitBreaker,
    attempts: list[Attempt],
) -> tuple[T, DeploymentInfo]:
    """Run `operation` on deployments in order until one succeeds; raise GatewayError if none."""
    max_attempts = settings.GATEWAY_MAX_ATTEMPTS
    budget = settings.GATEWAY_MAX_RETRY_WAIT_S
    last: ProviderError | None = None
    ordered = order_deployments(deployments)
    for position, dep in enumerate(ordered):
        # Checked before allow(): a half-open circuit must not be claimed for a probe that
        # will never run.
        if len(attempts) >= max_attempts:
            break
        if not breaker.allow(dep.id):
            continue
        more_left = position < len(ordered) - 1
        tries = 0
        while len(attempts) < max_attempts:
            started = time.perf_counter()
            try:
                result = await operation(dep)
            except ProviderError as exc:
                _record(attempts, dep, exc.kind, exc.status, started)
                if exc.retryable:
                    breaker.record_failure(dep.id)
                else:
                    breaker.release(dep.id)
                last = exc
                if not exc.fallback:
                    raise final_error(exc, attempts) from None
                delay = exc.retry_after if exc.retry_after is not None else _backoff(tries)
                tries += 1
                per_deployment = 2 if more_left else max_attempts
                if not exc.retryable or tries >= per_deployment or delay > budget:
                    break
                if breaker.is_open(dep.id):
                    break
                await asyncio.sleep(delay)
                budget -= delay
                continue
            except BaseException:
                # Cancelled (the client left) or failed before reaching the upstream (e.g. a
                # request that cannot be translated): never leave a probe claimed forever.
                breaker.release(dep.id)
                raise
            breaker.record_success(dep.id)
            _record(attempts, dep, "ok", 200, started)
            return result, dep
    raise final_error(last, attempts)


def _record(
    attempts: list[Attempt], dep: DeploymentInfo, outcome: str, status: int | None, started: float
) -> None:
    attempts.append(
        Attempt(
            dep.id,
            dep.provider_name,
            dep.upstream_model,
            outcome,
            status,
            round((time.perf_counter() - started) * 1000, 2),
        )
    )


def final_error(exc: ProviderError | None, attempts: list[Attempt]) -> GatewayError:
    """The client-facing error after the last attempt; never the upstream's body."""
    headers = {"x-should-retry": "false"} if len(attempts) > 1 else {}
    if exc is None:
        return GatewayError(
            503,
            "No healthy upstream deployment is available for this model; try again later.",
            code="no_healthy_upstream",
            headers={**headers, "retry-after": "5"},
        )
    if exc.kind == "unsupported":
        return GatewayError(400, exc.message, code="unsupported_operation", param="model")
    if exc.kind == "timeout":
        return GatewayError(
            504, "The upstream provider timed out.", code="upstream_timeout", headers=headers
        )
    if exc.kind == "status" and exc.status is not None:
        return _status_error(exc, headers)
    if exc.kind == "refused":
        return GatewayError(
            502,
            "The upstream is not allowed or not configured.",
            code="upstream_refused",
            headers=headers,
        )
    return GatewayError(
        502,
        "The upstream provider could not be reached.",
        code="upstream_unavailable",
        headers=headers,
    )


def _status_error(exc: ProviderError, headers: dict[str, str]) -> GatewayError:
    status = exc.status or 502
    if exc.retry_after is not None:
        headers = {**headers, "retry-after": str(max(1, round(exc.retry_after)))}
    if status == 429:
        return GatewayError(
            429,
            "The upstream provider is rate limiting requests.",
            code="upstream_rate_limited",
            headers=headers,
        )
    if status in (503, 529):
        return GatewayError(
            503, "The upstream provider is overloaded.", code="upstream_overloaded", headers=headers
        )
    if status in (400, 413, 422):
        return GatewayError(
            400,
            f"The upstream provider rejected the request (HTTP {status}).",
            code="upstream_bad_request",
        )
    return GatewayError(
        502,
        f"The upstream provider failed (HTTP {status}).",
        code="upstream_error",
        headers=headers,
    )
