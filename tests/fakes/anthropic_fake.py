"""Anthropic Messages API routes of the fake provider."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .core import (
    JSON,
    TOOL_ARGUMENTS,
    Ctx,
    FakeState,
    Handler,
    SSEWriter,
    apply_stop,
    count_words,
    endpoint,
    is_weather_request,
    json_response,
    send_partial_json,
    split_chunks,
    split_even,
    tool_arguments_json,
    truncate_words,
)

TOOL_USE_ID = "toolu_fake_1"
MODELS = ["claude-opus-4-6", "claude-haiku-4-5", "claude-sonnet-4-6"]
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}
_ERROR_MESSAGES = {429: "Number of requests has exceeded your rate limit.", 529: "Overloaded"}
_request_ids = itertools.count(1)


def anthropic_error(status: int, message: str | None = None) -> JSON:
    """Anthropic's error body for an HTTP status."""
    kind = _ERROR_TYPES.get(status, "api_error")
    return {
        "type": "error",
        "error": {"type": kind, "message": message or _ERROR_MESSAGES.get(status, "Error")},
        "request_id": f"req_fake{next(_request_ids)}",
    }


def _headers(state: FakeState) -> dict[str, str]:
    return {
        "request-id": f"req_fake{state.next_id()}",
        "anthropic-organization-id": "fake-org",
        "anthropic-ratelimit-requests-limit": "4000",
        "anthropic-ratelimit-requests-remaining": "3999",
    }


# ---------------------------------------------------------------------------- message logic


def _blocks_text(content: Any, *, tool_results: bool = True) -> str:
    """Text of a `content` (a string or blocks); tool_result contents count as text."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    parts = []
    for block in content:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text":
            parts.append(block.get("text", ""))
        elif block.get("type") == "tool_result" and tool_results:
            parts.append(_blocks_text(block.get("content")))
    return " ".join(parts)


@dataclass
class MessagePlan:
    """What the fake model will answer to one Messages request."""

    model: str
    text: str | None
    tool_name: str | None
    stop_reason: str
    stop_sequence: str | None
    input_tokens: int
    output_tokens: int


def plan_message(body: JSON) -> MessagePlan:
    """Decide the deterministic answer to a Messages API request."""
    model = body.get("model", "")
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    words = count_words(_blocks_text(body.get("system")))
    words += sum(count_words(_blocks_text(m.get("content"))) for m in messages)
    users = [m for m in messages if m.get("role") == "user"]
    last = users[-1].get("content") if users else ""
    own_text = _blocks_text(last, tool_results=False)
    # A user turn holding only tool results answers them instead of calling the tool again.
    tool_turn = not own_text and bool(_blocks_text(last))
    user_text = _blocks_text(last) if tool_turn else own_text
    tools = body.get("tools") or []
    no_tools = (body.get("tool_choice") or {}).get("type") == "none"
    if tools and not tool_turn and not no_tools and is_weather_request(user_text):
        name = tools[0].get("name", "tool")
        out = count_words(tool_arguments_json())
        return MessagePlan(model, None, name, "tool_use", None, words + 1, out)
    text, matched = apply_stop("echo: " + user_text, body.get("stop_sequences") or [])
    text, cut = truncate_words(text, body.get("max_tokens") if matched is None else None)
    reason = "stop_sequence" if matched is not None else "max_tokens" if cut else "end_turn"
    return MessagePlan(model, text, None, reason, matched, words + 1, count_words(text))


def _usage(input_tokens: int, output_tokens: int) -> JSON:
    return {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }


def message_object(plan: MessagePlan, message_id: str) -> JSON:
    """A non-streaming Message object."""
    content: list[JSON] = []
    if plan.tool_name:
        content.append(
            {"type": "tool_use", "id": TOOL_USE_ID, "name": plan.tool_name, "input": TOOL_ARGUMENTS}
        )
    elif plan.text:
        content.append({"type": "text", "text": plan.text})
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": plan.model,
        "content": content,
        "stop_reason": plan.stop_reason,
        "stop_sequence": plan.stop_sequence,
        "usage": _usage(plan.input_tokens, plan.output_tokens),
    }


async def stream_message(ctx: Ctx, plan: MessagePlan, message_id: str) -> web.StreamResponse:
    """Stream a message with the real event sequence of the Messages API."""
    overloaded = anthropic_error(529)
    overloaded.pop("request_id")
    writer = SSEWriter(ctx, error_event=lambda: ("error", overloaded))
    await writer.start()
    start = {
        **message_object(plan, message_id),
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        # The API reports 1 output token up front; message_delta carries the final total.
        "usage": _usage(plan.input_tokens, 1),
    }

    async def send(data: JSON) -> None:
        await writer.send(data, event=data["type"])

    await send({"type": "message_start", "message": start})
    parts = max(1, ctx.state.chunks)
    if plan.tool_name:
        block = {"type": "tool_use", "id": TOOL_USE_ID, "name": plan.tool_name, "input": {}}
        deltas = [
            {"type": "input_json_delta", "partial_json": piece}
            for piece in ["", *split_even(tool_arguments_json(), parts)]
        ]
    else:
        block = {"type": "text", "text": ""}
        deltas = [
            {"type": "text_delta", "text": piece} for piece in split_chunks(plan.text or "", parts)
        ]
    if deltas or plan.tool_name:
        await send({"type": "content_block_start", "index": 0, "content_block": block})
        await send({"type": "ping"})
        for delta in deltas:
            await send({"type": "content_block_delta", "index": 0, "delta": delta})
        await send({"type": "content_block_stop", "index": 0})
    else:
        await send({"type": "ping"})
    await send(
        {
            "type": "message_delta",
            "delta": {"stop_reason": plan.stop_reason, "stop_sequence": plan.stop_sequence},
            "usage": {"output_tokens": plan.output_tokens},
        }
    )
    await send({"type": "message_stop"})
    return await writer.finish()


# ---------------------------------------------------------------------------- handlers


def _check_headers(ctx: Ctx) -> web.Response | None:
    headers = ctx.request.headers
    # Classic clients send x-api-key; current SDKs send the key as `Authorization: Bearer`.
    bearer = headers.get("Authorization", "")
    key = headers.get("x-api-key") or (bearer[7:] if bearer.startswith("Bearer ") else "")
    if not key:
        error = anthropic_error(401, "x-api-key header is required")
        return json_response(error, 401, ctx.extra_headers)
    if key != ctx.state.anthropic_key:
        return json_response(anthropic_error(401, "invalid x-api-key"), 401, ctx.extra_headers)
    if not headers.get("anthropic-version"):
        error = anthropic_error(400, "anthropic-version: header is required")
        return json_response(error, 400, ctx.extra_headers)
    return None


def _validate(body: JSON) -> str | None:
    for name in ("model", "messages", "max_tokens"):
        if name not in body:
            return f"{name}: Field required"
    if not body["messages"]:
        return "messages: at least one message is required"
    return None


async def messages(ctx: Ctx) -> web.StreamResponse:
    """POST /v1/messages."""
    error = _check_headers(ctx)
    if error:
        return error
    problem = _validate(ctx.body)
    if problem:
        return json_response(anthropic_error(400, problem), 400, ctx.extra_headers)
    plan = plan_message(ctx.body)
    message_id = f"msg_fake{ctx.state.next_id()}"
    if ctx.body.get("stream"):
        return await stream_message(ctx, plan, message_id)
    result = message_object(plan, message_id)
    if ctx.fault.cut_after_chunks is not None:
        return await send_partial_json(ctx, result)
    return json_response(result, headers=ctx.extra_headers)


async def models(ctx: Ctx) -> web.StreamResponse:
    """GET /v1/models with Anthropic headers."""
    error = _check_headers(ctx)
    if error:
        return error
    data = [
        {"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"}
        for m in MODELS
    ]
    body = {"data": data, "has_more": False, "first_id": MODELS[0], "last_id": MODELS[-1]}
    return json_response(body, headers=ctx.extra_headers)


def messages_handler() -> Handler:
    """The wrapped POST /v1/messages handler."""
    return endpoint("anthropic.messages", messages, anthropic_error, _headers)


def models_handler() -> Handler:
    """The wrapped Anthropic GET /v1/models handler."""
    return endpoint("anthropic.models", models, anthropic_error, _headers)
