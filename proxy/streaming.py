"""SSE relays: upstream chunks go to the client as they arrive, with usage tracked on the way.

Nothing is buffered. A client disconnect cancels the relay (see proxy/asgi.py); the `finally`
blocks close the upstream response, which aborts the upstream request, and the usage delivered
so far is recorded. A stream cut upstream ends with a clear error event.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson

from policies.redaction import StreamRestorer
from policies.streaming import OutputScanner
from proxy.formats import UpstreamStreamError, Usage, anthropic_usage, openai_usage
from proxy.outcome import Outcome
from proxy.providers.base import ChunkStream
from proxy.sse import encode_event
from proxy.tokens import estimate_text

_DONE = b"data: [DONE]\n\n"


def _openai_error_event(code: str, message: str) -> bytes:
    error = {"message": message, "type": "server_error", "param": None, "code": code}
    return b"data: " + orjson.dumps({"error": error}) + b"\n\n"


def _content_filtered(chunk: dict[str, Any]) -> bytes:
    """The last chunk of a stream cut by the output policy."""
    choice = {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "content_filter"}
    final = {k: chunk.get(k) for k in ("id", "object", "created", "model")}
    return b"data: " + orjson.dumps({**final, "choices": [choice]}) + b"\n\n"


async def relay_chat(
    upstream: ChunkStream,
    outcome: Outcome,
    *,
    include_usage: bool,
    scanner: OutputScanner | None = None,
    restorer: StreamRestorer | None = None,
) -> AsyncIterator[bytes]:
    """OpenAI chunks -> client; drops the forced usage chunk if the client did not ask for it."""
    delivered: list[str] = []
    try:
        async for chunk in upstream:
            usage = chunk.get("usage")
            if usage:
                outcome.usage = openai_usage(usage)
                if not include_usage:
                    if not chunk.get("choices"):
                        continue
                    chunk = {k: v for k, v in chunk.items() if k != "usage"}
            text = "".join(
                (c.get("delta") or {}).get("content") or "" for c in chunk.get("choices") or ()
            )
            if text:
                delivered.append(text)
                if scanner is not None and scanner.feed(text).blocked:
                    outcome.output_decision = scanner.decision()
                    outcome.fail(200, "policy_violation")
                    yield _content_filtered(chunk)
                    yield _openai_error_event(
                        "policy_violation", "The answer was stopped by the organization's policy."
                    )
                    return
            if restorer is not None:
                chunk = _restore_chunk(chunk, restorer)
            yield b"data: " + orjson.dumps(chunk) + b"\n\n"
        outcome.status = 200
        if scanner is not None:
            outcome.output_decision = scanner.decision()
        yield _DONE
    except UpstreamStreamError:
        outcome.fail(502, "upstream_stream_error")
        yield _openai_error_event(
            "upstream_stream_error",
            "The upstream stream ended unexpectedly; the answer is incomplete.",
        )
    finally:
        await _finish(upstream, outcome, "".join(delivered))


def _restore_chunk(chunk: dict[str, Any], restorer: StreamRestorer) -> dict[str, Any]:
    """Put placeholders back in a single-choice chunk; flush held text on the final chunk."""
    choices = chunk.get("choices") or []
    if len(choices) != 1:
        return chunk
    choice = choices[0]
    delta = dict(choice.get("delta") or {})
    content = delta.get("content")
    text = restorer.feed(content or "")
    if choice.get("finish_reason") is not None:
        text += restorer.flush()
    if content is None and not text:
        return chunk
    delta["content"] = text
    return {**chunk, "choices": [{**choice, "delta": delta}]}


async def relay_messages(
    upstream: ChunkStream, outcome: Outcome, *, scanner: OutputScanner | None = None
) -> AsyncIterator[bytes]:
    """Anthropic events -> client, unchanged; usage read from message_start/message_delta."""
    usage: dict[str, Any] = {}
    delivered: list[str] = []
    try:
        async for name, data in upstream:
            if name == "message_start":
                usage.update((data.get("message") or {}).get("usage") or {})
            elif name == "message_delta":
                usage.update(data.get("usage") or {})
            elif name == "content_block_delta":
                text = str((data.get("delta") or {}).get("text", ""))
                delivered.append(text)
                if text and scanner is not None and scanner.feed(text).blocked:
                    outcome.output_decision = scanner.decision()
                    outcome.fail(200, "policy_violation")
                    yield _anthropic_error("policy_violation", "The answer was stopped by policy.")
                    return
            yield encode_event(orjson.dumps(data), name)
        outcome.status = 200
    except UpstreamStreamError:
        outcome.fail(502, "upstream_stream_error")
        yield _anthropic_error(
            "upstream_stream_error",
            "The upstream stream ended unexpectedly; the answer is incomplete.",
        )
    finally:
        if usage:
            outcome.usage = anthropic_usage(usage)
        await _finish(upstream, outcome, "".join(delivered))


def _anthropic_error(code: str, message: str) -> bytes:
    error = {"type": "api_error", "message": message, "code": code}
    return encode_event(orjson.dumps({"type": "error", "error": error}), "error")


async def _finish(upstream: ChunkStream, outcome: Outcome, delivered: str) -> None:
    """Schedule accounting before the first await: a cancellation may land on any await."""
    if outcome.status == 0:  # neither finished nor failed: the client went away
        outcome.fail(499, "client_disconnected")
    _settle_usage(outcome, delivered)
    await outcome.finish()  # never suspends
    await upstream.aclose()


def _settle_usage(outcome: Outcome, delivered: str) -> None:
    """Without upstream usage (cut or cancelled stream), charge the prompt plus what was sent."""
    if outcome.ctx is not None and outcome.ctx.capture_prompts:
        outcome.response_text = delivered
    if outcome.usage is not None and outcome.usage.completion_tokens:
        return
    prompt = outcome.usage.prompt_tokens if outcome.usage else outcome.estimated_prompt_tokens
    outcome.usage = Usage(prompt_tokens=prompt, completion_tokens=estimate_text(delivered))
    outcome.usage_estimated = True
