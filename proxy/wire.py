"""Plain request/response types for the /v1 data plane, independent of Django's HttpRequest."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]


@dataclass(slots=True)
class GatewayRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    client_ip: str
    request_id: str
    started: float = field(default_factory=time.perf_counter)
    # Set by the ASGI layer: resolves when the client goes away (streaming cancellation).
    disconnected: Callable[[], Awaitable[bool]] | None = None

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass(slots=True)
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    # Streaming responses yield already-framed bytes (SSE events).
    stream: AsyncIterator[bytes] | None = None
    # Run by the ASGI layer after the body went out (accounting off the latency path).
    on_complete: Callable[[], Awaitable[None]] | None = None

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
        return cls(status, orjson.dumps(payload), dict(headers or {}))


def header_list(resp: Response) -> list[tuple[bytes, bytes]]:
    """ASGI header pairs for a response."""
    pairs = [(b"content-type", resp.content_type.encode())]
    if resp.stream is None:
        pairs.append((b"content-length", str(len(resp.body)).encode()))
    else:
        pairs.append((b"cache-control", b"no-cache"))
        pairs.append((b"x-accel-buffering", b"no"))
    pairs.extend((k.lower().encode(), v.encode()) for k, v in resp.headers.items())
    return pairs
