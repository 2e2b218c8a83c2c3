"""Request translation: Anthropic Messages -> OpenAI Chat Completions.

Used when an app calls the gateway's `/v1/messages` and the route targets an
OpenAI-format provider.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from proxy.formats._validate import Json, expect_dict, expect_list, fail
from proxy.formats.anthropic_response import tool_use_to_openai_call

__all__ = ["anthropic_messages_to_openai_chat"]

# `thinking` and `top_k` have no OpenAI Chat equivalent and only shape sampling/reasoning;
# cache_control (top-level or on blocks) is a cost hint. The others are Anthropic serving
# options (tiers, regions, speed, diagnostics) that cannot alter a correct answer.
_ANTHROPIC_DROPPED = frozenset(
    {
        "thinking",
        "top_k",
        "cache_control",
        "service_tier",
        "inference_geo",
        "speed",
        "diagnostics",
    }
)
_ANTHROPIC_HANDLED = frozenset(
    {
        "model",
        "messages",
        "max_tokens",
        "system",
        "metadata",
        "stop_sequences",
        "stream",
        "temperature",
        "top_p",
        "tools",
        "tool_choice",
    }
)


def anthropic_messages_to_openai_chat(
    body: Mapping[str, Any],
    *,
    max_tokens_param: Literal["max_tokens", "max_completion_tokens"] = "max_completion_tokens",
) -> Json:
    """Translate an Anthropic Messages request body into an OpenAI chat.completions body."""
    _check_anthropic_params(body)
    # `max_completion_tokens` is the current OpenAI name (reasoning models reject
    # `max_tokens`); routes to older OpenAI-compatible servers can ask for `max_tokens`.
    out: Json = {"model": body.get("model"), "messages": _anthropic_messages(body)}
    if body.get("max_tokens") is not None:
        out[max_tokens_param] = body["max_tokens"]
    for key in ("temperature", "top_p"):
        if body.get(key) is not None:
            out[key] = body[key]
    if body.get("stop_sequences"):
        out["stop"] = list(body["stop_sequences"])
    out.update(_anthropic_tools(body))
    metadata = body.get("metadata")
    user_id = expect_dict(metadata, "metadata").get("user_id") if metadata else None
    if user_id:
        out["user"] = user_id
    if body.get("stream"):
        # Anthropic streams always end with usage; OpenAI only sends it when asked.
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}
    return out


def _check_anthropic_params(body: Mapping[str, Any]) -> None:
    for key, value in body.items():
        if key in _ANTHROPIC_DROPPED or value is None or key in _ANTHROPIC_HANDLED:
            continue
        if key == "output_config":
            _check_output_config(expect_dict(value, key))
            continue
        # e.g. mcp_servers, container, context_management: features of Anthropic's
        # platform that an OpenAI-format provider cannot honour.
        raise fail(f"Parameter '{key}' is not supported for this model.", key)


def _check_output_config(config: Json) -> None:
    # `effort` is a reasoning-depth hint, dropped like OpenAI's `reasoning_effort` is in the
    # other direction. A structured-output `format` is a contract on the answer's shape;
    # OpenAI's strict json_schema accepts a narrower schema dialect, so it is rejected
    # rather than risk a looser guarantee.
    for key, value in config.items():
        if key != "effort" and value is not None:
            raise fail(
                f"'output_config.{key}' is not supported for this model.", f"output_config.{key}"
            )


def _anthropic_messages(body: Mapping[str, Any]) -> list[Json]:
    out: list[Json] = []
    system = body.get("system")
    if system:
        out.append({"role": "system", "content": _anthropic_system(system, "system")})
    for i, message in enumerate(expect_list(body.get("messages"), "messages")):
        msg = expect_dict(message, f"messages[{i}]")
        role = msg.get("role")
        if role == "user":
            out.extend(_anthropic_user(msg.get("content"), f"messages[{i}].content"))
        elif role == "assistant":
            out.append(_anthropic_assistant(msg.get("content"), f"messages[{i}].content"))
        elif role == "system":
            # Mid-conversation system message (newer Messages API): it applies from this
            # point on, which is exactly what an in-place OpenAI system message means.
            content = _anthropic_system(msg.get("content"), f"messages[{i}].content")
            out.append({"role": "system", "content": content})
        else:
            raise fail(f"Unsupported message role '{role}'.", f"messages[{i}].role")
    return out


def _anthropic_system(system: Any, param: str) -> str | list[Json]:
    if isinstance(system, str):
        return system
    texts = _anthropic_texts(system, param)
    if len(texts) == 1:
        return texts[0]
    return [{"type": "text", "text": text} for text in texts]


def _anthropic_texts(blocks: Any, param: str) -> list[str]:
    texts = []
    for j, block in enumerate(expect_list(blocks, param)):
        block = expect_dict(block, f"{param}[{j}]")
        if block.get("type") != "text":
            raise fail(
                f"Unsupported content block type '{block.get('type')}'.", f"{param}[{j}].type"
            )
        texts.append(str(block.get("text", "")))
    return texts


def _anthropic_user(content: Any, param: str) -> list[Json]:
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    # OpenAI needs tool results as `tool` messages directly after the assistant's
    # tool_calls, so they are emitted before the rest of the user turn.
    tool_messages: list[Json] = []
    parts: list[Json] = []
    for j, block in enumerate(expect_list(content, param)):
        block = expect_dict(block, f"{param}[{j}]")
        if block.get("type") == "tool_result":
            tool_messages.append(_anthropic_tool_result(block, f"{param}[{j}]"))
        else:
            parts.append(_anthropic_user_part(block, f"{param}[{j}]"))
    if len(parts) == 1 and parts[0]["type"] == "text":
        tool_messages.append({"role": "user", "content": parts[0]["text"]})
    elif parts:
        tool_messages.append({"role": "user", "content": parts})
    return tool_messages


def _anthropic_user_part(block: Json, param: str) -> Json:
    kind = block.get("type")
    if kind == "text":
        return {"type": "text", "text": block.get("text", "")}
    if kind in ("image", "document"):
        source = expect_dict(block.get("source"), f"{param}.source")
        url = _anthropic_source_url(source, kind, f"{param}.source")
        if kind == "image":
            return {"type": "image_url", "image_url": {"url": url}}
        file: Json = {"file_data": url}
        if block.get("title"):
            file["filename"] = block["title"]
        return {"type": "file", "file": file}
    raise fail(f"Unsupported content block type '{kind}'.", f"{param}.type")


def _anthropic_source_url(source: Json, kind: str, param: str) -> str:
    if source.get("type") == "base64":
        return f"data:{source.get('media_type')};base64,{source.get('data')}"
    # OpenAI Chat fetches image URLs itself but has no URL form for files.
    if source.get("type") == "url" and kind == "image":
        return str(source.get("url"))
    raise fail(f"Unsupported {kind} source type '{source.get('type')}'.", f"{param}.type")


def _anthropic_tool_result(block: Json, param: str) -> Json:
    content = block.get("content")
    if content is None:
        text = ""
    elif isinstance(content, str):
        text = content
    else:
        # OpenAI tool messages carry text only; images in tool results cannot be sent.
        text = "\n".join(_anthropic_texts(content, f"{param}.content"))
    if block.get("is_error"):
        # OpenAI has no error flag on tool results; the model must still learn it failed.
        text = f"Error: {text}"
    return {"role": "tool", "tool_call_id": block.get("tool_use_id"), "content": text}


def _anthropic_assistant(content: Any, param: str) -> Json:
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    texts: list[str] = []
    calls: list[Json] = []
    for j, block in enumerate(expect_list(content, param)):
        block = expect_dict(block, f"{param}[{j}]")
        kind = block.get("type")
        if kind == "text":
            texts.append(str(block.get("text", "")))
        elif kind == "tool_use":
            calls.append(tool_use_to_openai_call(block))
        elif kind not in ("thinking", "redacted_thinking"):
            # Prior thinking is the model's private scratchpad and OpenAI Chat has no
            # field for it, so it is dropped; anything else would lose content.
            raise fail(f"Unsupported content block type '{kind}'.", f"{param}[{j}].type")
    message: Json = {"role": "assistant", "content": "".join(texts) if texts else None}
    if calls:
        message["tool_calls"] = calls
    return message


def _anthropic_tools(body: Mapping[str, Any]) -> Json:
    tools = [_anthropic_tool(tool, f"tools[{i}]") for i, tool in enumerate(body.get("tools") or [])]
    out: Json = {"tools": tools} if tools else {}
    choice = body.get("tool_choice")
    if choice is None:
        return out
    choice = expect_dict(choice, "tool_choice")
    kind = choice.get("type")
    mapping: dict[str, Any] = {"auto": "auto", "any": "required", "none": "none"}
    if kind == "tool":
        out["tool_choice"] = {"type": "function", "function": {"name": choice.get("name")}}
    elif kind in mapping:
        out["tool_choice"] = mapping[kind]
    else:
        raise fail(f"Unsupported tool_choice type '{kind}'.", "tool_choice.type")
    if choice.get("disable_parallel_tool_use") and tools:
        out["parallel_tool_calls"] = False
    return out


def _anthropic_tool(tool: Any, param: str) -> Json:
    tool = expect_dict(tool, param)
    # Server tools (web search, bash, code execution, ...) carry a versioned `type` and run
    # inside Anthropic; an OpenAI-format provider cannot execute them.
    if tool.get("type") not in (None, "custom"):
        raise fail(f"Unsupported tool type '{tool.get('type')}'.", f"{param}.type")
    function: Json = {"name": tool.get("name")}
    if tool.get("description"):
        function["description"] = tool["description"]
    function["parameters"] = tool.get("input_schema") or {"type": "object", "properties": {}}
    if tool.get("strict"):
        function["strict"] = True
    return {"type": "function", "function": function}
