"""The /v1 request pipeline as plain async functions over GatewayRequest -> Response.

Order: authenticate -> parse and validate -> route -> provider call with retries and
fallbacks -> relay -> record. Later stages (rate limits, policy, budgets, audit) slot in here.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel

from proxy import http
from proxy.errors import GatewayError, invalid_request, model_not_found
from proxy.formats import TranslationError, anthropic_usage, openai_usage
from proxy.outcome import Outcome
from proxy.providers import PROVIDERS, ChunkStream, Provider
from proxy.resilience import call_with_fallbacks
from proxy.routing import DeploymentInfo, RouteInfo
from proxy.schemas import ChatCompletionRequest, EmbeddingRequest, MessagesRequest, validate
from proxy.state import GatewayState
from proxy.streaming import relay_chat, relay_messages
from proxy.tokens import estimate_input, estimate_messages
from proxy.wire import GatewayRequest, Response
from tenants.auth import AuthError, KeyContext, presented_key

T = TypeVar("T")
FORWARDED_HEADERS = ("anthropic-version", "anthropic-beta", "openai-beta")
SSE = "text/event-stream"


async def authenticate(req: GatewayRequest, state: GatewayState) -> KeyContext:
    """Resolve the caller's key (cached per process) or raise a 401/429 GatewayError."""
    presented = presented_key(req.headers.get("authorization"), req.headers.get("x-api-key"))
    try:
        return await state.resolver.authenticate(presented, req.client_ip)
    except AuthError as exc:
        headers = {"retry-after": str(exc.retry_after)} if exc.retry_after else {}
        raise GatewayError(exc.status, exc.message, code=exc.code, headers=headers) from None


def parse_body(req: GatewayRequest, schema: type[BaseModel]) -> dict[str, Any]:
    """The JSON body, validated against the wire format; 415 for other content types."""
    content_type = req.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != "application/json":
        raise GatewayError(
            415, "Content-Type must be application/json.", code="unsupported_media_type"
        )
    try:
        body = orjson.loads(req.body)
    except orjson.JSONDecodeError:
        raise invalid_request("The request body is not valid JSON.", code="invalid_json") from None
    validate(schema, body)
    return body  # type: ignore[no-any-return]


async def resolve_route(ctx: KeyContext, state: GatewayState, model: str) -> RouteInfo:
    """The route for a model the key may use; unknown and forbidden look the same (404)."""
    table = await state.routes.for_org(ctx.org_id)
    route = table.get(model)
    if route is None or not route.deployments or not ctx.may_use(model):
        raise model_not_found(model)
    return route


def provider_for(dep: DeploymentInfo) -> Provider:
    return PROVIDERS[dep.kind](dep, http.get_client())


async def _call(
    outcome: Outcome, route: RouteInfo, state: GatewayState, op: Callable[[Provider], Awaitable[T]]
) -> T:
    started = time.perf_counter()
    try:
        result, dep = await call_with_fallbacks(
            route.deployments,
            lambda dep: op(provider_for(dep)),
            breaker=state.breaker,
            attempts=outcome.attempts,
        )
    except TranslationError as exc:
        raise invalid_request(exc.message, exc.param) from None
    finally:
        outcome.upstream_s = time.perf_counter() - started
    outcome.deployment = dep
    return result


def _forwarded(req: GatewayRequest) -> dict[str, str]:
    return {k: req.headers[k] for k in FORWARDED_HEADERS if k in req.headers}


def _headers(outcome: Outcome, **extra: str) -> dict[str, str]:
    return {"x-gateway-overhead-ms": f"{outcome.overhead_ms:.2f}", **extra}


async def _begin(
    req: GatewayRequest, state: GatewayState, schema: type[BaseModel], outcome: Outcome
) -> tuple[dict[str, Any], RouteInfo]:
    outcome.ctx = await authenticate(req, state)
    body = parse_body(req, schema)
    outcome.model = body["model"]
    outcome.stream = bool(body.get("stream"))
    route = await resolve_route(outcome.ctx, state, body["model"])
    return body, route


def _outcome(req: GatewayRequest) -> Outcome:
    return Outcome(req.request_id, req.path, req.client_ip, req.started)


async def _guarded(outcome: Outcome, work: Awaitable[Response]) -> Response:
    """Run a handler; complete responses and errors finish the outcome here, streams later."""
    try:
        response = await work
    except GatewayError as exc:
        outcome.fail(exc.status, exc.code)
        await outcome.finish()
        raise
    if response.stream is None:
        outcome.status = response.status
        await outcome.finish()
    return response


async def chat_completions(req: GatewayRequest, state: GatewayState) -> Response:
    """POST /v1/chat/completions, streaming or not."""
    outcome = _outcome(req)
    return await _guarded(outcome, _chat(req, state, outcome))


async def _chat(req: GatewayRequest, state: GatewayState, outcome: Outcome) -> Response:
    body, route = await _begin(req, state, ChatCompletionRequest, outcome)
    outcome.estimated_prompt_tokens = estimate_messages(body["messages"])
    forwarded = _forwarded(req)
    if not outcome.stream:
        result = await _call(outcome, route, state, lambda p: p.chat(body, forwarded))
        outcome.usage = openai_usage(result.get("usage"))
        return Response.json(200, result, _headers(outcome))
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    stream: ChunkStream = await _call(
        outcome, route, state, lambda p: p.open_chat_stream(body, forwarded)
    )
    relay = relay_chat(stream, outcome, include_usage=include_usage)
    return Response(200, headers=_headers(outcome), content_type=SSE, stream=relay)


async def embeddings(req: GatewayRequest, state: GatewayState) -> Response:
    """POST /v1/embeddings."""
    outcome = _outcome(req)
    return await _guarded(outcome, _embeddings(req, state, outcome))


async def _embeddings(req: GatewayRequest, state: GatewayState, outcome: Outcome) -> Response:
    body, route = await _begin(req, state, EmbeddingRequest, outcome)
    outcome.estimated_prompt_tokens = estimate_input(body["input"])
    forwarded = _forwarded(req)
    result = await _call(outcome, route, state, lambda p: p.embeddings(body, forwarded))
    outcome.usage = openai_usage(result.get("usage"))
    return Response.json(200, result, _headers(outcome))


async def messages(req: GatewayRequest, state: GatewayState) -> Response:
    """POST /v1/messages in Anthropic's native format, streaming or not."""
    outcome = _outcome(req)
    return await _guarded(outcome, _messages(req, state, outcome))


async def _messages(req: GatewayRequest, state: GatewayState, outcome: Outcome) -> Response:
    body, route = await _begin(req, state, MessagesRequest, outcome)
    outcome.estimated_prompt_tokens = estimate_messages(body["messages"], body.get("system"))
    forwarded = _forwarded(req)
    if not outcome.stream:
        result = await _call(outcome, route, state, lambda p: p.messages(body, forwarded))
        outcome.usage = anthropic_usage(result.get("usage"))
        return Response.json(200, result, _headers(outcome))
    stream: ChunkStream = await _call(
        outcome, route, state, lambda p: p.open_messages_stream(body, forwarded)
    )
    relay = relay_messages(stream, outcome)
    return Response(200, headers=_headers(outcome), content_type=SSE, stream=relay)


async def list_models(req: GatewayRequest, state: GatewayState) -> Response:
    """GET /v1/models: the models this key may use, in OpenAI's list shape."""
    ctx = await authenticate(req, state)
    table = await state.routes.for_org(ctx.org_id)
    data = [
        {"id": name, "object": "model", "created": route.created, "owned_by": "secure-gpt-gateway"}
        for name, route in sorted(table.items())
        if ctx.may_use(name) and route.deployments
    ]
    return Response.json(200, {"object": "list", "data": data})
