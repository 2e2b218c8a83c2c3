"""OpenAI chat.completions request -> Anthropic Messages request."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from anthropic import types as at
from anthropic.resources.messages import Messages

from proxy.formats import TranslationError
from proxy.formats.anthropic_request import openai_chat_to_anthropic

Json = dict[str, Any]

_BLOCK_TYPES: dict[str, Any] = {
    "text": at.TextBlockParam,
    "image": at.ImageBlockParam,
    "tool_use": at.ToolUseBlockParam,
    "tool_result": at.ToolResultBlockParam,
    "document": at.DocumentBlockParam,
}
_CHOICE_TYPES: dict[str, Any] = {
    "auto": at.ToolChoiceAutoParam,
    "any": at.ToolChoiceAnyParam,
    "tool": at.ToolChoiceToolParam,
    "none": at.ToolChoiceNoneParam,
}
# Documented Messages fields that anthropic SDK 2.x dropped from `create()` because the
# newest models reject them; older models still accept them on the wire.
_RAW_ONLY_FIELDS = {"temperature", "top_p"}


def _assert_typed_dict(value: Json, typed_dict: Any) -> None:
    keys = set(value)
    assert typed_dict.__required_keys__ <= keys, (typed_dict.__name__, value)
    assert keys <= typed_dict.__required_keys__ | typed_dict.__optional_keys__, value


def assert_valid_anthropic_request(body: Json) -> None:
    """Check every emitted field name against the anthropic SDK's own definitions."""
    params = set(inspect.signature(Messages.create).parameters)
    params -= {"self", "extra_headers", "extra_query", "extra_body", "timeout"}
    assert set(body) <= params | _RAW_ONLY_FIELDS
    assert {"model", "max_tokens", "messages"} <= set(body)
    for message in body["messages"]:
        role_type = {"user": at.UserMessageParam, "assistant": at.AssistantMessageParam}
        _assert_typed_dict(message, role_type[message["role"]])
        content = message["content"]
        for block in [] if isinstance(content, str) else content:
            _assert_typed_dict(block, _BLOCK_TYPES[block["type"]])
    for tool in body.get("tools", []):
        _assert_typed_dict(tool, at.ToolParam)
    if "tool_choice" in body:
        _assert_typed_dict(body["tool_choice"], _CHOICE_TYPES[body["tool_choice"]["type"]])
    if "metadata" in body:
        _assert_typed_dict(body["metadata"], at.MetadataParam)


def translate(body: Json, **kwargs: Any) -> Json:
    out = openai_chat_to_anthropic(
        {"model": "gpt-4o", **body}, upstream_model="claude-x", default_max_tokens=4096, **kwargs
    )
    assert_valid_anthropic_request(out)
    return out


def translation_error(body: Json, **kwargs: Any) -> TranslationError:
    with pytest.raises(TranslationError) as info:
        openai_chat_to_anthropic(
            {"model": "gpt-4o", **body},
            upstream_model="claude-x",
            default_max_tokens=4096,
            **kwargs,
        )
    return info.value


USER = {"role": "user", "content": "Hi"}


def test_system_and_developer_messages_become_top_level_system() -> None:
    out = translate({"messages": [{"role": "system", "content": "Be brief."}, USER]})
    assert out["system"] == "Be brief."
    assert out["messages"] == [{"role": "user", "content": "Hi"}]

    out = translate(
        {
            "messages": [
                {"role": "developer", "content": [{"type": "text", "text": "A"}]},
                USER,
                {"role": "system", "content": "B"},
            ]
        }
    )
    assert out["system"] == [{"type": "text", "text": "A"}, {"type": "text", "text": "B"}]


def test_model_is_replaced_by_upstream_model_and_default_max_tokens_applies() -> None:
    out = translate({"messages": [USER]})
    assert out["model"] == "claude-x"
    assert out["max_tokens"] == 4096


def test_max_completion_tokens_wins_over_max_tokens() -> None:
    assert translate({"messages": [USER], "max_tokens": 10})["max_tokens"] == 10
    both = {"messages": [USER], "max_tokens": 10, "max_completion_tokens": 20}
    assert translate(both)["max_tokens"] == 20


def test_non_positive_max_tokens_is_rejected_with_param() -> None:
    assert translation_error({"messages": [USER], "max_tokens": 0}).param == "max_tokens"


def test_user_text_and_image_parts_translate_to_blocks() -> None:
    content = [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"type": "image_url", "image_url": {"url": "https://x.test/cat.jpg", "detail": "high"}},
    ]
    out = translate({"messages": [{"role": "user", "content": content}]})
    assert out["messages"][0]["content"] == [
        {"type": "text", "text": "What is this?"},
        {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
        },
        {"type": "image", "source": {"type": "url", "url": "https://x.test/cat.jpg"}},
    ]


def test_inline_pdf_file_part_becomes_document_block() -> None:
    part = {
        "type": "file",
        "file": {"file_data": "data:application/pdf;base64,JVBE", "filename": "a.pdf"},
    }
    out = translate({"messages": [{"role": "user", "content": [part]}]})
    assert out["messages"][0]["content"] == [
        {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"},
            "title": "a.pdf",
        }
    ]


@pytest.mark.parametrize(
    ("part", "param"),
    [
        ({"type": "input_audio", "input_audio": {"data": "x", "format": "wav"}}, "type"),
        ({"type": "image_url", "image_url": {"url": "data:image/bmp;base64,AA"}}, "image_url.url"),
        ({"type": "image_url", "image_url": {"url": "data:image/png,rawbytes"}}, "image_url.url"),
        ({"type": "image_url", "image_url": {"url": "ftp://x.test/a.png"}}, "image_url.url"),
        ({"type": "file", "file": {"file_id": "file-abc"}}, "file.file_data"),
    ],
)
def test_untranslatable_user_parts_raise_with_param_path(part: Json, param: str) -> None:
    messages = [USER, {"role": "assistant", "content": "ok"}, {"role": "user", "content": [part]}]
    assert translation_error({"messages": messages}).param == f"messages[2].content[0].{param}"


def test_assistant_tool_calls_become_tool_use_blocks_with_ids_preserved() -> None:
    assistant = {
        "role": "assistant",
        "content": "Checking.",
        "tool_calls": [
            {
                "id": "call_abc",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
            },
            {"id": "call_def", "type": "function", "function": {"name": "now", "arguments": ""}},
        ],
    }
    out = translate({"messages": [USER, assistant]})
    assert out["messages"][1] == {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Checking."},
            {
                "type": "tool_use",
                "id": "call_abc",
                "name": "get_weather",
                "input": {"city": "Paris"},
            },
            {"type": "tool_use", "id": "call_def", "name": "now", "input": {}},
        ],
    }


@pytest.mark.parametrize("arguments", ['{"city": "Par', "[1, 2]"])
def test_invalid_tool_call_arguments_raise_with_param_path(arguments: str) -> None:
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": arguments}}
    messages = [USER, {"role": "assistant", "content": None, "tool_calls": [call]}]
    error = translation_error({"messages": messages})
    assert error.param == "messages[1].tool_calls[0].function.arguments"


def test_consecutive_tool_messages_merge_into_one_user_turn_of_tool_results() -> None:
    calls = [
        {"id": f"call_{i}", "type": "function", "function": {"name": "f", "arguments": "{}"}}
        for i in (1, 2)
    ]
    messages = [
        USER,
        {"role": "assistant", "content": None, "tool_calls": calls},
        {"role": "tool", "tool_call_id": "call_1", "content": "one"},
        {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "two"}]},
        {"role": "user", "content": "thanks"},
    ]
    out = translate({"messages": messages})
    assert [m["role"] for m in out["messages"]] == ["user", "assistant", "user"]
    assert out["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "call_1", "content": "one"},
        {
            "type": "tool_result",
            "tool_use_id": "call_2",
            "content": [{"type": "text", "text": "two"}],
        },
        {"type": "text", "text": "thanks"},
    ]


def test_consecutive_same_role_messages_are_merged_for_alternation() -> None:
    messages = [USER, {"role": "user", "content": [{"type": "text", "text": "again"}]}]
    out = translate({"messages": messages})
    assert out["messages"] == [
        {
            "role": "user",
            "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": "again"}],
        }
    ]


def test_empty_assistant_turn_is_skipped() -> None:
    messages = [USER, {"role": "assistant", "content": None}, {"role": "user", "content": "?"}]
    out = translate({"messages": messages})
    assert len(out["messages"]) == 1


def test_tool_message_without_tool_call_id_is_rejected() -> None:
    messages = [USER, {"role": "tool", "content": "x"}]
    assert translation_error({"messages": messages}).param == "messages[1].tool_call_id"


def test_function_tools_translate_to_anthropic_tools() -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather",
                "parameters": schema,
                "strict": True,
            },
        },
        {"type": "function", "function": {"name": "now"}},
    ]
    out = translate({"messages": [USER], "tools": tools})
    assert out["tools"] == [
        {"name": "get_weather", "description": "Weather", "input_schema": schema, "strict": True},
        {"name": "now", "input_schema": {"type": "object", "properties": {}}},
    ]


TOOLS = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", {"type": "auto"}),
        ("none", {"type": "none"}),
        ("required", {"type": "any"}),
        ({"type": "function", "function": {"name": "f"}}, {"type": "tool", "name": "f"}),
    ],
)
def test_tool_choice_mapping(choice: Any, expected: Json) -> None:
    out = translate({"messages": [USER], "tools": TOOLS, "tool_choice": choice})
    assert out["tool_choice"] == expected


def test_parallel_tool_calls_false_disables_parallel_tool_use() -> None:
    out = translate({"messages": [USER], "tools": TOOLS, "parallel_tool_calls": False})
    assert out["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    forced = {"messages": [USER], "tools": TOOLS, "tool_choice": "required"}
    out = translate({**forced, "parallel_tool_calls": False})
    assert out["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    out = translate({**forced, "parallel_tool_calls": True})
    assert out["tool_choice"] == {"type": "any"}


def test_tool_choice_without_tools() -> None:
    assert "tool_choice" not in translate({"messages": [USER], "tool_choice": "auto"})
    error = translation_error({"messages": [USER], "tool_choice": "required"})
    assert error.param == "tool_choice"


def test_unsupported_tool_types_are_rejected() -> None:
    tools = [{"type": "custom", "custom": {"name": "grammar"}}]
    assert translation_error({"messages": [USER], "tools": tools}).param == "tools[0].type"
    choice = {"type": "allowed_tools", "allowed_tools": {"mode": "auto", "tools": []}}
    error = translation_error({"messages": [USER], "tools": TOOLS, "tool_choice": choice})
    assert error.param == "tool_choice"


@pytest.mark.parametrize(("stop", "expected"), [("END", ["END"]), (["a", "b"], ["a", "b"])])
def test_stop_becomes_stop_sequences(stop: Any, expected: list[str]) -> None:
    assert translate({"messages": [USER], "stop": stop})["stop_sequences"] == expected


def test_temperature_in_shared_range_passes_through_unscaled() -> None:
    out = translate({"messages": [USER], "temperature": 0.7, "top_p": 0.9})
    assert (out["temperature"], out["top_p"]) == (0.7, 0.9)


def test_temperature_above_one_is_rejected_unless_route_clamps() -> None:
    assert translation_error({"messages": [USER], "temperature": 1.5}).param == "temperature"
    out = translate({"messages": [USER], "temperature": 1.5}, clamp_temperature=True)
    assert out["temperature"] == 1.0


def test_sampling_params_can_be_dropped_for_models_that_reject_them() -> None:
    # Even an out-of-range value is fine: it is not sent.
    body = {"messages": [USER], "temperature": 1.7, "top_p": 0.5}
    out = translate(body, sampling_params=False)
    assert "temperature" not in out
    assert "top_p" not in out


def test_stream_and_user_are_carried_over() -> None:
    out = translate({"messages": [USER], "stream": True, "user": "user-42"})
    assert out["stream"] is True
    assert out["metadata"] == {"user_id": "user-42"}
    out = translate({"messages": [USER], "user": "old", "safety_identifier": "new"})
    assert out["metadata"] == {"user_id": "new"}


def test_harmless_openai_only_knobs_are_dropped() -> None:
    body = {
        "messages": [USER],
        "seed": 1,
        "presence_penalty": 0.5,
        "frequency_penalty": 0.5,
        "logit_bias": {"50256": -100},
        "stream_options": {"include_usage": True},
        "store": False,
        "n": 1,
        "response_format": {"type": "text"},
    }
    assert set(translate(body)) == {"model", "max_tokens", "messages"}


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"n": 2}, "n"),
        ({"logprobs": True}, "logprobs"),
        ({"top_logprobs": 3}, "top_logprobs"),
        ({"response_format": {"type": "json_object"}}, "response_format.type"),
        (
            {"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}},
            "response_format.type",
        ),
        ({"modalities": ["text", "audio"]}, "modalities"),
        ({"functions": [{"name": "legacy"}]}, "functions"),
        ({"web_search_options": {}}, "web_search_options"),
        ({"no_such_param": 1}, "no_such_param"),
    ],
)
def test_untranslatable_parameters_raise_with_param(extra: Json, param: str) -> None:
    assert translation_error({"messages": [USER], **extra}).param == param


def test_missing_or_malformed_messages_raise_with_param() -> None:
    assert translation_error({}).param == "messages"
    assert translation_error({"messages": [{"role": "robot", "content": "x"}]}).param == (
        "messages[0].role"
    )
    bad_system = {"role": "system", "content": [{"type": "image_url", "image_url": {}}]}
    assert translation_error({"messages": [bad_system]}).param == "messages[0].content[0].type"


def test_translation_error_is_a_value_error_carrying_message_and_param() -> None:
    error = translation_error({"messages": [USER], "n": 3})
    assert isinstance(error, ValueError)
    assert "n=1" in error.message
    assert error.param == "n"
