"""OpenAI chat.completion.chunk dicts -> Anthropic stream events."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import orjson
import pydantic
from anthropic.types import RawMessageStreamEvent
from hypothesis import given, settings
from hypothesis import strategies as st

from proxy.formats import Usage, openai_usage
from proxy.formats.anthropic_response import openai_chat_response_to_anthropic
from proxy.formats.anthropic_stream import AnthropicToOpenAIStream, OpenAIToAnthropicStream

Json = dict[str, Any]
AnthropicAccumulator = Callable[[Iterable[tuple[str, Mapping[str, Any]]]], Json]
OpenAIAccumulator = Callable[[Iterable[Mapping[str, Any]]], Json]

_RAW_EVENT: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(RawMessageStreamEvent)
MESSAGE_ID = "msg_B9MHDbslfkBeAs8l4bebGdFOJ6PeG"


def chunk(delta: Json | None = None, finish_reason: str | None = None, **extra: Any) -> Json:
    """An OpenAI chunk shaped like the API sends it (with stream_options.include_usage)."""
    choices = (
        []
        if delta is None
        else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]
    )
    return {
        "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
        "object": "chat.completion.chunk",
        "created": 1741570283,
        "model": "gpt-4o-2024-08-06",
        "system_fingerprint": "fp_f9f4fb6dbf",
        "choices": choices,
        "usage": None,
        **extra,
    }


def tool_delta(
    index: int, arguments: str, call_id: str | None = None, name: str | None = None
) -> Json:
    call: Json = {"index": index, "function": {"arguments": arguments}}
    if call_id is not None:
        call.update(id=call_id, type="function")
        call["function"]["name"] = name
    return {"tool_calls": [call]}


USAGE = {
    "prompt_tokens": 120,
    "completion_tokens": 30,
    "total_tokens": 150,
    "prompt_tokens_details": {"cached_tokens": 64, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
}


def openai_tool_chunks(text_pieces: list[str], args_a: list[str], args_b: list[str]) -> list[Json]:
    chunks = [chunk({"role": "assistant", "content": "", "refusal": None})]
    chunks += [chunk({"content": piece}) for piece in text_pieces]
    chunks.append(chunk(tool_delta(0, "", "call_DdmO9pD3xa9XTPNJ32zg2hcA", "get_weather")))
    chunks += [chunk(tool_delta(0, piece)) for piece in args_a]
    chunks.append(chunk(tool_delta(1, "", "call_ABC", "get_time")))
    chunks += [chunk(tool_delta(1, piece)) for piece in args_b]
    chunks.append(chunk({}, "tool_calls"))
    chunks.append(chunk(None, usage=USAGE))
    return chunks


def run(chunks: list[Json]) -> tuple[list[tuple[str, Json]], OpenAIToAnthropicStream]:
    stream = OpenAIToAnthropicStream(model="my-alias", message_id=MESSAGE_ID)
    events = [event for c in chunks for event in stream.feed(c)] + stream.finish()
    for name, data in events:
        assert name == data["type"]
        _RAW_EVENT.validate_python(data)
    return events, stream


def test_event_sequence_has_the_documented_order() -> None:
    events, _ = run(
        [chunk({"role": "assistant", "content": ""}), chunk({"content": "Hi"}), chunk({}, "stop")]
    )
    assert [name for name, _ in events] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    start = events[0][1]["message"]
    assert (start["id"], start["model"], start["content"]) == (MESSAGE_ID, "my-alias", [])
    assert events[1][1]["content_block"] == {"type": "text", "text": ""}
    assert events[2][1]["delta"] == {"type": "text_delta", "text": "Hi"}
    assert events[4][1]["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}


def test_tool_call_stream_accumulates_to_the_non_streaming_translation(
    anthropic_accumulator: AnthropicAccumulator, openai_accumulator: OpenAIAccumulator
) -> None:
    chunks = openai_tool_chunks(["Let me ", "check."], ['{"city":', '"Oslo"}'], ["{}"])
    events, stream = run(chunks)
    streamed = anthropic_accumulator(events)
    # The same answer, accumulated by the openai SDK, translated without streaming.
    completion = openai_accumulator(chunks)
    direct = openai_chat_response_to_anthropic(completion, model="my-alias")
    assert streamed["content"] == direct["content"]
    assert streamed["content"][1]["id"] == "call_DdmO9pD3xa9XTPNJ32zg2hcA"
    assert streamed["stop_reason"] == direct["stop_reason"] == "tool_use"
    assert (
        streamed["usage"]
        == direct["usage"]
        == {
            "input_tokens": 56,
            "output_tokens": 30,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 64,
        }
    )
    assert stream.usage == Usage(prompt_tokens=120, completion_tokens=30, cached_tokens=64)


def test_each_tool_call_gets_its_own_block_and_text_block_is_closed_first() -> None:
    events, _ = run(openai_tool_chunks(["Hi"], ["{}"], ["{}"]))
    starts = [
        (d["index"], d["content_block"]["type"]) for n, d in events if n == "content_block_start"
    ]
    stops = [d["index"] for n, d in events if n == "content_block_stop"]
    assert starts == [(0, "text"), (1, "tool_use"), (2, "tool_use")]
    assert stops == [0, 1, 2]
    order = [(n, d.get("index")) for n, d in events if n.startswith("content_block_")]
    assert order.index(("content_block_stop", 0)) < order.index(("content_block_start", 1))


def test_text_after_tool_call_opens_a_new_text_block() -> None:
    chunks = [
        chunk(tool_delta(0, "{}", "call_1", "f")),
        chunk({"content": "done"}),
        chunk({}, "stop"),
    ]
    events, _ = run(chunks)
    starts = [d["content_block"]["type"] for n, d in events if n == "content_block_start"]
    assert starts == ["tool_use", "text"]


def test_finish_without_any_chunk_still_yields_a_valid_message(
    anthropic_accumulator: AnthropicAccumulator,
) -> None:
    events, _ = run([])
    assert [name for name, _ in events] == ["message_start", "message_delta", "message_stop"]
    assert anthropic_accumulator(events)["content"] == []


def test_finish_is_idempotent() -> None:
    stream = OpenAIToAnthropicStream(model="m", message_id=MESSAGE_ID)
    stream.feed(chunk({"content": "x"}))
    assert stream.finish()
    assert stream.finish() == []


def test_missing_tool_call_id_gets_a_stable_fallback() -> None:
    chunks = [chunk({"tool_calls": [{"index": 0, "function": {"name": "f", "arguments": "{}"}}]})]
    events, _ = run(chunks)
    block = next(d["content_block"] for n, d in events if n == "content_block_start")
    assert block["id"] == f"toolu_{MESSAGE_ID}_0"


def test_length_and_refusal_finish_reasons(anthropic_accumulator: AnthropicAccumulator) -> None:
    events, _ = run([chunk({"content": "partial"}), chunk({}, "length")])
    assert anthropic_accumulator(events)["stop_reason"] == "max_tokens"
    events, _ = run([chunk({"refusal": "I can't help."}), chunk({}, "stop")])
    message = anthropic_accumulator(events)
    assert message["stop_reason"] == "refusal"
    assert message["content"] == [{"type": "text", "text": "I can't help."}]


def test_tool_ids_survive_round_trip_through_both_stream_converters(
    openai_accumulator: OpenAIAccumulator,
) -> None:
    """OpenAI chunks -> Anthropic events -> OpenAI chunks gives back the same completion."""
    chunks = openai_tool_chunks(["Hm"], ['{"a":', "1}"], ['{"b":2}'])
    events, _ = run(chunks)
    back = AnthropicToOpenAIStream(model="gpt-4o-2024-08-06", include_usage=True)
    rechunked = [c for name, data in events for c in back.feed(name, data)]
    original, round_tripped = openai_accumulator(chunks), openai_accumulator(rechunked)
    assert round_tripped["choices"] == original["choices"]
    # Only the billing-relevant counters survive (audio token details have no equivalent).
    assert openai_usage(round_tripped["usage"]) == openai_usage(original["usage"])


@settings(max_examples=75, deadline=None)
@given(
    text=st.text(max_size=40),
    args=st.dictionaries(
        st.text(max_size=5), st.integers(-(2**53), 2**53) | st.text(max_size=8), max_size=4
    ),
    text_cuts=st.lists(st.integers(min_value=0, max_value=40), max_size=6),
    args_cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=8),
)
def test_resplitting_openai_deltas_does_not_change_the_accumulated_message(
    text: str, args: Json, text_cuts: list[int], args_cuts: list[int]
) -> None:
    from anthropic.lib.streaming._messages import accumulate_event

    arguments = orjson.dumps(args).decode()
    whole = openai_tool_chunks([text], [arguments], ["{}"])
    split = openai_tool_chunks(_split(text, text_cuts), _split(arguments, args_cuts), ["{}"])

    def final(chunks: list[Json]) -> Json:
        snapshot, bufs = None, {}  # type: ignore[var-annotated]
        for _, data in run(chunks)[0]:
            snapshot = accumulate_event(
                event=_RAW_EVENT.validate_python(data), current_snapshot=snapshot, json_bufs=bufs
            )
        assert snapshot is not None
        dumped: Json = snapshot.model_dump(mode="json", exclude_none=True)
        return dumped

    result = final(split)
    assert result == final(whole)
    weather = next(b for b in result["content"] if b.get("name") == "get_weather")
    assert weather["input"] == args


def _split(text: str, cuts: list[int]) -> list[str]:
    points = sorted({min(cut, len(text)) for cut in cuts})
    bounds = [0, *points, len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
