"""Shared samples and SDK-backed accumulators for the format translation tests."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pydantic
import pytest
from anthropic.lib.streaming._messages import accumulate_event
from anthropic.types import RawMessageStreamEvent
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletionChunk

Json = dict[str, Any]

_RAW_EVENT = pydantic.TypeAdapter(RawMessageStreamEvent)

# Event shapes as Anthropic streams them (docs "Streaming Messages", tool-use example):
# usage on message_start, a ping, an empty input_json_delta first, cumulative usage on
# message_delta.
ANTHROPIC_TOOL_STREAM: list[tuple[str, Json]] = [
    (
        "message_start",
        {
            "type": "message_start",
            "message": {
                "id": "msg_014p7gG3wDgGV9EUtLvnow3U",
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-4-5",
                "stop_sequence": None,
                "usage": {
                    "input_tokens": 472,
                    "cache_creation_input_tokens": 10,
                    "cache_read_input_tokens": 100,
                    "output_tokens": 2,
                },
                "content": [],
                "stop_reason": None,
            },
        },
    ),
    (
        "content_block_start",
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    ),
    ("ping", {"type": "ping"}),
    (
        "content_block_delta",
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": "Okay"},
        },
    ),
    (
        "content_block_delta",
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": ", let me check the weather."},
        },
    ),
    ("content_block_stop", {"type": "content_block_stop", "index": 0}),
    (
        "content_block_start",
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {
                "type": "tool_use",
                "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
                "name": "get_weather",
                "input": {},
            },
        },
    ),
    (
        "content_block_delta",
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": ""},
        },
    ),
    (
        "content_block_delta",
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": '{"location": "San Fra'},
        },
    ),
    (
        "content_block_delta",
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": 'ncisco, CA", "unit": "c"}'},
        },
    ),
    ("content_block_stop", {"type": "content_block_stop", "index": 1}),
    (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": None},
            "usage": {"output_tokens": 89},
        },
    ),
    ("message_stop", {"type": "message_stop"}),
]

# The same answer as a non-streaming Message.
ANTHROPIC_TOOL_MESSAGE: Json = {
    "id": "msg_014p7gG3wDgGV9EUtLvnow3U",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5",
    "content": [
        {"type": "text", "text": "Okay, let me check the weather."},
        {
            "type": "tool_use",
            "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
            "name": "get_weather",
            "input": {"location": "San Francisco, CA", "unit": "c"},
        },
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 472,
        "cache_creation_input_tokens": 10,
        "cache_read_input_tokens": 100,
        "output_tokens": 89,
    },
}


def accumulate_anthropic(events: Iterable[tuple[str, Mapping[str, Any]]]) -> Json:
    """Fold Anthropic stream events into a Message using the anthropic SDK's own logic."""
    snapshot = None
    json_bufs: dict[int, bytes] = {}
    for name, data in events:
        assert data["type"] == name
        if name == "ping":
            continue
        event = _RAW_EVENT.validate_python(data)  # strict shape check of every event
        snapshot = accumulate_event(event=event, current_snapshot=snapshot, json_bufs=json_bufs)
    assert snapshot is not None
    dumped: Json = snapshot.model_dump(mode="json", exclude_none=True)
    return dumped


def accumulate_openai(chunks: Iterable[Mapping[str, Any]]) -> Json:
    """Fold OpenAI chunks into a ChatCompletion using the openai SDK's stream state."""
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    for chunk in chunks:
        list(state.handle_chunk(ChatCompletionChunk.model_validate(chunk)))
    dumped: Json = state.get_final_completion().model_dump(mode="json", exclude_none=True)
    return dumped


@pytest.fixture
def anthropic_tool_stream() -> list[tuple[str, Json]]:
    """A realistic Anthropic text + tool_use stream."""
    return [(name, dict(data)) for name, data in ANTHROPIC_TOOL_STREAM]


@pytest.fixture
def anthropic_tool_message() -> Json:
    """The non-streaming equivalent of `anthropic_tool_stream`."""
    return dict(ANTHROPIC_TOOL_MESSAGE)


@pytest.fixture
def anthropic_accumulator() -> Callable[[Iterable[tuple[str, Mapping[str, Any]]]], Json]:
    """The anthropic SDK's stream accumulator as a function."""
    return accumulate_anthropic


@pytest.fixture
def openai_accumulator() -> Callable[[Iterable[Mapping[str, Any]]], Json]:
    """The openai SDK's chunk accumulator as a function."""
    return accumulate_openai
