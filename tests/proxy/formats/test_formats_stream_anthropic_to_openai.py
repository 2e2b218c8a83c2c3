"""Anthropic stream events -> OpenAI chat.completion.chunk dicts."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openai.types.chat import ChatCompletionChunk

from proxy.formats import UpstreamStreamError, Usage
from proxy.formats.anthropic_response import anthropic_to_openai_chat_response
from proxy.formats.anthropic_stream import AnthropicToOpenAIStream
from proxy.sse import SSEDecoder, encode_event

Json = dict[str, Any]
OpenAIAccumulator = Callable[[Iterable[Mapping[str, Any]]], Json]

CREATED = 1700000000


def convert(events: list[tuple[str, Json]], include_usage: bool = True) -> list[Json]:
    stream = AnthropicToOpenAIStream(model="my-alias", include_usage=include_usage, created=CREATED)
    chunks = [chunk for name, data in events for chunk in stream.feed(name, data)]
    for chunk in chunks:
        ChatCompletionChunk.model_validate(chunk)
    return chunks


def text_stream(*pieces: str, stop_reason: str = "end_turn") -> list[tuple[str, Json]]:
    events: list[tuple[str, Json]] = [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY",
                    "type": "message",
                    "role": "assistant",
                    "content": [],
                    "model": "claude-opus-4-6",
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {"input_tokens": 25, "output_tokens": 1},
                },
            },
        ),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
        ("ping", {"type": "ping"}),
    ]
    for piece in pieces:
        delta = {"type": "text_delta", "text": piece}
        events.append(
            ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta})
        )
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": 15},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return events


def test_first_chunk_carries_assistant_role_and_ids_derive_from_message_id() -> None:
    chunks = convert(text_stream("Hello", "!"))
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert {c["id"] for c in chunks} == {"chatcmpl-1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY"}
    assert {c["model"] for c in chunks} == {"my-alias"}


def test_text_deltas_finish_reason_and_final_usage_chunk() -> None:
    chunks = convert(text_stream("Hello", "!"))
    assert [c["choices"][0]["delta"].get("content") for c in chunks[1:3]] == ["Hello", "!"]
    assert chunks[3]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {
        "prompt_tokens": 25,
        "completion_tokens": 15,
        "total_tokens": 40,
        "prompt_tokens_details": {"cached_tokens": 0},
    }
    assert all(c["usage"] is None for c in chunks[:-1])


def test_without_include_usage_no_usage_chunk_is_sent() -> None:
    chunks = convert(text_stream("Hi"), include_usage=False)
    assert all(c["choices"] for c in chunks)
    assert all("usage" not in c for c in chunks)


@pytest.mark.parametrize(
    ("stop_reason", "finish_reason"),
    [("max_tokens", "length"), ("refusal", "content_filter"), ("stop_sequence", "stop")],
)
def test_stream_stop_reason_is_mapped(stop_reason: str, finish_reason: str) -> None:
    chunks = convert(text_stream("x", stop_reason=stop_reason))
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert [f for f in finishes if f] == [finish_reason]


def test_tool_use_stream_accumulates_to_the_non_streaming_translation(
    anthropic_tool_stream: list[tuple[str, Json]],
    anthropic_tool_message: Json,
    openai_accumulator: OpenAIAccumulator,
) -> None:
    streamed = openai_accumulator(convert(anthropic_tool_stream))
    direct = anthropic_to_openai_chat_response(
        anthropic_tool_message, model="my-alias", created=CREATED
    )
    message = streamed["choices"][0]["message"]
    assert message["content"] == direct["choices"][0]["message"]["content"]
    assert [
        (c["id"], c["function"]["name"], orjson.loads(c["function"]["arguments"]))
        for c in message["tool_calls"]
    ] == [
        (c["id"], c["function"]["name"], orjson.loads(c["function"]["arguments"]))
        for c in direct["choices"][0]["message"]["tool_calls"]
    ]
    assert streamed["choices"][0]["finish_reason"] == "tool_calls"
    assert streamed["usage"] == direct["usage"]


def test_tool_call_delta_indices_count_only_tool_blocks(
    anthropic_tool_stream: list[tuple[str, Json]],
) -> None:
    chunks = convert(anthropic_tool_stream)
    calls = [
        call
        for c in chunks
        if c["choices"]
        for call in c["choices"][0]["delta"].get("tool_calls", [])
    ]
    assert calls[0] == {
        "index": 0,
        "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
    }
    assert {call["index"] for call in calls} == {0}
    # The empty first input_json_delta produces no chunk.
    assert [call["function"]["arguments"] for call in calls[1:]] == [
        '{"location": "San Fra',
        'ncisco, CA", "unit": "c"}',
    ]


def test_usage_property_reflects_cache_and_cumulative_output(
    anthropic_tool_stream: list[tuple[str, Json]],
) -> None:
    stream = AnthropicToOpenAIStream(model="m", include_usage=False)
    for name, data in anthropic_tool_stream:
        stream.feed(name, data)
    assert stream.usage == Usage(
        prompt_tokens=582, completion_tokens=89, cached_tokens=100, cache_write_tokens=10
    )


def test_thinking_blocks_and_unknown_events_are_ignored() -> None:
    events = text_stream("Answer")
    thinking: list[tuple[str, Json]] = [
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "thinking", "thinking": "", "signature": ""},
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "thinking_delta", "thinking": "hmm"},
            },
        ),
        ("future_event", {"type": "future_event"}),
    ]
    chunks = convert(events[:1] + thinking + events[1:])
    contents = [c["choices"][0]["delta"].get("content") for c in chunks if c["choices"]]
    assert "".join(x for x in contents if x) == "Answer"


def test_error_event_raises_upstream_stream_error() -> None:
    stream = AnthropicToOpenAIStream(model="m", include_usage=True)
    stream.feed(*text_stream()[0])
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    with pytest.raises(UpstreamStreamError) as info:
        stream.feed("error", error)
    assert (info.value.message, info.value.error_type) == ("Overloaded", "overloaded_error")


def _wire(events: list[tuple[str, Json]]) -> bytes:
    return b"".join(encode_event(orjson.dumps(data), event=name) for name, data in events)


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(cut, len(data)) for cut in cuts})
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def _decode(chunks: list[bytes]) -> list[tuple[str, Json]]:
    decoder = SSEDecoder()
    events = [event for chunk in chunks for event in decoder.feed(chunk)]
    return [(event.event or "", orjson.loads(event.data)) for event in events]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=40))
def test_rechunking_the_sse_bytes_does_not_change_the_chunks(
    anthropic_tool_stream: list[tuple[str, Json]], cuts: list[int]
) -> None:
    expected = convert(anthropic_tool_stream)
    assert convert(_decode(_split(_wire(anthropic_tool_stream), cuts))) == expected


@settings(max_examples=60, deadline=None)
@given(pieces=st.lists(st.text(max_size=12), max_size=10))
def test_text_split_into_any_deltas_accumulates_to_the_same_content(
    pieces: list[str],
) -> None:
    chunks = convert(text_stream(*pieces))
    streamed = "".join(
        c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]
    )
    assert streamed == "".join(pieces)
