"""Anthropic Messages request -> OpenAI chat.completions request, and round trips."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from openai.resources.chat.completions import Completions
from openai.types import chat as oc
from openai.types.chat.chat_completion_content_part_param import File
from openai.types.chat.chat_completion_named_tool_choice_param import Function as NamedFunction
from openai.types.shared_params import FunctionDefinition

from proxy.formats import TranslationError
from proxy.formats.anthropic_request import (
    anthropic_messages_to_openai_chat,
    openai_chat_to_anthropic,
)

Json = dict[str, Any]

_MESSAGE_TYPES: dict[str, Any] = {
    "system": oc.ChatCompletionSystemMessageParam,
    "user": oc.ChatCompletionUserMessageParam,
    "assistant": oc.ChatCompletionAssistantMessageParam,
    "tool": oc.ChatCompletionToolMessageParam,
}
_PART_TYPES: dict[str, Any] = {
    "text": oc.ChatCompletionContentPartTextParam,
    "image_url": oc.ChatCompletionContentPartImageParam,
    "file": File,
}


def _assert_typed_dict(value: Json, typed_dict: Any) -> None:
    keys = set(value)
    assert typed_dict.__required_keys__ <= keys, (typed_dict.__name__, value)
    assert keys <= typed_dict.__required_keys__ | typed_dict.__optional_keys__, value


def assert_valid_openai_request(body: Json) -> None:
    """Check every emitted field name against the openai SDK's own definitions."""
    params = set(inspect.signature(Completions.create).parameters)
    params -= {"self", "extra_headers", "extra_query", "extra_body", "timeout"}
    assert set(body) <= params
    for message in body["messages"]:
        _assert_typed_dict(message, _MESSAGE_TYPES[message["role"]])
        content = message.get("content")
        for part in content if isinstance(content, list) else []:
            _assert_typed_dict(part, _PART_TYPES[part["type"]])
        for call in message.get("tool_calls", []):
            _assert_typed_dict(call, oc.ChatCompletionMessageFunctionToolCallParam)
    for tool in body.get("tools", []):
        _assert_typed_dict(tool, oc.ChatCompletionFunctionToolParam)
        _assert_typed_dict(tool["function"], FunctionDefinition)
    if isinstance(body.get("tool_choice"), dict):
        _assert_typed_dict(body["tool_choice"], oc.ChatCompletionNamedToolChoiceParam)
        _assert_typed_dict(body["tool_choice"]["function"], NamedFunction)


def translate(body: Json, **kwargs: Any) -> Json:
    out = anthropic_messages_to_openai_chat(
        {"model": "claude-x", "max_tokens": 100, **body}, **kwargs
    )
    assert_valid_openai_request(out)
    return out


def translation_error(body: Json) -> TranslationError:
    with pytest.raises(TranslationError) as info:
        anthropic_messages_to_openai_chat({"model": "m", "max_tokens": 1, **body})
    return info.value


USER = {"role": "user", "content": "Hi"}


def test_system_string_and_blocks_become_system_message() -> None:
    out = translate({"system": "Be brief.", "messages": [USER]})
    assert out["messages"][0] == {"role": "system", "content": "Be brief."}
    blocks = [
        {"type": "text", "text": "A", "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "B"},
    ]
    out = translate({"system": blocks, "messages": [USER]})
    assert out["messages"][0] == {
        "role": "system",
        "content": [{"type": "text", "text": "A"}, {"type": "text", "text": "B"}],
    }


def test_mid_conversation_system_message_stays_in_place() -> None:
    messages = [USER, {"role": "system", "content": "Now answer in French."}]
    out = translate({"messages": messages})
    assert out["messages"][1] == {"role": "system", "content": "Now answer in French."}


def test_max_tokens_uses_max_completion_tokens_by_default() -> None:
    assert translate({"messages": [USER]})["max_completion_tokens"] == 100
    legacy = translate({"messages": [USER]}, max_tokens_param="max_tokens")
    assert legacy["max_tokens"] == 100
    assert "max_completion_tokens" not in legacy


def test_image_blocks_become_image_url_parts() -> None:
    content = [
        {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/"}},
        {"type": "image", "source": {"type": "url", "url": "https://x.test/a.png"}},
        {"type": "text", "text": "Compare."},
    ]
    out = translate({"messages": [{"role": "user", "content": content}]})
    assert out["messages"][0]["content"] == [
        {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/"}},
        {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}},
        {"type": "text", "text": "Compare."},
    ]


def test_assistant_tool_use_becomes_tool_calls_with_compact_json_arguments() -> None:
    assistant = {
        "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": "hmm", "signature": "sig"},
            {"type": "text", "text": "Let me look."},
            {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": [1, 2], "b": "x"}},
        ],
    }
    out = translate({"messages": [USER, assistant]})
    assert out["messages"][1] == {
        "role": "assistant",
        "content": "Let me look.",
        "tool_calls": [
            {
                "id": "toolu_1",
                "type": "function",
                "function": {"name": "f", "arguments": '{"a":[1,2],"b":"x"}'},
            }
        ],
    }


def test_tool_only_assistant_turn_has_null_content() -> None:
    block = {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}
    out = translate({"messages": [USER, {"role": "assistant", "content": [block]}]})
    assert out["messages"][1]["content"] is None


def test_tool_results_become_tool_messages_before_remaining_user_content() -> None:
    content = [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"},
        {
            "type": "tool_result",
            "tool_use_id": "toolu_2",
            "content": [{"type": "text", "text": "line 1"}, {"type": "text", "text": "line 2"}],
        },
        {"type": "tool_result", "tool_use_id": "toolu_3", "content": "boom", "is_error": True},
        {"type": "tool_result", "tool_use_id": "toolu_4"},
        {"type": "text", "text": "And now?"},
    ]
    out = translate({"messages": [{"role": "user", "content": content}]})
    assert out["messages"] == [
        {"role": "tool", "tool_call_id": "toolu_1", "content": "sunny"},
        {"role": "tool", "tool_call_id": "toolu_2", "content": "line 1\nline 2"},
        {"role": "tool", "tool_call_id": "toolu_3", "content": "Error: boom"},
        {"role": "tool", "tool_call_id": "toolu_4", "content": ""},
        {"role": "user", "content": "And now?"},
    ]


def test_tools_and_tool_choice_mapping() -> None:
    schema = {"type": "object", "properties": {"q": {"type": "string"}}}
    tools = [{"name": "search", "description": "Search", "input_schema": schema}]
    cases = {
        "auto": "auto",
        "any": "required",
        "none": "none",
    }
    for kind, expected in cases.items():
        out = translate({"messages": [USER], "tools": tools, "tool_choice": {"type": kind}})
        assert out["tool_choice"] == expected
    named = {"type": "tool", "name": "search", "disable_parallel_tool_use": True}
    out = translate({"messages": [USER], "tools": tools, "tool_choice": named})
    assert out["tools"] == [
        {
            "type": "function",
            "function": {"name": "search", "description": "Search", "parameters": schema},
        }
    ]
    assert out["tool_choice"] == {"type": "function", "function": {"name": "search"}}
    assert out["parallel_tool_calls"] is False


def test_sampling_stop_user_and_stream_options() -> None:
    body = {
        "messages": [USER],
        "temperature": 0.3,
        "top_p": 0.8,
        "top_k": 40,
        "stop_sequences": ["\n\nHuman:"],
        "metadata": {"user_id": "u-1"},
        "stream": True,
        "thinking": {"type": "enabled", "budget_tokens": 2000},
        "output_config": {"effort": "high"},
    }
    out = translate(body)
    assert out["temperature"] == 0.3
    assert out["top_p"] == 0.8
    assert out["stop"] == ["\n\nHuman:"]
    assert out["user"] == "u-1"
    assert out["stream"] is True
    assert out["stream_options"] == {"include_usage": True}
    assert "top_k" not in out
    assert "thinking" not in out
    assert "reasoning_effort" not in out


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"tools": [{"type": "web_search_20250305", "name": "web_search"}]}, "tools[0].type"),
        ({"mcp_servers": [{"type": "url", "url": "https://x", "name": "x"}]}, "mcp_servers"),
        ({"tool_choice": {"type": "sometimes"}}, "tool_choice.type"),
        ({"metadata": "user-1"}, "metadata"),
        (
            {"output_config": {"format": {"type": "json_schema", "schema": {}}}},
            "output_config.format",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "tool_result",
                                "tool_use_id": "t",
                                "content": [{"type": "image", "source": {}}],
                            }
                        ],
                    }
                ]
            },
            "messages[0].content[0].content[0].type",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "search_result"}]}]},
            "messages[0].content[0].type",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "document", "source": {"type": "url", "url": "https://x"}}
                        ],
                    }
                ]
            },
            "messages[0].content[0].source.type",
        ),
    ],
)
def test_untranslatable_anthropic_input_raises_with_param(body: Json, param: str) -> None:
    assert translation_error({"messages": [USER], **body}).param == param


def test_openai_request_survives_round_trip_through_anthropic() -> None:
    """openai -> anthropic -> openai keeps tools, tool-call ids, images and stop."""
    original: Json = {
        "model": "claude-x",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Weather here?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                    {"type": "image_url", "image_url": {"url": "https://x.test/map.png"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_Zx81",
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"city":"Oslo"}'},
                    },
                    {
                        "id": "call_Zx82",
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"city":"Bergen"}'},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "call_Zx81", "content": "-3C"},
            {"role": "tool", "tool_call_id": "call_Zx82", "content": "4C"},
            {"role": "assistant", "content": "Cold."},
            {"role": "user", "content": "Thanks"},
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "weather",
                    "description": "Current weather",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                },
            }
        ],
        "tool_choice": {"type": "function", "function": {"name": "weather"}},
        "parallel_tool_calls": False,
        "stop": ["END", "STOP"],
        "max_completion_tokens": 300,
        "temperature": 0.4,
        "user": "user-7",
    }
    anthropic = openai_chat_to_anthropic(original, upstream_model="claude-x", default_max_tokens=1)
    back = translate(anthropic)
    assert back == original


def test_anthropic_request_survives_round_trip_through_openai() -> None:
    """anthropic -> openai -> anthropic keeps tool_use ids, tool results and images."""
    original: Json = {
        "model": "claude-x",
        "max_tokens": 512,
        "system": "Be helpful.",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Look"},
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/webp", "data": "UklG"},
                    },
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Checking"},
                    {"type": "tool_use", "id": "toolu_A", "name": "zoom", "input": {"x": 1}},
                ],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "toolu_A", "content": "ok"}],
            },
        ],
        "tools": [{"name": "zoom", "input_schema": {"type": "object", "properties": {}}}],
        "tool_choice": {"type": "any"},
        "stop_sequences": ["###"],
        "metadata": {"user_id": "u"},
        "stream": True,
    }
    openai_body = translate(original)
    back = openai_chat_to_anthropic(openai_body, upstream_model="claude-x", default_max_tokens=1)
    assert back == original
