"""Closed-loop load: wrk for non-streaming requests, a small asyncio client for SSE streams.

Every run is bounded: wrk by its duration (and a subprocess timeout), streams by a duration
and a request count. Targets must be on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

import httptools
import orjson

HERE = Path(__file__).resolve().parent
WRK_SCRIPT = HERE / "wrk_post.lua"


def _loopback(url: str) -> tuple[str, int, str]:
    parts = urlsplit(url)
    if parts.hostname != "127.0.0.1" or parts.port is None:
        raise ValueError(f"benchmark targets must be http://127.0.0.1:PORT, got {url}")
    return parts.hostname, parts.port, parts.path or "/"


@dataclass
class LoadResult:
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    # Streams only: time to first response byte and to the first content token.
    ttfb_ms: tuple[float, float, float] | None = None
    ttft_ms: tuple[float, float, float] | None = None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def run_wrk(url: str, body_file: Path, key: str, concurrency: int, seconds: float) -> LoadResult:
    """wrk -c concurrency for `seconds`; one thread per 8 connections, at most 2."""
    _loopback(url)
    threads = max(1, min(2, concurrency // 8))
    cmd = [
        "wrk", f"-t{threads}", f"-c{concurrency}", f"-d{seconds:g}s", "--timeout", "10s",
        "-s", str(WRK_SCRIPT), url,
    ]  # fmt: skip
    env = {**os.environ, "WRK_BODY_FILE": str(body_file), "WRK_AUTH": key}
    out = subprocess.run(
        cmd, env=env, capture_output=True, text=True, timeout=seconds + 30, check=True
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("WRK_JSON "))
    data = json.loads(line.removeprefix("WRK_JSON "))
    errors = sum(data[k] for k in ("connect", "read", "write", "status", "timeout"))
    return LoadResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        errors=errors,
        p50_ms=data["p50"] / 1000,
        p95_ms=data["p95"] / 1000,
        p99_ms=data["p99"] / 1000,
    )


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    """p50, p95, p99 (nearest rank) of samples in seconds, returned in milliseconds."""
    if not samples:
        return (0.0, 0.0, 0.0)
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))] * 1000

    return (pick(0.50), pick(0.95), pick(0.99))


@dataclass
class _Sample:
    started: float = 0.0
    first_byte: float = 0.0
    first_token: float = 0.0
    ended: float = 0.0
    status: int = 0
    done: bool = False  # saw data: [DONE]


class _StreamConnection(asyncio.Protocol):
    """One keep-alive connection; one request at a time; parses SSE until the first token."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.sample = _Sample()
        self.buffer = b""
        self.finished: asyncio.Future[None] | None = None
        self.keep_alive = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.finished is not None and not self.finished.done():
            self.finished.set_exception(ConnectionError("server closed the connection"))

    def send(self, request: bytes) -> asyncio.Future[None]:
        assert self.transport is not None
        self.sample = _Sample(started=time.perf_counter())
        self.buffer = b""
        self.finished = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return self.finished

    def data_received(self, data: bytes) -> None:
        if not self.sample.first_byte:
            self.sample.first_byte = time.perf_counter()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            if self.finished is not None and not self.finished.done():
                self.finished.set_exception(exc)

    def on_headers_complete(self) -> None:
        self.sample.status = self.parser.get_status_code()
        self.keep_alive = self.parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        self.buffer += body
        *events, self.buffer = self.buffer.split(b"\n\n")
        for event in events:
            self._event(event)

    def _event(self, event: bytes) -> None:
        for line in event.split(b"\n"):
            if not line.startswith(b"data:"):
                continue
            data = line[5:].strip()
            if data == b"[DONE]":
                self.sample.done = True
            elif not self.sample.first_token and b'"content"' in data:
                chunk = orjson.loads(data)
                deltas = [c.get("delta") or {} for c in chunk.get("choices") or ()]
                if any(d.get("content") for d in deltas):
                    self.sample.first_token = time.perf_counter()

    def on_message_complete(self) -> None:
        self.sample.ended = time.perf_counter()
        if self.finished is not None and not self.finished.done():
            self.finished.set_result(None)


@dataclass
class _StreamTotals:
    samples: list[_Sample] = field(default_factory=list)
    errors: int = 0


async def _stream_worker(
    host: str, port: int, request: bytes, deadline: float, budget: list[int], totals: _StreamTotals
) -> None:
    loop = asyncio.get_running_loop()
    conn: _StreamConnection | None = None
    while time.perf_counter() < deadline and budget[0] > 0:
        budget[0] -= 1
        try:
            if conn is None or conn.transport is None or not conn.keep_alive:
                if conn is not None and conn.transport is not None:
                    conn.transport.close()
                _, conn = await loop.create_connection(_StreamConnection, host, port)
            await asyncio.wait_for(conn.send(request), timeout=30)
        except (TimeoutError, OSError, httptools.HttpParserError):
            totals.errors += 1
            conn = None
            continue
        sample = conn.sample
        if sample.status != 200 or not sample.done or not sample.first_token:
            totals.errors += 1
        else:
            totals.samples.append(sample)
    if conn is not None and conn.transport is not None:
        conn.transport.close()


async def _run_streams(
    url: str, body: bytes, key: str, concurrency: int, seconds: float, max_requests: int
) -> LoadResult:
    host, port, path = _loopback(url)
    auth = f"authorization: Bearer {key}\r\n".encode() if key else b""
    request = (
        f"POST {path} HTTP/1.1\r\nhost: {host}:{port}\r\ncontent-type: application/json\r\n"
        f"accept: text/event-stream\r\ncontent-length: {len(body)}\r\n".encode()
        + auth
        + b"\r\n"
        + body
    )
    totals = _StreamTotals()
    budget = [max_requests]
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(
        *(_stream_worker(host, port, request, deadline, budget, totals) for _ in range(concurrency))
    )
    elapsed = time.perf_counter() - started
    done = totals.samples
    p50, p95, p99 = percentiles([s.ended - s.started for s in done])
    return LoadResult(
        requests=len(done),
        seconds=elapsed,
        errors=totals.errors,
        p50_ms=p50,
        p95_ms=p95,
        p99_ms=p99,
        ttfb_ms=percentiles([s.first_byte - s.started for s in done]),
        ttft_ms=percentiles([s.first_token - s.started for s in done]),
    )


def run_streams(
    url: str, body: bytes, key: str, concurrency: int, seconds: float, max_requests: int = 100_000
) -> LoadResult:
    """Closed-loop SSE streams; latency columns are whole-stream times, plus TTFB and TTFT."""
    import uvloop

    return uvloop.run(_run_streams(url, body, key, concurrency, seconds, max_requests))
