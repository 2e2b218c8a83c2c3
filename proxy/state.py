"""Process-wide data-plane state: caches and clients built once per process, never per request."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings

from proxy import http
from proxy.resilience import CircuitBreaker
from proxy.routing import RouteTable
from tenants.auth import KeyResolver


@dataclass
class GatewayState:
    resolver: KeyResolver = field(default_factory=KeyResolver)
    routes: RouteTable = field(default_factory=RouteTable)
    breaker: CircuitBreaker = field(
        default_factory=lambda: CircuitBreaker(
            settings.GATEWAY_BREAKER_FAILURES, settings.GATEWAY_BREAKER_COOLDOWN_S
        )
    )

    def clear_caches(self) -> None:
        """Drop every cached key and route (tests)."""
        self.resolver.clear()
        self.routes.clear()
        self.breaker = CircuitBreaker(
            settings.GATEWAY_BREAKER_FAILURES, settings.GATEWAY_BREAKER_COOLDOWN_S
        )

    async def aclose(self) -> None:
        """Release network resources at shutdown."""
        await http.close_clients()


_state: GatewayState | None = None


def get_state() -> GatewayState:
    global _state
    if _state is None:
        _state = GatewayState()
    return _state
