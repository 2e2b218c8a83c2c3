"""Streaming translation between Anthropic Messages events and OpenAI chat.completion.chunks.

Both converters are fed already-decoded events (see `proxy.sse.SSEDecoder`), so they are
independent of how the bytes were chunked on the wire.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from proxy.formats import UpstreamStreamError, Usage, anthropic_usage, openai_usage
from proxy.formats.anthropic_response import (
    ANTHROPIC_TO_OPENAI_FINISH,
    OPENAI_TO_ANTHROPIC_STOP,
    anthropic_usage_dict,
    openai_completion_id,
    openai_usage_dict,
)

__all__ = ["AnthropicToOpenAIStream", "OpenAIToAnthropicStream"]

Json = dict[str, Any]
AnthropicEvent = tuple[str, Json]

_USAGE_KEYS = ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")


class AnthropicToOpenAIStream:
    """Turn Anthropic stream events into OpenAI chat.completion.chunk dicts."""

    def __init__(self, *, model: str, include_usage: bool, created: int | None = None) -> None:
        self._model = model
        self._include_usage = include_usage
        self._created = int(time.time()) if created is None else created
        self._id = "chatcmpl-unknown"
        # Anthropic reports usage cumulatively: input on message_start, totals on
        # message_delta. Keep the latest value of every counter.
        self._usage: Json = {}
        # Anthropic block index -> OpenAI tool_calls index (0-based among tool calls only).
        self._tool_index: dict[int, int] = {}

    @property
    def usage(self) -> Usage:
        """Token usage seen so far (complete once message_stop was fed)."""
        return anthropic_usage(self._usage)

    def feed(self, event: str, data: Mapping[str, Any]) -> list[Json]:
        """Translate one Anthropic event (name and parsed data) into zero or more chunks."""
        kind = str(data.get("type") or event)
        if kind == "error":
            error = data.get("error") or {}
            raise UpstreamStreamError(
                str(error.get("message", "")), str(error.get("type", "api_error"))
            )
        handler = self._HANDLERS.get(kind)
        # `ping` and event types added after this was written are ignored, as Anthropic's
        # versioning policy asks clients to do.
        return handler(self, data) if handler else []

    def _chunk(self, delta: Json, finish_reason: str | None = None) -> Json:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        chunk: Json = {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model,
            "choices": [choice],
        }
        if self._include_usage:
            chunk["usage"] = None  # OpenAI sends null usage on every chunk but the last
        return chunk

    def _on_message_start(self, data: Mapping[str, Any]) -> list[Json]:
        message = data.get("message") or {}
        self._id = openai_completion_id(str(message.get("id", "")))
        self._record_usage(message.get("usage"))
        return [self._chunk({"role": "assistant", "content": ""})]

    def _on_block_start(self, data: Mapping[str, Any]) -> list[Json]:
        block = data.get("content_block") or {}
        if block.get("type") == "text" and block.get("text"):
            return [self._chunk({"content": block["text"]})]
        if block.get("type") != "tool_use":
            return []  # thinking and server-tool blocks have no Chat Completions form
        index = len(self._tool_index)
        self._tool_index[int(data.get("index", -1))] = index
        function = {"name": block.get("name"), "arguments": ""}
        call = {"index": index, "id": block.get("id"), "type": "function", "function": function}
        return [self._chunk({"tool_calls": [call]})]

    def _on_block_delta(self, data: Mapping[str, Any]) -> list[Json]:
        delta = data.get("delta") or {}
        if delta.get("type") == "text_delta" and delta.get("text"):
            return [self._chunk({"content": delta["text"]})]
        tool_index = self._tool_index.get(int(data.get("index", -1)))
        if delta.get("type") == "input_json_delta" and delta.get("partial_json"):
            if tool_index is None:
                return []  # input of a server-tool block we did not surface
            call = {"index": tool_index, "function": {"arguments": delta["partial_json"]}}
            return [self._chunk({"tool_calls": [call]})]
        return []  # thinking, signature and citation deltas

    def _on_message_delta(self, data: Mapping[str, Any]) -> list[Json]:
        self._record_usage(data.get("usage"))
        stop_reason = (data.get("delta") or {}).get("stop_reason")
        if stop_reason is None:
            return []
        return [self._chunk({}, ANTHROPIC_TO_OPENAI_FINISH.get(str(stop_reason), "stop"))]

    def _on_message_stop(self, data: Mapping[str, Any]) -> list[Json]:
        if not self._include_usage:
            return []
        # With stream_options.include_usage OpenAI ends with a chunk without choices.
        chunk = self._chunk({})
        chunk["choices"] = []
        chunk["usage"] = openai_usage_dict(self.usage)
        return [chunk]

    def _record_usage(self, usage: Mapping[str, Any] | None) -> None:
        for key, value in (usage or {}).items():
            # message_delta omits (or nulls) counters that did not change.
            if value is not None:
                self._usage[key] = value

    _HANDLERS = {
        "message_start": _on_message_start,
        "content_block_start": _on_block_start,
        "content_block_delta": _on_block_delta,
        "message_delta": _on_message_delta,
        "message_stop": _on_message_stop,
    }


@dataclass(slots=True)
class _Block:
    index: int
    kind: str  # "text" or "tool_use"


class OpenAIToAnthropicStream:
    """Turn OpenAI chat.completion.chunk dicts into Anthropic (event, data) pairs."""

    def __init__(self, *, model: str, message_id: str) -> None:
        self._model = model
        self._message_id = message_id
        self._started = False
        self._finished = False
        self._open: _Block | None = None
        self._next_index = 0
        # OpenAI tool_calls index -> Anthropic content block index.
        self._tool_blocks: dict[int, int] = {}
        self._finish_reason: str | None = None
        self._refused = False
        self._usage = Usage()

    @property
    def usage(self) -> Usage:
        """Token usage reported by the upstream (complete after its usage chunk)."""
        return self._usage

    def feed(self, chunk: Mapping[str, Any]) -> list[AnthropicEvent]:
        """Translate one OpenAI chunk into zero or more Anthropic events."""
        events = self._start()
        if chunk.get("usage"):
            self._usage = openai_usage(chunk["usage"])
        for choice in chunk.get("choices") or []:
            if choice.get("index", 0) != 0:
                continue  # n > 1 is never requested on behalf of an Anthropic client
            events.extend(self._delta(choice.get("delta") or {}))
            if choice.get("finish_reason"):
                self._finish_reason = choice["finish_reason"]
        return events

    def finish(self) -> list[AnthropicEvent]:
        """Close open blocks and emit message_delta and message_stop (call once, at the end)."""
        if self._finished:
            return []
        self._finished = True
        events = self._start() + self._close()
        stop_reason = OPENAI_TO_ANTHROPIC_STOP.get(str(self._finish_reason), "end_turn")
        if self._refused and stop_reason == "end_turn":
            stop_reason = "refusal"
        delta = {"stop_reason": stop_reason, "stop_sequence": None}
        usage = anthropic_usage_dict(self._usage)
        events.append(("message_delta", {"type": "message_delta", "delta": delta, "usage": usage}))
        events.append(("message_stop", {"type": "message_stop"}))
        return events

    def _start(self) -> list[AnthropicEvent]:
        if self._started:
            return []
        self._started = True
        message: Json = {
            "id": self._message_id,
            "type": "message",
            "role": "assistant",
            "model": self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            # OpenAI reports usage only at the end; the totals go into message_delta.
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        return [("message_start", {"type": "message_start", "message": message})]

    def _delta(self, delta: Mapping[str, Any]) -> list[AnthropicEvent]:
        events: list[AnthropicEvent] = []
        if delta.get("refusal"):
            self._refused = True
        text = delta.get("content") or delta.get("refusal")
        if text:
            events.extend(self._text(text))
        for call in delta.get("tool_calls") or []:
            events.extend(self._tool_call(call))
        return events

    def _text(self, text: str) -> list[AnthropicEvent]:
        events: list[AnthropicEvent] = []
        if self._open is None or self._open.kind != "text":
            events = self._close() + self._open_block({"type": "text", "text": ""}, "text")
        delta = {"type": "text_delta", "text": text}
        return [*events, self._block_delta(self._current_index(), delta)]

    def _tool_call(self, call: Mapping[str, Any]) -> list[AnthropicEvent]:
        events: list[AnthropicEvent] = []
        openai_index = int(call.get("index", 0))
        function = call.get("function") or {}
        if openai_index not in self._tool_blocks:
            # OpenAI sends id and name only in the first delta of each call. Some
            # OpenAI-compatible servers omit the id; Anthropic requires one.
            tool_id = call.get("id") or f"toolu_{self._message_id}_{openai_index}"
            block: Json = {
                "type": "tool_use",
                "id": tool_id,
                "name": function.get("name"),
                "input": {},
            }
            events = self._close() + self._open_block(block, "tool_use")
            self._tool_blocks[openai_index] = self._current_index()
        if function.get("arguments"):
            # OpenAI streams calls one after another; a non-conforming server that
            # interleaves them still gets each delta routed to its own block index.
            delta = {"type": "input_json_delta", "partial_json": function["arguments"]}
            events.append(self._block_delta(self._tool_blocks[openai_index], delta))
        return events

    def _open_block(self, block: Json, kind: str) -> list[AnthropicEvent]:
        self._open = _Block(index=self._next_index, kind=kind)
        self._next_index += 1
        data = {"type": "content_block_start", "index": self._open.index, "content_block": block}
        return [("content_block_start", data)]

    def _close(self) -> list[AnthropicEvent]:
        if self._open is None:
            return []
        index, self._open = self._open.index, None
        return [("content_block_stop", {"type": "content_block_stop", "index": index})]

    def _current_index(self) -> int:
        assert self._open is not None
        return self._open.index

    @staticmethod
    def _block_delta(index: int, delta: Json) -> AnthropicEvent:
        return (
            "content_block_delta",
            {"type": "content_block_delta", "index": index, "delta": delta},
        )
