"""Shared helpers for end-to-end tests against real gateway processes."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from decimal import Decimal
from typing import Any

import httpx

from billing.models import Price, Reservation
from proxy.models import Deployment, ModelRoute, ProviderCredential

CHAT = {"model": "fixed", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 10}


def fixed_price_route(
    name: str = "fixed",
    *,
    per_request: str = "0",
    output: str = "0",
    options: dict[str, Any] | None = None,
) -> ModelRoute:
    """A mock-provider route whose upstream model has the given price."""
    provider = ProviderCredential.objects.create(
        name=f"mock-{name}", kind="mock", options=options or {}
    )
    route = ModelRoute.objects.create(name=name)
    Deployment.objects.create(route=route, provider=provider, upstream_model=f"{name}-upstream")
    Price.objects.create(
        model=f"{name}-upstream",
        per_request=Decimal(per_request),
        output_per_million=Decimal(output),
    )
    return route


async def _fire(
    urls: list[str], key: str, total: int, body: dict[str, Any]
) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=total, max_keepalive_connections=total)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        tasks = [
            client.post(
                f"{urls[i % len(urls)]}/v1/chat/completions",
                json=body,
                headers={"Authorization": f"Bearer {key}"},
            )
            for i in range(total)
        ]
        return list(await asyncio.gather(*tasks))


def fire(urls: list[str], key: str, total: int, body: dict[str, Any] = CHAT) -> Counter[str]:
    """Send `total` concurrent requests spread over the servers; count outcomes by code."""
    responses = asyncio.run(_fire(urls, key, total, body))
    counts: Counter[str] = Counter()
    for r in responses:
        counts["ok" if r.status_code == 200 else r.json()["error"]["code"]] += 1
    return counts


def wait_settled(timeout: float = 15.0) -> None:
    """Accounting runs after responses are sent: wait until no reservation is held."""
    deadline = time.monotonic() + timeout
    while Reservation.objects.filter(status=Reservation.Status.HELD).exists():
        if time.monotonic() > deadline:
            raise AssertionError("reservations still held after quiesce")
        time.sleep(0.05)
