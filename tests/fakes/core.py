"""Shared machinery of the fake providers: faults, recording, text rules and SSE writing."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson
from aiohttp import web
from multidict import CIMultiDict

JSON = dict[str, Any]
DEFAULT_CHUNKS = 3
_WORD_RE = re.compile(r"\s*\S+")
_WEATHER_RE = re.compile(r"\bweather\b", re.IGNORECASE)
TOOL_ARGUMENTS = {"city": "Paris"}


@dataclass(frozen=True)
class Fault:
    """A scripted misbehaviour applied to one request (or every request, as the default fault)."""

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | str | JSON | None = None
    delay_headers: float = 0.0
    delay_chunks: float | None = None
    cut_after_chunks: int | None = None
    close_connection: bool = False
    # Mid-stream provider error event after this many chunks (OpenAI `data: {"error"...}`,
    # Anthropic `event: error`), as real providers send when overloaded mid-generation.
    error_after_chunks: int | None = None
    # None: any route. A family ("openai", "azure", "anthropic"), a route name such as
    # "openai.chat" / "azure.embeddings" / "anthropic.messages", or a path prefix ("/v1/...").
    route: str | None = None

    def matches(self, route: str, path: str) -> bool:
        """Whether this fault applies to a request to `route` at `path`."""
        if self.route is None:
            return True
        if self.route.startswith("/"):
            return path.startswith(self.route)
        return self.route in (route, route.split(".", 1)[0])


NO_FAULT = Fault()


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any
    raw: bytes
    time: float  # time.monotonic() when the request body had been read
    route: str = ""


class Disconnect(NamedTuple):
    """A client that went away while its response was still being produced."""

    path: str
    time: float  # time.monotonic()


class FakeState:
    """Configuration, fault queue and records, shared by the server thread and test threads."""

    def __init__(
        self,
        *,
        api_key: str,
        anthropic_key: str,
        azure_key: str,
        chunks: int = DEFAULT_CHUNKS,
        chunk_delay: float = 0.0,
    ) -> None:
        self.api_key = api_key
        self.anthropic_key = anthropic_key
        self.azure_key = azure_key
        self.chunks = chunks
        self.chunk_delay = chunk_delay
        # Real Azure sends a first chunk with `choices: []` carrying prompt_filter_results.
        self.azure_prompt_filter_chunk = True
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.stopping = False
        self._faults: deque[Fault] = deque()
        self._default_fault: Fault | None = None
        self._requests: list[RecordedRequest] = []
        self._disconnects: list[Disconnect] = []
        self._connections = 0
        self._ids = 0

    def next_id(self) -> int:
        """Return a per-server increasing number for response ids."""
        with self.lock:
            self._ids += 1
            return self._ids

    def enqueue(self, *faults: Fault) -> None:
        """Queue faults for the next matching requests."""
        with self.lock:
            self._faults.extend(faults)

    def set_default_fault(self, fault: Fault | None) -> None:
        """Apply `fault` to every request no queued fault matches (None turns it off)."""
        with self.lock:
            self._default_fault = fault

    def take_fault(self, route: str, path: str) -> Fault:
        """Pop the first queued fault matching the request, else the default fault."""
        with self.lock:
            for index, fault in enumerate(self._faults):
                if fault.matches(route, path):
                    del self._faults[index]
                    return fault
            default = self._default_fault
            if default is not None and default.matches(route, path):
                return default
            return NO_FAULT

    @property
    def pending_faults(self) -> list[Fault]:
        """Queued faults not consumed yet."""
        with self.lock:
            return list(self._faults)

    def reset(self) -> None:
        """Forget faults and records."""
        with self.lock:
            self._faults.clear()
            self._default_fault = None
            self._requests.clear()
            self._disconnects.clear()
            self._connections = 0

    def add_request(self, record: RecordedRequest) -> None:
        """Store a received request."""
        with self.changed:
            self._requests.append(record)
            self.changed.notify_all()

    def add_disconnect(self, path: str) -> None:
        """Store a client disconnect seen mid-response (ignored while the server stops)."""
        if self.stopping:
            return
        with self.changed:
            self._disconnects.append(Disconnect(path, time.monotonic()))
            self.changed.notify_all()

    def add_connection(self) -> None:
        """Count one accepted TCP connection."""
        with self.changed:
            self._connections += 1
            self.changed.notify_all()

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of the recorded requests."""
        with self.lock:
            return list(self._requests)

    @property
    def disconnects(self) -> list[Disconnect]:
        """A snapshot of the recorded disconnects."""
        with self.lock:
            return list(self._disconnects)

    @property
    def connections_accepted(self) -> int:
        """TCP connections accepted since start (or the last reset)."""
        with self.lock:
            return self._connections


STATE_KEY = web.AppKey("fake_state", FakeState)


# ---------------------------------------------------------------------------- text rules


def count_words(text: str) -> int:
    """Whitespace-separated words, the fakes' stand-in for tokens."""
    return len(text.split())


def is_weather_request(text: str) -> bool:
    """Whether the user text asks for the tool call."""
    return bool(_WEATHER_RE.search(text))


def split_chunks(text: str, parts: int) -> list[str]:
    """Split text into at most `parts` contiguous pieces at word boundaries."""
    words = _WORD_RE.findall(text)
    tail = text[sum(len(w) for w in words) :]
    if not words:
        return [text] if text else []
    parts = max(1, min(parts, len(words)))
    size, extra = divmod(len(words), parts)
    pieces, start = [], 0
    for i in range(parts):
        end = start + size + (1 if i < extra else 0)
        pieces.append("".join(words[start:end]))
        start = end
    pieces[-1] += tail
    return pieces


def split_even(text: str, parts: int) -> list[str]:
    """Split text into `parts` character slices (used for streamed tool arguments)."""
    parts = max(1, min(parts, len(text)))
    step = -(-len(text) // parts)
    return [text[i : i + step] for i in range(0, len(text), step)]


def apply_stop(text: str, stops: list[str]) -> tuple[str, str | None]:
    """Cut text at the earliest stop sequence; return the text and the matched sequence."""
    best: tuple[int, str] | None = None
    for stop in stops:
        if not stop:
            continue
        pos = text.find(stop)
        if pos >= 0 and (best is None or pos < best[0]):
            best = (pos, stop)
    if best is None:
        return text, None
    return text[: best[0]], best[1]


def truncate_words(text: str, limit: int | None) -> tuple[str, bool]:
    """Keep at most `limit` words; return the text and whether it was cut."""
    if limit is None:
        return text, False
    words = _WORD_RE.findall(text)
    if len(words) <= limit:
        return text, False
    return "".join(words[: max(limit, 0)]), True


def tool_arguments_json() -> str:
    """The fixed arguments of the scripted tool call, serialised like providers do."""
    return json.dumps(TOOL_ARGUMENTS)


# ---------------------------------------------------------------------------- responses


def dumps(obj: Any) -> str:
    """Compact JSON as the providers send it."""
    return orjson.dumps(obj).decode()


def json_response(
    obj: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A JSON response with the given extra headers."""
    return web.Response(
        body=orjson.dumps(obj), status=status, headers=headers, content_type="application/json"
    )


class ClientGone(Exception):
    """The response was ended on purpose (fault) or because the client left."""

    def __init__(self, response: web.StreamResponse, reason: str) -> None:
        super().__init__(reason)
        self.response = response


@dataclass
class Ctx:
    """Everything a route implementation needs about the current request."""

    request: web.Request
    state: FakeState
    record: RecordedRequest
    fault: Fault
    route: str
    extra_headers: dict[str, str] = field(default_factory=dict)

    @property
    def body(self) -> JSON:
        """The parsed JSON body, or an empty dict."""
        return self.record.json if isinstance(self.record.json, dict) else {}

    def close_transport(self) -> None:
        """Close the TCP connection after flushing what was written, without a terminator."""
        transport = self.request.transport
        if transport is not None:
            transport.close()


class SSEWriter:
    """Writes SSE events, applying chunk delays, cuts and mid-stream error faults."""

    def __init__(
        self, ctx: Ctx, error_event: Callable[[], tuple[str | None, JSON]] | None = None
    ) -> None:
        self.ctx = ctx
        self.sent = 0
        self._error_event = error_event
        fault = ctx.fault
        self.delay = fault.delay_chunks if fault.delay_chunks is not None else ctx.state.chunk_delay
        self.response = web.StreamResponse(
            status=200,
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-cache",
                **ctx.extra_headers,
            },
        )

    async def start(self) -> None:
        """Send the response head."""
        await self.response.prepare(self.ctx.request)

    async def send(self, data: JSON | str, event: str | None = None) -> None:
        """Send one event, or end the stream if a fault says so."""
        fault = self.ctx.fault
        if fault.error_after_chunks is not None and self.sent == fault.error_after_chunks:
            assert self._error_event is not None
            err_event, err_data = self._error_event()
            await self._write(err_data, err_event)
            # Providers end the HTTP body cleanly after an in-stream error event.
            with contextlib.suppress(ConnectionError):
                await self.response.write_eof()
            raise ClientGone(self.response, "error event sent")
        if fault.cut_after_chunks is not None and self.sent >= fault.cut_after_chunks:
            self.ctx.close_transport()
            raise ClientGone(self.response, "cut by fault")
        if self.sent and self.delay:
            await asyncio.sleep(self.delay)
        await self._write(data, event)

    async def _write(self, data: JSON | str, event: str | None) -> None:
        text = data if isinstance(data, str) else dumps(data)
        frame = (f"event: {event}\n" if event else "") + f"data: {text}\n\n"
        try:
            await self.response.write(frame.encode())
        except ConnectionError as exc:
            # aiohttp raises ClientConnectionResetError (a ConnectionResetError) when the peer left.
            self.ctx.state.add_disconnect(self.ctx.request.path)
            raise ClientGone(self.response, "client went away") from exc
        self.sent += 1

    async def finish(self) -> web.StreamResponse:
        """Apply a pending cut, else end the chunked body properly."""
        fault = self.ctx.fault
        if fault.cut_after_chunks is not None and self.sent >= fault.cut_after_chunks:
            self.ctx.close_transport()
            return self.response
        with contextlib.suppress(ConnectionError):
            await self.response.write_eof()
        return self.response


async def send_partial_json(ctx: Ctx, obj: Any) -> web.StreamResponse:
    """Send a head promising the whole JSON body, half of it, then drop the connection."""
    body = orjson.dumps(obj)
    response = web.StreamResponse(
        status=200, headers={"Content-Type": "application/json", **ctx.extra_headers}
    )
    response.content_length = len(body)
    await response.prepare(ctx.request)
    with contextlib.suppress(ConnectionError):
        await response.write(body[: len(body) // 2])
    ctx.close_transport()
    return response


Impl = Callable[[Ctx], Awaitable[web.StreamResponse]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ErrorBody = Callable[[int, str | None], Any]


def raw_fault_response(ctx: Ctx, error_body: ErrorBody) -> web.Response:
    """The response a fault with `status` and/or `body` dictates."""
    fault = ctx.fault
    status = fault.status or 200
    headers: CIMultiDict[str] = CIMultiDict(ctx.extra_headers)
    headers.update(fault.headers)
    headers.setdefault("Content-Type", "application/json")
    body = fault.body if fault.body is not None else error_body(status, None)
    if isinstance(body, str):
        body = body.encode()
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    return web.Response(body=data, status=status, headers=headers)


def endpoint(
    route: str,
    impl: Impl,
    error_body: ErrorBody,
    base_headers: Callable[[FakeState], dict[str, str]] | None = None,
) -> Handler:
    """Wrap a route implementation with recording, faults and disconnect detection."""

    async def handler(request: web.Request) -> web.StreamResponse:
        state = request.app[STATE_KEY]
        raw = await request.read()
        try:
            parsed: Any = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            parsed = None
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers={k.lower(): v for k, v in request.headers.items()},
            json=parsed,
            raw=raw,
            time=time.monotonic(),
            route=route,
        )
        state.add_request(record)
        fault = state.take_fault(route, request.path)
        ctx = Ctx(request=request, state=state, record=record, fault=fault, route=route)
        if base_headers is not None:
            ctx.extra_headers.update(base_headers(state))
        try:
            if fault.delay_headers:
                await asyncio.sleep(fault.delay_headers)
            if fault.close_connection:
                ctx.close_transport()
                return web.Response(status=204)
            if fault.status is not None or fault.body is not None:
                return raw_fault_response(ctx, error_body)
            return await impl(ctx)
        except ClientGone as gone:
            return gone.response
        except asyncio.CancelledError:
            # aiohttp cancels the handler when the peer closes (handler_cancellation=True).
            state.add_disconnect(request.path)
            raise

    return handler
