"""Response translation (non-streaming) and error bodies for OpenAI Chat <-> Anthropic Messages."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import orjson

from proxy.formats import TranslationError, Usage, anthropic_usage, dumps_json, openai_usage

__all__ = [
    "ANTHROPIC_TO_OPENAI_FINISH",
    "OPENAI_TO_ANTHROPIC_STOP",
    "anthropic_error_body",
    "anthropic_message_id",
    "anthropic_to_openai_chat_response",
    "anthropic_usage",
    "anthropic_usage_dict",
    "openai_chat_response_to_anthropic",
    "openai_completion_id",
    "openai_error_body",
    "openai_usage_dict",
    "tool_use_to_openai_call",
]

Json = dict[str, Any]

ANTHROPIC_TO_OPENAI_FINISH: dict[str, str] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    # Ran out of context rather than out of the max_tokens budget: still a truncation.
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
    # pause_turn only happens with Anthropic server tools, which we never send; the
    # closest Chat Completions meaning is "the model stopped".
    "pause_turn": "stop",
}

OPENAI_TO_ANTHROPIC_STOP: dict[str, str] = {
    # OpenAI does not say whether a stop sequence matched, so "stop" is a natural end.
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}


def openai_completion_id(anthropic_id: str) -> str:
    """Derive a `chatcmpl-` id from an Anthropic `msg_` id (reversible)."""
    return "chatcmpl-" + anthropic_id.removeprefix("msg_")


def anthropic_message_id(openai_id: str) -> str:
    """Derive a `msg_` id from an OpenAI `chatcmpl-` id (reversible)."""
    return "msg_" + openai_id.removeprefix("chatcmpl-")


def openai_usage_dict(usage: Usage) -> Json:
    """Render `Usage` as an OpenAI `usage` object."""
    prompt_details: Json = {"cached_tokens": usage.cached_tokens}
    if usage.cache_write_tokens:
        prompt_details["cache_write_tokens"] = usage.cache_write_tokens
    out: Json = {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": prompt_details,
    }
    if usage.reasoning_tokens:
        out["completion_tokens_details"] = {"reasoning_tokens": usage.reasoning_tokens}
    return out


def anthropic_usage_dict(usage: Usage) -> Json:
    """Render `Usage` as an Anthropic `usage` object (input excludes cache reads/writes)."""
    uncached = usage.prompt_tokens - usage.cached_tokens - usage.cache_write_tokens
    return {
        "input_tokens": max(uncached, 0),
        "output_tokens": usage.completion_tokens,
        "cache_creation_input_tokens": usage.cache_write_tokens,
        "cache_read_input_tokens": usage.cached_tokens,
    }


# --------------------------------------------------------------------------- Anthropic -> OpenAI


def anthropic_to_openai_chat_response(
    resp: Mapping[str, Any], *, model: str, created: int | None = None
) -> Json:
    """Translate an Anthropic Message into an OpenAI chat.completion object."""
    texts: list[str] = []
    calls: list[Json] = []
    for block in resp.get("content") or []:
        if block.get("type") == "text":
            texts.append(block.get("text", ""))
        elif block.get("type") == "tool_use":
            calls.append(tool_use_to_openai_call(block))
        # thinking/redacted_thinking have no Chat Completions field; citations metadata and
        # server-tool blocks (never requested by this gateway) are dropped likewise.
    message: Json = {
        "role": "assistant",
        # Chat Completions uses null, not "", for a tool-call-only answer.
        "content": "".join(texts) if texts else None,
        "refusal": None,
    }
    if calls:
        message["tool_calls"] = calls
    choice = {"index": 0, "message": message, "finish_reason": _finish(resp), "logprobs": None}
    return {
        "id": openai_completion_id(str(resp.get("id", ""))),
        "object": "chat.completion",
        "created": int(time.time()) if created is None else created,
        "model": model,
        "choices": [choice],
        "usage": openai_usage_dict(anthropic_usage(resp.get("usage"))),
    }


def tool_use_to_openai_call(block: Mapping[str, Any]) -> Json:
    """Render an Anthropic tool_use block as an OpenAI tool call (compact JSON arguments)."""
    return {
        "id": block.get("id"),
        "type": "function",
        "function": {"name": block.get("name"), "arguments": dumps_json(block.get("input") or {})},
    }


def _finish(resp: Mapping[str, Any]) -> str:
    return ANTHROPIC_TO_OPENAI_FINISH.get(str(resp.get("stop_reason")), "stop")


# --------------------------------------------------------------------------- OpenAI -> Anthropic


def openai_chat_response_to_anthropic(resp: Mapping[str, Any], *, model: str) -> Json:
    """Translate an OpenAI chat.completion object into an Anthropic Message."""
    choices = resp.get("choices") or []
    if not choices:
        raise TranslationError("Upstream response has no choices.", "choices")
    choice = choices[0]
    message = choice.get("message") or {}
    content: list[Json] = []
    # A structured-output refusal is what the user sees, so it becomes text.
    text = message.get("content") or message.get("refusal")
    if text:
        content.append({"type": "text", "text": text})
    for j, call in enumerate(message.get("tool_calls") or []):
        content.append(_tool_use(call, f"choices[0].message.tool_calls[{j}]"))
    stop_reason = OPENAI_TO_ANTHROPIC_STOP.get(str(choice.get("finish_reason")), "end_turn")
    if message.get("refusal") and not message.get("content"):
        stop_reason = "refusal"
    return {
        "id": anthropic_message_id(str(resp.get("id", ""))),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": anthropic_usage_dict(openai_usage(resp.get("usage"))),
    }


def _tool_use(call: Mapping[str, Any], param: str) -> Json:
    function = call.get("function") or {}
    try:
        arguments = orjson.loads(function.get("arguments") or "{}")
    except orjson.JSONDecodeError as exc:
        # Non-strict OpenAI tool calls can be malformed; Anthropic needs an object.
        raise TranslationError(f"Tool call arguments are not valid JSON: {exc}", param) from exc
    if not isinstance(arguments, dict):
        raise TranslationError("Tool call arguments are not a JSON object.", param)
    return {
        "type": "tool_use",
        "id": call.get("id"),
        "name": function.get("name"),
        "input": arguments,
    }


# --------------------------------------------------------------------------- error bodies

_OPENAI_ERROR_TYPES = {
    400: "invalid_request_error",
    # OpenAI reports a bad key as invalid_request_error with code "invalid_api_key".
    401: "invalid_request_error",
    403: "permission_error",
    404: "invalid_request_error",
    429: "rate_limit_error",
}
_OPENAI_DEFAULT_CODES = {401: "invalid_api_key", 429: "rate_limit_exceeded"}

_ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "overloaded_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def openai_error_body(
    status: int,
    message: str,
    *,
    type: str | None = None,
    code: str | None = None,
    param: str | None = None,
) -> Json:
    """Build an OpenAI-style error body `{"error": {message, type, param, code}}`."""
    if code is None:
        code = _OPENAI_DEFAULT_CODES.get(status)
    error_type = type
    if error_type is None:
        if code == "insufficient_quota":
            error_type = "insufficient_quota"  # OpenAI repeats this code as the type
        elif status >= 500:
            error_type = "server_error"
        else:
            error_type = _OPENAI_ERROR_TYPES.get(status, "invalid_request_error")
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


def anthropic_error_body(status: int, message: str, *, code: str | None = None) -> Json:
    """Build an Anthropic-style error body `{"type": "error", "error": {type, message, code}}`."""
    default = "api_error" if status >= 500 else "invalid_request_error"
    error_type = _ANTHROPIC_ERROR_TYPES.get(status, default)
    # Anthropic's own errors have no `code`; it is extra detail the SDK ignores.
    return {"type": "error", "error": {"type": error_type, "message": message, "code": code}}
