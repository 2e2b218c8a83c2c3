"""What one /v1 request did: the record usage, cost and audit are written from."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from proxy.formats import Usage
from proxy.resilience import Attempt
from proxy.routing import DeploymentInfo
from tenants.auth import KeyContext

log = logging.getLogger("gateway.requests")


@dataclass
class Outcome:
    request_id: str
    route: str
    client_ip: str
    started: float
    ctx: KeyContext | None = None
    model: str = ""
    stream: bool = False
    deployment: DeploymentInfo | None = None
    attempts: list[Attempt] = field(default_factory=list)
    usage: Usage | None = None
    usage_estimated: bool = False
    estimated_prompt_tokens: int = 0
    status: int = 0
    error_code: str | None = None
    upstream_s: float = 0.0
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

    async def finish(self) -> None:
        """Called exactly once per request, when the last byte went out (or the client left)."""
        if self.finished:
            return
        self.finished = True
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "request done",
                extra={
                    "request_id": self.request_id,
                    "status": self.status,
                    "model": self.model,
                    "latency_ms": round(self.latency_ms, 2),
                },
            )
