"""Non-streaming responses, usage accounting and error bodies."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx2
import openai
import pytest
from anthropic.types import Message
from anthropic.types.shared import ErrorResponse
from openai.types.chat import ChatCompletion

from proxy.formats import TranslationError, Usage, anthropic_usage, openai_usage
from proxy.formats.anthropic_response import (
    anthropic_error_body,
    anthropic_message_id,
    anthropic_to_openai_chat_response,
    openai_chat_response_to_anthropic,
    openai_completion_id,
    openai_error_body,
)

Json = dict[str, Any]


def to_openai(resp: Json) -> Json:
    out = anthropic_to_openai_chat_response(resp, model="my-alias", created=1700000000)
    ChatCompletion.model_validate(out)
    return out


def to_anthropic(resp: Json) -> Json:
    out = openai_chat_response_to_anthropic(resp, model="my-alias")
    Message.model_validate(out)
    return out


def anthropic_message(content: list[Json], stop_reason: str = "end_turn", **usage: int) -> Json:
    return {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 6, **usage},
    }


def openai_completion(
    message: Json, finish_reason: str = "stop", usage: Json | None = None
) -> Json:
    return {
        "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
        "object": "chat.completion",
        "created": 1741570283,
        "model": "gpt-4o-2024-08-06",
        "choices": [
            {"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}
        ],
        "usage": usage or {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25},
    }


def test_text_blocks_are_concatenated_into_message_content() -> None:
    resp = anthropic_message([{"type": "text", "text": "Hello"}, {"type": "text", "text": "!"}])
    out = to_openai(resp)
    assert out["id"] == "chatcmpl-01XFDUDYJgAACzvnptvVoYEL"
    assert out["model"] == "my-alias"
    assert out["object"] == "chat.completion"
    assert out["choices"][0]["message"] == {
        "role": "assistant",
        "content": "Hello!",
        "refusal": None,
    }
    assert out["choices"][0]["finish_reason"] == "stop"


def test_tool_use_blocks_become_tool_calls_and_content_is_null_without_text(
    anthropic_tool_message: Json,
) -> None:
    resp = dict(anthropic_tool_message, content=anthropic_tool_message["content"][1:])
    message = to_openai(resp)["choices"][0]["message"]
    assert message["content"] is None
    assert message["tool_calls"] == [
        {
            "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
            "type": "function",
            "function": {
                "name": "get_weather",
                "arguments": '{"location":"San Francisco, CA","unit":"c"}',
            },
        }
    ]


def test_thinking_blocks_are_not_exposed_as_content() -> None:
    content = [
        {"type": "thinking", "thinking": "secret", "signature": "s"},
        {"type": "text", "text": "Answer"},
    ]
    assert to_openai(anthropic_message(content))["choices"][0]["message"]["content"] == "Answer"


@pytest.mark.parametrize(
    ("stop_reason", "finish_reason"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("pause_turn", "stop"),
    ],
)
def test_stop_reason_maps_to_finish_reason(stop_reason: str, finish_reason: str) -> None:
    resp = anthropic_message([{"type": "text", "text": "x"}], stop_reason)
    assert to_openai(resp)["choices"][0]["finish_reason"] == finish_reason


def test_anthropic_usage_counts_cache_reads_and_writes_as_prompt_tokens() -> None:
    resp = anthropic_message(
        [{"type": "text", "text": "x"}],
        cache_read_input_tokens=100,
        cache_creation_input_tokens=30,
    )
    assert to_openai(resp)["usage"] == {
        "prompt_tokens": 142,
        "completion_tokens": 6,
        "total_tokens": 148,
        "prompt_tokens_details": {"cached_tokens": 100, "cache_write_tokens": 30},
    }


def test_anthropic_usage_helper_keeps_cache_write_and_thinking_tokens() -> None:
    usage = anthropic_usage(
        {
            "input_tokens": 10,
            "cache_read_input_tokens": None,
            "cache_creation_input_tokens": 5,
            "output_tokens": 50,
            "output_tokens_details": {"thinking_tokens": 20},
        }
    )
    assert usage == Usage(
        prompt_tokens=15,
        completion_tokens=50,
        cached_tokens=0,
        cache_write_tokens=5,
        reasoning_tokens=20,
    )
    assert usage.total_tokens == 65


def test_openai_usage_helper_reads_token_details() -> None:
    usage = openai_usage(
        {
            "prompt_tokens": 2006,
            "completion_tokens": 300,
            "total_tokens": 2306,
            "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 256, "audio_tokens": 0},
        }
    )
    assert usage == Usage(
        prompt_tokens=2006, completion_tokens=300, cached_tokens=1920, reasoning_tokens=256
    )
    assert openai_usage(None) == Usage()
    assert openai_usage({"prompt_tokens": 1, "completion_tokens": 2}).cached_tokens == 0


def test_usage_is_frozen() -> None:
    with pytest.raises(AttributeError):
        Usage().prompt_tokens = 3  # type: ignore[misc]


def test_openai_response_translates_to_anthropic_message() -> None:
    message = {
        "role": "assistant",
        "content": "Sure.",
        "refusal": None,
        "tool_calls": [
            {
                "id": "call_9",
                "type": "function",
                "function": {"name": "lookup", "arguments": '{"q": "x"}'},
            }
        ],
    }
    usage = {
        "prompt_tokens": 120,
        "completion_tokens": 9,
        "total_tokens": 129,
        "prompt_tokens_details": {"cached_tokens": 100},
    }
    out = to_anthropic(openai_completion(message, "tool_calls", usage))
    assert out == {
        "id": "msg_B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
        "type": "message",
        "role": "assistant",
        "model": "my-alias",
        "content": [
            {"type": "text", "text": "Sure."},
            {"type": "tool_use", "id": "call_9", "name": "lookup", "input": {"q": "x"}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 20,
            "output_tokens": 9,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 100,
        },
    }


@pytest.mark.parametrize(
    ("finish_reason", "stop_reason"),
    [
        ("stop", "end_turn"),
        ("length", "max_tokens"),
        ("tool_calls", "tool_use"),
        ("function_call", "tool_use"),
        ("content_filter", "refusal"),
    ],
)
def test_finish_reason_maps_to_stop_reason(finish_reason: str, stop_reason: str) -> None:
    resp = openai_completion({"role": "assistant", "content": "x"}, finish_reason)
    assert to_anthropic(resp)["stop_reason"] == stop_reason


def test_openai_refusal_becomes_text_with_refusal_stop_reason() -> None:
    resp = openai_completion({"role": "assistant", "content": None, "refusal": "I can't."})
    out = to_anthropic(resp)
    assert out["content"] == [{"type": "text", "text": "I can't."}]
    assert out["stop_reason"] == "refusal"


def test_malformed_tool_arguments_from_openai_raise_with_param() -> None:
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{oops"}}
    resp = openai_completion({"role": "assistant", "content": None, "tool_calls": [call]})
    with pytest.raises(TranslationError) as info:
        to_anthropic(resp)
    assert info.value.param == "choices[0].message.tool_calls[0]"


def test_openai_response_without_choices_is_rejected() -> None:
    with pytest.raises(TranslationError):
        openai_chat_response_to_anthropic({"id": "x", "choices": []}, model="m")


def test_responses_round_trip_preserving_tool_ids_and_usage(anthropic_tool_message: Json) -> None:
    openai_resp = to_openai(anthropic_tool_message)
    back = to_anthropic(openai_resp)
    assert back["id"] == anthropic_tool_message["id"]
    assert back["content"] == anthropic_tool_message["content"]
    assert back["stop_reason"] == "tool_use"
    assert back["usage"] == anthropic_tool_message["usage"]


def test_ids_convert_reversibly() -> None:
    assert anthropic_message_id(openai_completion_id("msg_abc")) == "msg_abc"
    assert openai_completion_id(anthropic_message_id("chatcmpl-xyz")) == "chatcmpl-xyz"


@pytest.mark.parametrize(
    ("status", "error_type", "code"),
    [
        (400, "invalid_request_error", None),
        (401, "invalid_request_error", "invalid_api_key"),
        (403, "permission_error", None),
        (404, "invalid_request_error", None),
        (413, "invalid_request_error", None),
        (429, "rate_limit_error", "rate_limit_exceeded"),
        (500, "server_error", None),
        (503, "server_error", None),
    ],
)
def test_openai_error_body_types_by_status(status: int, error_type: str, code: str | None) -> None:
    body = openai_error_body(status, "nope", param="messages[0]")
    assert body == {
        "error": {"message": "nope", "type": error_type, "param": "messages[0]", "code": code}
    }


def test_openai_error_body_quota_and_explicit_overrides() -> None:
    quota = openai_error_body(429, "You exceeded your current quota", code="insufficient_quota")
    assert quota["error"]["type"] == "insufficient_quota"
    custom = openai_error_body(
        404, "no model", type="invalid_request_error", code="model_not_found"
    )
    assert custom["error"]["code"] == "model_not_found"


def test_openai_sdk_parses_our_error_body_into_its_exception() -> None:
    # Both SDKs are built on httpx2 in these versions.
    response = httpx2.Response(
        401,
        json=openai_error_body(401, "Incorrect API key provided"),
        request=httpx2.Request("POST", "https://gateway.test/v1/chat/completions"),
    )
    error = openai.OpenAI(api_key="k")._make_status_error_from_response(response)
    assert isinstance(error, openai.AuthenticationError)
    assert (error.code, error.type) == ("invalid_api_key", "invalid_request_error")
    assert "Incorrect API key provided" in error.message


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (400, "invalid_request_error"),
        (401, "authentication_error"),
        (402, "billing_error"),
        (403, "permission_error"),
        (404, "not_found_error"),
        (413, "request_too_large"),
        (422, "invalid_request_error"),
        (429, "rate_limit_error"),
        (500, "api_error"),
        (502, "api_error"),
        (503, "overloaded_error"),
        (504, "timeout_error"),
        (529, "overloaded_error"),
    ],
)
def test_anthropic_error_body_types_by_status(status: int, error_type: str) -> None:
    body = anthropic_error_body(status, "nope", code="quota")
    assert body == {
        "type": "error",
        "error": {"type": error_type, "message": "nope", "code": "quota"},
    }
    if error_type != "request_too_large":  # documented, but not in the SDK's error union
        ErrorResponse.model_validate(body)


def test_anthropic_sdk_parses_our_error_body_into_its_exception() -> None:
    response = httpx2.Response(
        529,
        json=anthropic_error_body(529, "Overloaded"),
        request=httpx2.Request("POST", "https://gateway.test/v1/messages"),
    )
    error = anthropic.Anthropic(api_key="k")._make_status_error_from_response(response)
    assert isinstance(error, anthropic.OverloadedError)
    assert error.type == "overloaded_error"
