"""OpenAI and Azure OpenAI routes of the fake provider."""

from __future__ import annotations

import base64
import hashlib
import math
import struct
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .core import (
    JSON,
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

TOOL_CALL_ID = "call_fake_1"
MODELS = ["gpt-4o", "gpt-4o-mini", "gpt-4.1", "text-embedding-3-small", "text-embedding-3-large"]
_EMBEDDING_DIMS = {"text-embedding-3-large": 3072}
_SAFE = {"filtered": False, "severity": "safe"}
_FILTER_RESULTS = dict.fromkeys(("hate", "self_harm", "sexual", "violence"), _SAFE)
_OPENAI_MESSAGES = {
    400: ("Invalid request.", "invalid_request_error", None),
    401: ("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"),
    403: ("You are not allowed to access this resource.", "invalid_request_error", None),
    404: ("The requested resource was not found.", "invalid_request_error", None),
    429: ("Rate limit reached for requests.", "requests", "rate_limit_exceeded"),
    500: ("The server had an error while processing your request.", "server_error", None),
    503: ("The server is overloaded or not ready yet.", "server_error", None),
}


def openai_error(status: int, message: str | None = None) -> JSON:
    """OpenAI's error body for an HTTP status."""
    default, kind, code = _OPENAI_MESSAGES.get(status, ("Upstream error.", "server_error", None))
    return {"error": {"message": message or default, "type": kind, "param": None, "code": code}}


def azure_error(status: int, message: str | None = None) -> JSON:
    """Azure OpenAI's error body (code is the status as a string)."""
    defaults = {
        401: "Access denied due to invalid subscription key or wrong API endpoint. Make sure "
        "to provide a valid key for an active subscription and use a correct regional API "
        "endpoint for your resource.",
        404: "Resource not found",
        429: "Requests to the ChatCompletions_Create Operation have exceeded the rate limit. "
        "Please retry after 1 second.",
    }
    return {"error": {"code": str(status), "message": message or defaults.get(status, "Error")}}


def _openai_headers(state: FakeState) -> dict[str, str]:
    n = state.next_id()
    return {
        "x-request-id": f"req_fake{n}",
        "openai-processing-ms": "1",
        "openai-version": "2020-10-01",
        "x-ratelimit-limit-requests": "10000",
        "x-ratelimit-remaining-requests": "9999",
        "x-ratelimit-limit-tokens": "1000000",
        "x-ratelimit-remaining-tokens": "999000",
    }


def _azure_headers(state: FakeState) -> dict[str, str]:
    n = state.next_id()
    return {"apim-request-id": f"apim-fake-{n}", "x-request-id": f"fake-{n}", "x-ms-region": "Fake"}


# ---------------------------------------------------------------------------- chat logic


def _content_text(content: Any) -> str:
    """Text of an OpenAI message `content` (a string or a list of parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"
        )
    return ""


@dataclass
class ChatPlan:
    """What the fake model will answer to one chat request."""

    model: str
    text: str | None
    tool_name: str | None
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int


def plan_chat(body: JSON, model: str) -> ChatPlan:
    """Decide the deterministic answer to a chat completions request."""
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    prompt_tokens = sum(count_words(_content_text(m.get("content"))) for m in messages) + 1
    last = messages[-1] if messages else {}
    if last.get("role") == "tool":
        # Answer the tool result instead of calling the tool again.
        user_text, tool_turn = _content_text(last.get("content")), True
    else:
        users = [m for m in messages if m.get("role") == "user"]
        user_text, tool_turn = (_content_text(users[-1].get("content")) if users else ""), False
    tools = body.get("tools") or []
    if (
        tools
        and not tool_turn
        and body.get("tool_choice") != "none"
        and is_weather_request(user_text)
    ):
        name = tools[0].get("function", {}).get("name", "tool")
        return ChatPlan(
            model, None, name, "tool_calls", prompt_tokens, count_words(tool_arguments_json())
        )
    stops = body.get("stop") or []
    text, matched = apply_stop("echo: " + user_text, [stops] if isinstance(stops, str) else stops)
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    text, cut = truncate_words(text, limit if matched is None else None)
    finish = "length" if cut else "stop"
    return ChatPlan(model, text, None, finish, prompt_tokens, count_words(text))


def _usage(plan: ChatPlan) -> JSON:
    return {
        "prompt_tokens": plan.prompt_tokens,
        "completion_tokens": plan.completion_tokens,
        "total_tokens": plan.prompt_tokens + plan.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _tool_call(plan: ChatPlan, arguments: str) -> JSON:
    return {
        "id": TOOL_CALL_ID,
        "type": "function",
        "function": {"name": plan.tool_name, "arguments": arguments},
    }


def chat_completion(plan: ChatPlan, completion_id: str, azure: bool) -> JSON:
    """A non-streaming chat.completion object."""
    message: JSON = {"role": "assistant", "content": plan.text, "refusal": None, "annotations": []}
    if plan.tool_name:
        message["tool_calls"] = [_tool_call(plan, tool_arguments_json())]
    choice: JSON = {
        "index": 0,
        "message": message,
        "logprobs": None,
        "finish_reason": plan.finish_reason,
    }
    result: JSON = {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": plan.model,
        "choices": [choice],
        "usage": _usage(plan),
        "system_fingerprint": "fp_fake",
    }
    if azure:
        choice["content_filter_results"] = _FILTER_RESULTS
        result["prompt_filter_results"] = [
            {"prompt_index": 0, "content_filter_results": _FILTER_RESULTS}
        ]
    else:
        result["service_tier"] = "default"
    return result


async def stream_chat(
    ctx: Ctx, plan: ChatPlan, completion_id: str, azure: bool
) -> web.StreamResponse:
    """Stream a chat completion as chat.completion.chunk SSE events ending with [DONE]."""
    include_usage = bool((ctx.body.get("stream_options") or {}).get("include_usage"))
    created = int(time.time())

    def chunk(choices: list[JSON], **extra: Any) -> JSON:
        data: JSON = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": plan.model,
            "system_fingerprint": "fp_fake",
            "choices": choices,
        }
        if include_usage:
            data["usage"] = None
        data.update(extra)
        return data

    def choice(delta: JSON, finish: str | None = None) -> JSON:
        c: JSON = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        if azure:
            c["content_filter_results"] = {} if "role" in delta or finish else _FILTER_RESULTS
        return c

    writer = SSEWriter(ctx, error_event=lambda: (None, openai_error(500, "stream interrupted")))
    await writer.start()
    if azure and ctx.state.azure_prompt_filter_chunk:
        await writer.send(
            {
                "choices": [],
                "created": 0,
                "id": "",
                "model": "",
                "object": "",
                "prompt_filter_results": [
                    {"prompt_index": 0, "content_filter_results": _FILTER_RESULTS}
                ],
            }
        )
    parts = max(1, ctx.state.chunks)
    if plan.tool_name:
        call = {"index": 0, **_tool_call(plan, "")}
        first = {"role": "assistant", "content": None, "tool_calls": [call]}
        await writer.send(chunk([choice({**first, "refusal": None})]))
        for piece in split_even(tool_arguments_json(), parts):
            delta = {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}
            await writer.send(chunk([choice(delta)]))
    else:
        await writer.send(chunk([choice({"role": "assistant", "content": "", "refusal": None})]))
        for piece in split_chunks(plan.text or "", parts):
            await writer.send(chunk([choice({"content": piece})]))
    await writer.send(chunk([choice({}, plan.finish_reason)]))
    if include_usage:
        await writer.send(chunk([], usage=_usage(plan)))
    await writer.send("[DONE]")
    return await writer.finish()


# ---------------------------------------------------------------------------- embeddings


def embedding_vector(text: str, dims: int) -> list[float]:
    """A deterministic unit-length float32 vector derived from a hash of the text."""
    raw: list[float] = []
    counter = 0
    while len(raw) < dims:
        digest = hashlib.sha256(f"{counter}:{text}".encode()).digest()
        raw.extend(v / 2**31 - 1.0 for v in struct.unpack("<8I", digest))
        counter += 1
    raw = raw[:dims]
    norm = math.sqrt(sum(v * v for v in raw)) or 1.0
    # Round-trip through float32 so the float and base64 encodings carry the same values.
    packed = struct.pack(f"<{dims}f", *(v / norm for v in raw))
    return list(struct.unpack(f"<{dims}f", packed))


def _embedding_inputs(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value:
        if all(isinstance(v, int) for v in value):
            return [" ".join(map(str, value))]  # one input given as token ids
        if all(isinstance(v, str) for v in value):
            return list(value)
        if all(isinstance(v, list) for v in value):
            return [" ".join(map(str, v)) for v in value]
    return None


def embeddings_response(body: JSON, model: str) -> JSON | None:
    """The embeddings list object, or None when the input is invalid."""
    inputs = _embedding_inputs(body.get("input"))
    if inputs is None:
        return None
    dims = int(body.get("dimensions") or _EMBEDDING_DIMS.get(model, 1536))
    b64 = body.get("encoding_format") == "base64"
    data = []
    for index, text in enumerate(inputs):
        vector = embedding_vector(text, dims)
        value: Any = base64.b64encode(struct.pack(f"<{dims}f", *vector)).decode() if b64 else vector
        data.append({"object": "embedding", "index": index, "embedding": value})
    tokens = sum(max(count_words(t), 1) for t in inputs)
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


# ---------------------------------------------------------------------------- handlers


def _openai_auth(ctx: Ctx) -> web.Response | None:
    header = ctx.request.headers.get("Authorization", "")
    if not header:
        return json_response(
            openai_error(
                401,
                "You didn't provide an API key. You need to provide your API key "
                "in an Authorization header using Bearer auth.",
            ),
            401,
            ctx.extra_headers,
        )
    if header != f"Bearer {ctx.state.api_key}":
        return json_response(openai_error(401), 401, ctx.extra_headers)
    return None


def _azure_auth(ctx: Ctx, versioned: bool) -> web.Response | None:
    # Deployment routes without ?api-version= are unknown to Azure: 404, not 400.
    if versioned and not ctx.request.query.get("api-version"):
        return json_response(azure_error(404), 404, ctx.extra_headers)
    key = ctx.request.headers.get("api-key")
    bearer = ctx.request.headers.get("Authorization", "")
    if key != ctx.state.azure_key and bearer != f"Bearer {ctx.state.azure_key}":
        return json_response(azure_error(401), 401, ctx.extra_headers)
    return None


def _missing(ctx: Ctx, azure: bool, *fields: str) -> web.Response | None:
    for name in fields:
        if name not in ctx.body:
            msg = f"Missing required parameter: '{name}'."
            body = azure_error(400, msg) if azure else openai_error(400, msg)
            return json_response(body, 400, ctx.extra_headers)
    return None


async def _chat(ctx: Ctx, azure: bool, model: str | None) -> web.StreamResponse:
    model = model or ctx.body.get("model", "")
    plan = plan_chat(ctx.body, model)
    completion_id = f"chatcmpl-fake{ctx.state.next_id()}"
    if ctx.body.get("stream"):
        return await stream_chat(ctx, plan, completion_id, azure)
    result = chat_completion(plan, completion_id, azure)
    if ctx.fault.cut_after_chunks is not None:
        return await send_partial_json(ctx, result)
    return json_response(result, headers=ctx.extra_headers)


async def _embeddings(ctx: Ctx, azure: bool, model: str) -> web.StreamResponse:
    result = embeddings_response(ctx.body, model)
    if result is None:
        msg = "'$.input' is invalid. Please check the API reference."
        body = azure_error(400, msg) if azure else openai_error(400, msg)
        return json_response(body, 400, ctx.extra_headers)
    if ctx.fault.cut_after_chunks is not None:
        return await send_partial_json(ctx, result)
    return json_response(result, headers=ctx.extra_headers)


async def openai_chat(ctx: Ctx) -> web.StreamResponse:
    """POST /v1/chat/completions."""
    error = _openai_auth(ctx) or _missing(ctx, False, "model", "messages")
    return error or await _chat(ctx, azure=False, model=None)


async def openai_embeddings(ctx: Ctx) -> web.StreamResponse:
    """POST /v1/embeddings."""
    error = _openai_auth(ctx) or _missing(ctx, False, "model", "input")
    return error or await _embeddings(ctx, azure=False, model=ctx.body["model"])


def _model_object(model_id: str) -> JSON:
    return {"id": model_id, "object": "model", "created": 1715367049, "owned_by": "system"}


async def openai_models(ctx: Ctx) -> web.StreamResponse:
    """GET /v1/models and GET /v1/models/{model}."""
    error = _openai_auth(ctx)
    if error:
        return error
    model_id = ctx.request.match_info.get("model")
    if model_id is None:
        data = [_model_object(m) for m in MODELS]
        return json_response({"object": "list", "data": data}, headers=ctx.extra_headers)
    if model_id not in MODELS:
        body = openai_error(404, f"The model '{model_id}' does not exist")
        body["error"]["code"] = "model_not_found"
        return json_response(body, 404, ctx.extra_headers)
    return json_response(_model_object(model_id), headers=ctx.extra_headers)


async def azure_chat(ctx: Ctx) -> web.StreamResponse:
    """POST /openai/deployments/{deployment}/chat/completions?api-version=..."""
    error = _azure_auth(ctx, versioned=True) or _missing(ctx, True, "messages")
    # Azure reports the deployed model; echo the requested one, else the deployment name.
    model = ctx.body.get("model") or ctx.request.match_info["deployment"]
    return error or await _chat(ctx, azure=True, model=model)


async def azure_embeddings(ctx: Ctx) -> web.StreamResponse:
    """POST /openai/deployments/{deployment}/embeddings?api-version=..."""
    error = _azure_auth(ctx, versioned=True) or _missing(ctx, True, "input")
    model = ctx.body.get("model") or ctx.request.match_info["deployment"]
    return error or await _embeddings(ctx, azure=True, model=model)


async def azure_v1_chat(ctx: Ctx) -> web.StreamResponse:
    """POST /openai/v1/chat/completions (Azure's v1 API needs no api-version)."""
    error = _azure_auth(ctx, versioned=False) or _missing(ctx, True, "model", "messages")
    return error or await _chat(ctx, azure=True, model=None)


async def azure_v1_embeddings(ctx: Ctx) -> web.StreamResponse:
    """POST /openai/v1/embeddings."""
    error = _azure_auth(ctx, versioned=False) or _missing(ctx, True, "model", "input")
    return error or await _embeddings(ctx, azure=True, model=ctx.body.get("model", ""))


def models_handler() -> Handler:
    """The wrapped OpenAI GET /v1/models handler."""
    return endpoint("openai.models", openai_models, openai_error, _openai_headers)


def add_routes(app: web.Application) -> None:
    """Register the OpenAI and Azure OpenAI routes."""
    oa, az = (openai_error, _openai_headers), (azure_error, _azure_headers)
    router = app.router
    router.add_post("/v1/chat/completions", endpoint("openai.chat", openai_chat, *oa))
    router.add_post("/v1/embeddings", endpoint("openai.embeddings", openai_embeddings, *oa))
    router.add_get("/v1/models/{model}", endpoint("openai.models", openai_models, *oa))
    deployments = "/openai/deployments/{deployment}"
    router.add_post(f"{deployments}/chat/completions", endpoint("azure.chat", azure_chat, *az))
    router.add_post(
        f"{deployments}/embeddings", endpoint("azure.embeddings", azure_embeddings, *az)
    )
    router.add_post("/openai/v1/chat/completions", endpoint("azure.chat", azure_v1_chat, *az))
    router.add_post("/openai/v1/embeddings", endpoint("azure.embeddings", azure_v1_embeddings, *az))
