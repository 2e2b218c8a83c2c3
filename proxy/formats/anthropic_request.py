"""Request translation: OpenAI Chat Completions -> Anthropic Messages.

Rejects (with `TranslationError`) anything whose meaning would be lost and drops only knobs
that cannot change what a client sees in a correct response. The reverse direction lives in
`openai_request` and is re-exported here so both request translators import from one place.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from proxy.formats._validate import Json, expect_dict, expect_list, fail
from proxy.formats.openai_request import anthropic_messages_to_openai_chat

__all__ = ["anthropic_messages_to_openai_chat", "openai_chat_to_anthropic"]

# Sampling/serving hints with no Anthropic equivalent. Dropping them cannot make a correct
# answer incorrect: penalties/logit_bias only nudge token choice, `seed` is best-effort even
# on OpenAI, and the rest are caching, storage, latency or tier hints of OpenAI's own
# platform. `reasoning_effort`/`verbosity` are quality hints for OpenAI reasoning models; we
# do not map them to Anthropic `thinking`, which changes max_tokens and temperature rules.
_OPENAI_DROPPED = frozenset(
    {
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "logit_bias",
        "metadata",
        "store",
        "service_tier",
        "prediction",
        "prompt_cache_key",
        "prompt_cache_retention",
        "prompt_cache_options",
        "reasoning_effort",
        "verbosity",
        "stream_options",  # consumed by the stream converter (include_usage), not upstream
    }
)
_OPENAI_HANDLED = frozenset(
    {
        "model",
        "messages",
        "max_tokens",
        "max_completion_tokens",
        "temperature",
        "top_p",
        "stop",
        "stream",
        "n",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "user",
        "safety_identifier",
        "response_format",
        "logprobs",
        "top_logprobs",
        "modalities",
    }
)
_IMAGE_MEDIA_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
_DATA_URL = re.compile(r"^data:(?P<media>[\w.+-]+/[\w.+-]+)(?P<params>(;[^;,]*)*);base64,")


# --------------------------------------------------------------------------- OpenAI -> Anthropic


def openai_chat_to_anthropic(
    body: Mapping[str, Any],
    *,
    upstream_model: str,
    default_max_tokens: int,
    clamp_temperature: bool = False,
    sampling_params: bool = True,
) -> Json:
    """Translate an OpenAI chat.completions request body into an Anthropic Messages body."""
    _check_openai_params(body)
    system, messages = _openai_messages(expect_list(body.get("messages"), "messages"))
    out: Json = {"model": upstream_model, "max_tokens": _max_tokens(body, default_max_tokens)}
    if system is not None:
        out["system"] = system
    out["messages"] = messages
    out.update(_openai_sampling(body, clamp_temperature, sampling_params))
    out.update(_openai_tools(body))
    user_id = body.get("safety_identifier") or body.get("user")
    if user_id:
        out["metadata"] = {"user_id": str(user_id)}
    if body.get("stream") is not None:
        out["stream"] = bool(body["stream"])
    return out


def _check_openai_params(body: Mapping[str, Any]) -> None:
    for key, value in body.items():
        if key in _OPENAI_DROPPED or value is None:
            continue
        if key not in _OPENAI_HANDLED:
            # OpenAI itself rejects unknown arguments; silently ignoring one could hide a
            # feature (audio, web search, moderation, legacy functions) the app relies on.
            raise fail(f"Parameter '{key}' is not supported for this model.", key)
    if body.get("n") not in (None, 1):
        raise fail("Only n=1 is supported for this model.", "n")
    if body.get("logprobs") or body.get("top_logprobs") is not None:
        param = "logprobs" if body.get("logprobs") else "top_logprobs"
        raise fail("Log probabilities are not supported for this model.", param)
    modalities = body.get("modalities")
    if modalities is not None and list(modalities) != ["text"]:
        raise fail("Only the 'text' output modality is supported.", "modalities")
    fmt = body.get("response_format")
    if fmt is not None and expect_dict(fmt, "response_format").get("type") != "text":
        # Anthropic's plain Messages API has no JSON mode; emulating one with prompts or a
        # forced tool would silently change the contract the app asked for.
        raise fail("response_format other than 'text' is not supported.", "response_format.type")


def _max_tokens(body: Mapping[str, Any], default: int) -> int:
    for key in ("max_completion_tokens", "max_tokens"):
        value = body.get(key)
        if value is not None:
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise fail(f"'{key}' must be a positive integer.", key)
            return value
    # Anthropic requires max_tokens while OpenAI defaults to "as much as fits".
    return default


def _openai_sampling(body: Mapping[str, Any], clamp_temperature: bool, sampling: bool) -> Json:
    out: Json = {}
    temperature = _temperature(body.get("temperature"), clamp_temperature) if sampling else None
    # Newer Claude models (Opus 4.7+, Sonnet 5; the anthropic SDK 2.x no longer even has
    # the fields) reject temperature/top_p outright. For routes to those models the caller
    # passes sampling_params=False and the knobs are dropped: the provider offers no way to
    # honour them, and the model then samples at its defaults.
    if temperature is not None:
        out["temperature"] = temperature
    if sampling and body.get("top_p") is not None:
        out["top_p"] = body["top_p"]
    stop = body.get("stop")
    if stop is not None:
        out["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    return out


def _temperature(value: Any, clamp: bool) -> float | None:
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise fail("'temperature' must be a number.", "temperature")
    # OpenAI accepts 0..2, Anthropic 0..1. The shared range means the same in both (1 is the
    # default of both), so it passes through unscaled; scaling would make every request
    # colder. Above 1 there is no faithful value: reject unless the route opted into
    # clamping (which is what Anthropic's own OpenAI-compatible endpoint does).
    if value > 1 and not clamp:
        raise fail("temperature above 1 is not supported for this model.", "temperature")
    return min(float(value), 1.0)


def _openai_messages(raw: list[Any]) -> tuple[str | list[Json] | None, list[Json]]:
    system: list[Json] = []
    turns: list[Json] = []
    for i, message in enumerate(raw):
        msg = expect_dict(message, f"messages[{i}]")
        role = msg.get("role")
        if role in ("system", "developer"):
            # All system/developer messages are hoisted, in order, into the top-level
            # `system`. Anthropic's in-place `role: "system"` messages exist only on recent
            # models and with placement rules (after a user turn, before an assistant turn),
            # so hoisting is the portable choice; it moves a late instruction earlier.
            system.extend(_text_blocks(msg.get("content"), f"messages[{i}].content"))
            continue
        converter = _ROLE_CONVERTERS.get(role) if isinstance(role, str) else None
        if converter is None:
            raise fail(f"Unsupported message role '{role}'.", f"messages[{i}].role")
        turn = converter(msg, f"messages[{i}]")
        if turn is not None:
            _append_turn(turns, turn)
    return _system_value(system), turns


def _system_value(blocks: list[Json]) -> str | list[Json] | None:
    if not blocks:
        return None
    if len(blocks) == 1:
        return str(blocks[0]["text"])
    return blocks


def _append_turn(turns: list[Json], turn: Json) -> None:
    # Anthropic requires user/assistant alternation; OpenAI does not (parallel tool results
    # arrive as several `tool` messages), so consecutive same-role turns are merged.
    if not turns or turns[-1]["role"] != turn["role"]:
        turns.append(turn)
        return
    blocks = _as_blocks(turns[-1]["content"]) + _as_blocks(turn["content"])
    # Anthropic rejects a user turn where text precedes tool_result blocks.
    blocks.sort(key=lambda block: block.get("type") != "tool_result")
    turns[-1] = {"role": turn["role"], "content": blocks}


def _as_blocks(content: str | list[Json]) -> list[Json]:
    return [{"type": "text", "text": content}] if isinstance(content, str) else list(content)


def _text_blocks(content: Any, param: str) -> list[Json]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    blocks = []
    for j, part in enumerate(expect_list(content, param)):
        part = expect_dict(part, f"{param}[{j}]")
        if part.get("type") != "text":
            raise fail(f"Unsupported content part type '{part.get('type')}'.", f"{param}[{j}].type")
        blocks.append({"type": "text", "text": part.get("text", "")})
    return blocks


def _user_turn(msg: Json, param: str) -> Json:
    # `name` has no Anthropic equivalent; it is a hint only, so it is dropped.
    content = msg.get("content")
    if isinstance(content, str):
        return {"role": "user", "content": content}
    parts = expect_list(content, f"{param}.content")
    blocks = [_user_part(part, f"{param}.content[{j}]") for j, part in enumerate(parts)]
    return {"role": "user", "content": blocks}


def _user_part(part: Any, param: str) -> Json:
    part = expect_dict(part, param)
    kind = part.get("type")
    if kind == "text":
        return {"type": "text", "text": part.get("text", "")}
    if kind == "image_url":
        image = expect_dict(part.get("image_url"), f"{param}.image_url")
        # `detail` is an OpenAI resolution hint; Anthropic picks resolution itself.
        return {
            "type": "image",
            "source": _image_source(image.get("url"), f"{param}.image_url.url"),
        }
    if kind == "file":
        return _file_block(expect_dict(part.get("file"), f"{param}.file"), f"{param}.file")
    raise fail(f"Unsupported content part type '{kind}'.", f"{param}.type")


def _image_source(url: Any, param: str) -> Json:
    if not isinstance(url, str):
        raise fail("Image URL must be a string.", param)
    if url.startswith("data:"):
        media_type, data = _parse_data_url(url, param)
        if media_type not in _IMAGE_MEDIA_TYPES:
            raise fail(f"Unsupported image media type '{media_type}'.", param)
        return {"type": "base64", "media_type": media_type, "data": data}
    if url.startswith(("https://", "http://")):
        return {"type": "url", "url": url}
    raise fail("Image URL must be an http(s) or base64 data URL.", param)


def _parse_data_url(url: str, param: str) -> tuple[str, str]:
    match = _DATA_URL.match(url)
    if match is None:
        raise fail("Only base64-encoded data URLs are supported.", param)
    return match.group("media").lower(), url[match.end() :]


def _file_block(file: Json, param: str) -> Json:
    # Only inline PDFs translate: Anthropic cannot read OpenAI's Files API (`file_id`).
    file_data = file.get("file_data")
    if not isinstance(file_data, str):
        raise fail("Only inline 'file_data' files are supported.", f"{param}.file_data")
    media_type, data = _parse_data_url(file_data, f"{param}.file_data")
    if media_type != "application/pdf":
        raise fail(f"Unsupported file media type '{media_type}'.", f"{param}.file_data")
    block: Json = {
        "type": "document",
        "source": {"type": "base64", "media_type": media_type, "data": data},
    }
    if file.get("filename"):
        block["title"] = file["filename"]
    return block


def _assistant_turn(msg: Json, param: str) -> Json | None:
    if msg.get("function_call") is not None:
        raise fail(
            "Legacy 'function_call' is not supported; use 'tool_calls'.", f"{param}.function_call"
        )
    if msg.get("audio") is not None:
        raise fail("Assistant audio is not supported.", f"{param}.audio")
    blocks = _assistant_text(msg.get("content"), f"{param}.content")
    calls = msg.get("tool_calls") or []
    for j, call in enumerate(expect_list(calls, f"{param}.tool_calls")):
        blocks.append(_tool_use_block(call, f"{param}.tool_calls[{j}]"))
    if not blocks:
        return None  # an empty assistant turn carries nothing; Anthropic would reject it
    if len(blocks) == 1 and blocks[0]["type"] == "text":
        return {"role": "assistant", "content": blocks[0]["text"]}
    return {"role": "assistant", "content": blocks}


def _assistant_text(content: Any, param: str) -> list[Json]:
    if content is None or content == "":
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    blocks = []
    for j, part in enumerate(expect_list(content, param)):
        part = expect_dict(part, f"{param}[{j}]")
        # A prior refusal is, to the model, simply what the assistant said.
        key = {"text": "text", "refusal": "refusal"}.get(str(part.get("type")))
        if key is None:
            raise fail(f"Unsupported content part type '{part.get('type')}'.", f"{param}[{j}].type")
        blocks.append({"type": "text", "text": part.get(key, "")})
    return blocks


def _tool_use_block(call: Any, param: str) -> Json:
    call = expect_dict(call, param)
    if call.get("type", "function") != "function":
        raise fail(f"Unsupported tool call type '{call.get('type')}'.", f"{param}.type")
    function = expect_dict(call.get("function"), f"{param}.function")
    arguments = function.get("arguments") or "{}"  # some clients send "" for no-arg calls
    try:
        parsed = orjson.loads(arguments)
    except orjson.JSONDecodeError as exc:
        raise fail(
            f"Tool call arguments are not valid JSON: {exc}", f"{param}.function.arguments"
        ) from exc
    if not isinstance(parsed, dict):
        raise fail("Tool call arguments must be a JSON object.", f"{param}.function.arguments")
    return {"type": "tool_use", "id": call.get("id"), "name": function.get("name"), "input": parsed}


def _tool_turn(msg: Json, param: str) -> Json:
    tool_call_id = msg.get("tool_call_id")
    if not isinstance(tool_call_id, str) or not tool_call_id:
        raise fail("Tool messages need a 'tool_call_id'.", f"{param}.tool_call_id")
    content = msg.get("content")
    result: str | list[Json] = (
        content if isinstance(content, str) else _text_blocks(content, f"{param}.content")
    )
    block = {"type": "tool_result", "tool_use_id": tool_call_id, "content": result}
    return {"role": "user", "content": [block]}


_ROLE_CONVERTERS: dict[str, Callable[[Json, str], Json | None]] = {
    "user": _user_turn,
    "assistant": _assistant_turn,
    "tool": _tool_turn,
}


def _openai_tools(body: Mapping[str, Any]) -> Json:
    tools = [_openai_tool(tool, f"tools[{i}]") for i, tool in enumerate(body.get("tools") or [])]
    choice = _openai_tool_choice(body.get("tool_choice"))
    if not tools:
        if choice is not None and choice["type"] in ("any", "tool"):
            raise fail("tool_choice requires 'tools'.", "tool_choice")
        return {}
    if body.get("parallel_tool_calls") is False:
        choice = choice or {"type": "auto"}
        # tool_choice "none" has no disable_parallel_tool_use (and no calls to limit).
        if choice["type"] != "none":
            choice["disable_parallel_tool_use"] = True
    return {"tools": tools, "tool_choice": choice} if choice else {"tools": tools}


def _openai_tool(tool: Any, param: str) -> Json:
    tool = expect_dict(tool, param)
    if tool.get("type") != "function":
        raise fail(f"Unsupported tool type '{tool.get('type')}'.", f"{param}.type")
    function = expect_dict(tool.get("function"), f"{param}.function")
    out: Json = {"name": function.get("name")}
    if function.get("description"):
        out["description"] = function["description"]
    # OpenAI allows omitting `parameters` (= no arguments); Anthropic requires a schema.
    out["input_schema"] = function.get("parameters") or {"type": "object", "properties": {}}
    if function.get("strict"):
        out["strict"] = True
    return out


def _openai_tool_choice(choice: Any) -> Json | None:
    if choice is None:
        return None
    simple = {"auto": "auto", "none": "none", "required": "any"}
    if isinstance(choice, str) and choice in simple:
        return {"type": simple[choice]}
    if isinstance(choice, dict) and choice.get("type") == "function":
        name = expect_dict(choice.get("function"), "tool_choice.function").get("name")
        return {"type": "tool", "name": name}
    # "allowed_tools" and custom-tool choices have no Anthropic equivalent.
    raise fail("Unsupported tool_choice.", "tool_choice")
