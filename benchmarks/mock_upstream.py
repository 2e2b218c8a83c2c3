"""A fast mock OpenAI-compatible upstream: raw asyncio protocol + httptools on uvloop.

POST /v1/chat/completions (also /chat/completions) answers a fixed completion with usage;
with `"stream": true` it sends SSE chunks (`--chunks`, `--chunk-interval-ms` apart), a final
usage chunk when `stream_options.include_usage` is set, then `data: [DONE]`. GET /health
answers 200. Anything else is a 404. Serves 127.0.0.1 only.

Run: .venv/bin/python benchmarks/mock_upstream.py --port 9100 [--chunks 20 --chunk-interval-ms 2]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any, cast

import httptools
import orjson
import uvloop

MODEL = "gpt-4o-mini"
ANSWER = "The quick brown fox jumps over the lazy dog. " * 4
USAGE = {"prompt_tokens": 250, "completion_tokens": 40, "total_tokens": 290}
CHAT_PATHS = {b"/v1/chat/completions", b"/chat/completions"}


def _completion() -> bytes:
    return orjson.dumps(
        {
            "id": "chatcmpl-mock",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": ANSWER},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": USAGE,
            "system_fingerprint": "fp_mock",
        }
    )


def _chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
    return _event({"choices": [choice]})


def _event(fields: dict[str, Any]) -> bytes:
    base = {"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 0, "model": MODEL}
    data = b"data: " + orjson.dumps({**base, **fields}) + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(data), data)  # one HTTP chunk per SSE event


def _response(status: bytes, body: bytes, keep_alive: bool) -> bytes:
    conn = b"keep-alive" if keep_alive else b"close"
    return (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: application/json\r\n"
        b"content-length: %d\r\nconnection: %s\r\n\r\n%s" % (len(body), conn, body)
    )


STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
    b"transfer-encoding: chunked\r\n\r\n"
)
WORDS = ANSWER.split(" ")


class Settings:
    def __init__(self, chunks: int, interval_s: float) -> None:
        self.chunks = max(1, chunks)
        self.interval_s = interval_s
        self.ok_keepalive = _response(b"200 OK", _completion(), True)
        self.ok_close = _response(b"200 OK", _completion(), False)
        self.first = _chunk({"role": "assistant", "content": ""})
        self.tokens = [_chunk({"content": WORDS[i % len(WORDS)] + " "}) for i in range(chunks)]
        self.last = _chunk({}, "stop")
        self.usage = _event({"choices": [], "usage": USAGE})
        self.done = b"e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n"


class MockProtocol(asyncio.Protocol):
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""
        self.body: list[bytes] = []
        self.pending: asyncio.Task[None] | None = None  # a stream still being written

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def connection_lost(self, exc: Exception | None) -> None:
        if self.pending is not None:
            self.pending.cancel()
        self.transport = None

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self.transport is not None:
                self.transport.write(_response(b"400 Bad Request", b"{}", False))
                self.transport.close()

    # httptools callbacks
    def on_message_begin(self) -> None:
        self.url = b""
        self.body = []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        keep_alive = self.parser.should_keep_alive()
        path = self.url.split(b"?", 1)[0]
        if path in CHAT_PATHS and self.parser.get_method() == b"POST":
            try:
                request = orjson.loads(b"".join(self.body))
            except orjson.JSONDecodeError:
                self._send(_response(b"400 Bad Request", b'{"error":"bad json"}', keep_alive))
                return
            if isinstance(request, dict) and request.get("stream"):
                include = bool((request.get("stream_options") or {}).get("include_usage"))
                previous = self.pending
                self.pending = asyncio.ensure_future(self._stream(include, keep_alive, previous))
                return
            ok = self.settings.ok_keepalive if keep_alive else self.settings.ok_close
            self._send(ok, keep_alive)
        elif path == b"/health":
            self._send(_response(b"200 OK", b'{"status":"ok"}', keep_alive), keep_alive)
        else:
            self._send(_response(b"404 Not Found", b'{"error":"not found"}', keep_alive))

    def _send(self, data: bytes, keep_alive: bool = False) -> None:
        if self.transport is None:
            return
        self.transport.write(data)
        if not keep_alive:
            self.transport.close()

    async def _stream(self, include_usage: bool, keep_alive: bool, previous: Any) -> None:
        if previous is not None:  # pipelined after another stream: keep responses in order
            await previous
        s = self.settings
        write = self.transport.write if self.transport is not None else None
        if write is None:
            return
        write(STREAM_HEAD + s.first + s.tokens[0])
        for token in s.tokens[1:]:
            if s.interval_s:
                await asyncio.sleep(s.interval_s)
            if self.transport is None:
                return
            write(token)
        tail = s.last + (s.usage if include_usage else b"") + s.done
        self._send(tail, keep_alive)


async def serve(host: str, port: int, settings: Settings) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: MockProtocol(settings), host, port, backlog=4096, reuse_address=True
    )
    print(f"mock upstream listening on http://{host}:{port}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--chunks", type=int, default=20, help="content chunks per stream")
    parser.add_argument("--chunk-interval-ms", type=float, default=2.0)
    args = parser.parse_args()
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        parser.error("the mock serves loopback only")
    settings = Settings(args.chunks, args.chunk_interval_ms / 1000)
    uvloop.run(serve(args.host, args.port, settings))


if __name__ == "__main__":
    main()
