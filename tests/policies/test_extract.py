from __future__ import annotations

import json

from policies.engine import compile_policy
from policies.extract import (
    apply_redacted,
    segments_from_anthropic_messages,
    segments_from_embeddings,
    segments_from_openai_chat,
)

OPENAI = {
    "model": "gpt-x",
    "max_tokens": 300,
    "messages": [
        {"role": "system", "content": "be nice"},
        {
            "role": "user",
            "name": "bob",
            "content": [
                {"type": "text", "text": "mail a@example.com"},
                {"type": "image_url", "image_url": {}},
            ],
        },
        {
            "role": "assistant",
            "tool_calls": [{"function": {"name": "send", "arguments": '{"to":"a@example.com"}'}}],
        },
    ],
    "tools": [{"type": "function", "function": {"name": "send"}}],
}


def test_openai_segments_paths_roles_and_tools() -> None:
    inp = segments_from_openai_chat(OPENAI)
    assert [(s.path, s.role) for s in inp.segments] == [
        ("messages[0].content", "system"),
        ("messages[1].content[0].text", "user"),
        ("messages[1].name", "user"),
        ("messages[2].tool_calls[0].function.arguments", "assistant"),
    ]
    assert inp.tool_names == ("send",)
    assert inp.max_tokens == 300


def test_apply_redacted_writes_back_to_a_copy() -> None:
    policy = compile_policy(
        {"name": "p", "rules": [{"id": "pii", "detector": "pii", "action": "redact"}]}
    )
    inp = segments_from_openai_chat(OPENAI)
    red, _ = policy.redact(inp, policy.evaluate(inp))
    out = apply_redacted(OPENAI, red)
    assert out["messages"][1]["content"][0]["text"] == "mail [EMAIL_1]"
    assert json.loads(out["messages"][2]["tool_calls"][0]["function"]["arguments"]) == {
        "to": "[EMAIL_1]"
    }
    assert OPENAI["messages"][1]["content"][0]["text"] == "mail a@example.com"


ANTHROPIC = {
    "max_tokens": 1024,
    "system": [{"type": "text", "text": "sys"}],
    "messages": [
        {"role": "user", "content": "hi"},
        {
            "role": "assistant",
            "content": [
                {
                    "type": "tool_use",
                    "id": "t1",
                    "name": "lookup",
                    "input": {"email": "a@example.com"},
                }
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "t1",
                    "content": [{"type": "text", "text": "found"}],
                }
            ],
        },
    ],
    "tools": [{"name": "lookup", "input_schema": {}}],
}


def test_anthropic_segments_and_tool_use_json_round_trip() -> None:
    inp = segments_from_anthropic_messages(ANTHROPIC)
    assert [s.path for s in inp.segments] == [
        "system[0].text",
        "messages[0].content",
        "messages[1].content[0].input",
        "messages[2].content[0].content[0].text",
    ]
    assert inp.segments[2].text == '{"email":"a@example.com"}'
    assert inp.tool_names == ("lookup",)
    policy = compile_policy(
        {"name": "p", "rules": [{"id": "pii", "detector": "pii", "action": "redact"}]}
    )
    red, _ = policy.redact(inp, policy.evaluate(inp))
    out = apply_redacted(ANTHROPIC, red)
    assert out["messages"][1]["content"][0]["input"] == {"email": "[EMAIL_1]"}


def test_anthropic_system_string() -> None:
    inp = segments_from_anthropic_messages({"system": "s", "messages": []})
    assert inp.segments[0].path == "system"


def test_embeddings_string_and_list() -> None:
    assert segments_from_embeddings({"input": "x"}).segments[0].path == "input"
    inp = segments_from_embeddings({"input": ["a", [1, 2], "b"]})
    assert [s.path for s in inp.segments] == ["input[0]", "input[2]"]
