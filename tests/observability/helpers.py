"""Shared helpers for the observability tests: send requests, scrape and sum /metrics."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

CHAT_PATH = "/v1/chat/completions"


def chat_body(model: str = "demo", text: str = "hi") -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": text}], "max_tokens": 10}


def chat(url: str, key: str, model: str = "demo", text: str = "hi") -> httpx.Response:
    return httpx.post(
        f"{url}{CHAT_PATH}",
        json=chat_body(model, text),
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )


async def _burst(url: str, key: str, total: int) -> list[httpx.Response]:
    # A fresh connection per request, so the kernel spreads them over the worker processes.
    async def one() -> httpx.Response:
        async with httpx.AsyncClient(timeout=30) as client:
            return await client.post(
                f"{url}{CHAT_PATH}", json=chat_body(), headers={"Authorization": f"Bearer {key}"}
            )

    return list(await asyncio.gather(*(one() for _ in range(total))))


def burst(url: str, key: str, total: int) -> list[httpx.Response]:
    """Send `total` concurrent chat requests on separate connections."""
    return asyncio.run(_burst(url, key, total))


Samples = list[tuple[str, dict[str, str], float]]


def scrape(url: str, token: str | None = None) -> Samples:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.get(f"{url}/metrics", headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return [
        (sample.name, dict(sample.labels), sample.value)
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    ]


def total(samples: Samples, name: str, **labels: str) -> float:
    """Sum of the samples called `name` whose labels include `labels`."""
    return sum(
        value
        for sample_name, sample_labels, value in samples
        if sample_name == name and all(sample_labels.get(k) == v for k, v in labels.items())
    )


def eventually(check: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Telemetry is recorded right after the response went out: poll briefly."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
