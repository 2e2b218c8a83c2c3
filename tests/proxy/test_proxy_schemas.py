"""Body validation: OpenAI-style `param` paths, and refusing smuggled upstream overrides."""

from __future__ import annotations

from typing import Any

import pytest

from proxy.errors import GatewayError
from proxy.schemas import (
    ChatCompletionRequest,
    EmbeddingRequest,
    MessagesRequest,
    find_smuggled,
    param_path,
    validate,
)

MESSAGES = [{"role": "user", "content": "hi"}]


def _param(schema: Any, body: Any) -> str | None:
    with pytest.raises(GatewayError) as caught:
        validate(schema, body)
    assert caught.value.status == 400
    return caught.value.param


@pytest.mark.parametrize(
    ("loc", "expected"),
    [
        (("messages", 0, "role"), "messages[0].role"),
        (("messages", 2, "content", "list[ContentPart]", 1, "type"), "messages[2].content[1].type"),
        (("stop", "str"), "stop"),
        (("temperature",), "temperature"),
        (("input", "list[list[int]]", 0, 3), "input[0][3]"),
        ((), ""),
    ],
)  # fmt: skip
def test_param_path(loc, expected):
    assert param_path(loc) == expected


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": MESSAGES}, "model"),
        ({"model": "m"}, "messages"),
        ({"model": "m", "messages": []}, "messages"),
        ({"model": "m", "messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role"),
        ({"model": "m", "messages": [{"content": "x"}]}, "messages[0].role"),
        ({"model": "m", "messages": [{"role": "user", "content": [{"text": "x"}]}]}, "messages[0].content[0].type"),
        ({"model": "m", "messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
        ({"model": "m", "messages": MESSAGES, "temperature": 3}, "temperature"),
        ({"model": "m", "messages": MESSAGES, "top_p": -0.1}, "top_p"),
        ({"model": "m", "messages": MESSAGES, "n": 0}, "n"),
        ({"model": "m", "messages": MESSAGES, "max_tokens": 0}, "max_tokens"),
        ({"model": "m", "messages": MESSAGES, "stream": "yes please"}, "stream"),
        ({"model": "m", "messages": MESSAGES, "stop": 7}, "stop"),
        ({"model": "", "messages": MESSAGES}, "model"),
    ],
)  # fmt: skip
def test_chat_validation_names_the_param(body, param):
    assert _param(ChatCompletionRequest, body) == param


def test_valid_chat_with_unknown_fields_passes():
    body = {
        "model": "m",
        "messages": [
            {"role": "system", "content": "be nice"},
            {"role": "user", "content": [{"type": "text", "text": "hi"}]},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "c1", "type": "function"}],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "42"},
        ],
        "response_format": {"type": "json_object"},
        "seed": 1,
        "brand_new_field": {"anything": [1, 2]},
    }
    validate(ChatCompletionRequest, body)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "m"}, "input"),
        ({"model": "m", "input": {"text": "x"}}, "input"),
        ({"model": "m", "input": "x", "dimensions": 0}, "dimensions"),
        ({"model": "m", "input": "x", "encoding_format": "hex"}, "encoding_format"),
    ],
)
def test_embedding_validation_names_the_param(body, param):
    assert _param(EmbeddingRequest, body) == param


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "m", "messages": MESSAGES}, "max_tokens"),
        ({"model": "m", "max_tokens": 5, "messages": [{"role": "system", "content": "x"}]}, "messages[0].role"),
        ({"model": "m", "max_tokens": 5, "messages": MESSAGES, "temperature": 1.5}, "temperature"),
        ({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [{}]}]}, "messages[0].content[0].type"),
    ],
)  # fmt: skip
def test_messages_validation_names_the_param(body, param):
    assert _param(MessagesRequest, body) == param


def test_non_object_body_is_refused():
    assert _param(ChatCompletionRequest, [1, 2]) is None


# ---------------------------------------------------------------------------- smuggling


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"api_base": "x"}, "api_base"),
        ({"base_url": "x"}, "base_url"),
        ({"api_key": "x"}, "api_key"),
        ({"metadata": {"api_key": "x"}}, "metadata.api_key"),
        ({"extra_body": {"azure_endpoint": "x"}}, "extra_body.azure_endpoint"),
        ({"messages": [{"role": "user"}, {"role": "user", "headers": {}}]}, "messages[1].headers"),
        ({"a": [[{"b": {"custom_llm_provider": "x"}}]]}, "a[0][0].b.custom_llm_provider"),
        ({"tools": [{"type": "function", "api_base": "x"}]}, "tools[0].api_base"),
    ],
)
def test_find_smuggled_reports_the_path(body, path):
    assert find_smuggled(body) == path


def test_property_names_inside_json_schemas_are_not_smuggling():
    body = {
        "model": "m",
        "messages": MESSAGES,
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "login",
                    "parameters": {"type": "object", "properties": {"api_key": {}, "base_url": {}}},
                },
            },
            {"name": "anthropic_tool", "input_schema": {"properties": {"api_key": {}}}},
        ],
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "x", "schema": {"properties": {"organization": {}}}},
        },
    }
    assert find_smuggled(body) is None
    validate(ChatCompletionRequest, body)


def test_smuggled_field_is_a_400_with_the_param():
    body = {"model": "m", "messages": MESSAGES, "metadata": {"api_base": "http://x"}}
    with pytest.raises(GatewayError) as caught:
        validate(ChatCompletionRequest, body)
    assert (caught.value.status, caught.value.code) == (400, "forbidden_parameter")
    assert caught.value.param == "metadata.api_base"
