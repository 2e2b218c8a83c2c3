"""What one /v1 request did: the record usage, cost and audit are written from."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from billing.pricing import PriceData
from billing.ratelimits import LimitSpec, RateDecision
from policies.types import Decision
from proxy.formats import Usage
from proxy.resilience import Attempt
from proxy.routing import DeploymentInfo
from tenants.auth import KeyContext

if TYPE_CHECKING:
    from proxy.state import GatewayState


@dataclass
class Outcome:
    request_id: str
    route: str
    client_ip: str
    started: float
    state: GatewayState
    received_at: datetime = field(default_factory=timezone.now)
    ctx: KeyContext | None = None
    model: str = ""
    end_user: str = ""
    stream: bool = False
    deployment: DeploymentInfo | None = None
    attempts: list[Attempt] = field(default_factory=list)
    usage: Usage | None = None
    usage_estimated: bool = False
    estimated_prompt_tokens: int = 0
    max_output_tokens: int | None = None
    status: int = 0
    error_code: str | None = None
    upstream_s: float = 0.0
    limit_specs: list[LimitSpec] = field(default_factory=list)
    rate: RateDecision | None = None
    estimated_tokens: int = 0
    reserved: Decimal | None = None
    reserved_periods: tuple[int, ...] = ()
    price: PriceData | None = None
    decision: Decision | None = None
    output_decision: Decision | None = None
    redactions: dict[str, str] = field(default_factory=dict)
    prompt_hmac: str = ""
    # Only kept when the team captures prompts: what was forwarded, and the answer text.
    forwarded_prompt: Any = None
    response_text: str | None = None
    finished: bool = False

    def fail(self, status: int, code: str | None) -> None:
        self.status = status
        self.error_code = code

    @property
    def latency_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000

    @property
    def overhead_ms(self) -> float:
        return max(0.0, self.latency_ms - self.upstream_s * 1000)

    @property
    def reached_provider(self) -> bool:
        return bool(self.attempts)

    async def finish(self) -> None:
        """Schedule accounting once per request, after the last byte went out (or the client left).

        It never suspends, so a cancellation (client disconnect) cannot cut it short; the work
        runs as a task the process tracks and awaits at shutdown.
        """
        if self.finished:
            return
        self.finished = True
        from proxy.finalize import finalize

        self.state.spawn(finalize(self))
