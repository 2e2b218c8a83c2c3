"""The /v1 request pipeline as plain async functions over GatewayRequest -> Response.

Order: authenticate -> parse and validate -> route -> provider call with retries and
fallbacks -> relay -> record. Later stages (rate limits, policy, budgets, audit) slot in here.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import orjson
from asgiref.sync import sync_to_async
from django.utils import timezone
from pydantic import BaseModel

from billing.keyinfo import budget_status
from billing.rules import limit_specs
from policies.streaming import OutputScanner
from proxy import http
from proxy.errors import Dialect, GatewayError, invalid_request, model_not_found
from proxy.formats import TranslationError, anthropic_usage, openai_usage
from proxy.guard import enforce_input, restorer, scan_chat_response, scan_messages_response
from proxy.limits import check_rate_limits, ratelimit_headers, reserve_budget
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
    # The price in force when the provider answered, not when settlement happens to run.
    outcome.price = await state.prices.price(dep.upstream_model, outcome.model)
    return result


def _scanner(outcome: Outcome) -> OutputScanner | None:
    policy = outcome.ctx.policy if outcome.ctx else None
    return policy.output_scanner() if policy is not None and policy.output_rules else None


def _forwarded(req: GatewayRequest) -> dict[str, str]:
    return {k: req.headers[k] for k in FORWARDED_HEADERS if k in req.headers}


def _headers(outcome: Outcome, **extra: str) -> dict[str, str]:
    return {"x-gateway-overhead-ms": f"{outcome.overhead_ms:.2f}", **extra}


async def _begin(
    req: GatewayRequest,
    state: GatewayState,
    schema: type[BaseModel],
    outcome: Outcome,
    prompt_tokens: Callable[[dict[str, Any]], int],
    kind: str,
) -> tuple[dict[str, Any], RouteInfo]:
    """Authenticate, validate, rate-limit, route, apply policy, reserve budget, in that order."""
    outcome.ctx = await authenticate(req, state)
    body = parse_body(req, schema)
    outcome.model = body["model"]
    outcome.stream = bool(body.get("stream"))
    outcome.end_user = _end_user(req, body)
    outcome.estimated_prompt_tokens = prompt_tokens(body)
    max_out = body.get("max_completion_tokens") or body.get("max_tokens")
    outcome.max_output_tokens = max_out if isinstance(max_out, int) else None
    await check_rate_limits(outcome)
    route = await resolve_route(outcome.ctx, state, body["model"])
    body = await enforce_input(outcome, body, kind)
    await reserve_budget(outcome, route)
    return body, route


def _end_user(req: GatewayRequest, body: dict[str, Any]) -> str:
    user = body.get("user") or (body.get("metadata") or {}).get("user_id")
    return str(user or req.headers.get("x-end-user", ""))[:200]


def _outcome(req: GatewayRequest, state: GatewayState) -> Outcome:
    return Outcome(req.request_id, req.path, req.client_ip, req.started, state)


async def _guarded(outcome: Outcome, work: Awaitable[Response], dialect: Dialect) -> Response:
    """Run a handler; errors become responses here; accounting runs after the response."""
    try:
        response = await work
    except GatewayError as exc:
        outcome.fail(exc.status, exc.code)
        exc.headers = {**ratelimit_headers(outcome.rate), **exc.headers}
        response = exc.to_response(dialect)
    else:
        response.headers.update(ratelimit_headers(outcome.rate))
        if response.stream is None:
            outcome.status = response.status
    response.on_complete = outcome.finish
    return response


async def chat_completions(req: GatewayRequest, state: GatewayState) -> Response:
    """POST /v1/chat/completions, streaming or not."""
    outcome = _outcome(req, state)
    return await _guarded(outcome, _chat(req, state, outcome), Dialect.OPENAI)


async def _chat(req: GatewayRequest, state: GatewayState, outcome: Outcome) -> Response:
    body, route = await _begin(
        req,
        state,
        ChatCompletionRequest,
        outcome,
        lambda b: estimate_messages(b["messages"]),
        "chat",
    )
    forwarded = _forwarded(req)
    if not outcome.stream:
        result = await _call(outcome, route, state, lambda p: p.chat(body, forwarded))
        outcome.usage = openai_usage(result.get("usage"))
        result = scan_chat_response(outcome, result)
        return Response.json(200, result, _headers(outcome))
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    stream: ChunkStream = await _call(
        outcome, route, state, lambda p: p.open_chat_stream(body, forwarded)
    )
    relay = relay_chat(
        stream,
        outcome,
        include_usage=include_usage,
        scanner=_scanner(outcome),
        restorer=restorer(outcome),
    )
    return Response(200, headers=_headers(outcome), content_type=SSE, stream=relay)


async def embeddings(req: GatewayRequest, state: GatewayState) -> Response:
    """POST /v1/embeddings."""
    outcome = _outcome(req, state)
    return await _guarded(outcome, _embeddings(req, state, outcome), Dialect.OPENAI)


async def _embeddings(req: GatewayRequest, state: GatewayState, outcome: Outcome) -> Response:
    body, route = await _begin(
        req, state, EmbeddingRequest, outcome, lambda b: estimate_input(b["input"]), "embeddings"
    )
    forwarded = _forwarded(req)
    result = await _call(outcome, route, state, lambda p: p.embeddings(body, forwarded))
    outcome.usage = openai_usage(result.get("usage"))
    return Response.json(200, result, _headers(outcome))


async def messages(req: GatewayRequest, state: GatewayState) -> Response:
    """POST /v1/messages in Anthropic's native format, streaming or not."""
    outcome = _outcome(req, state)
    return await _guarded(outcome, _messages(req, state, outcome), Dialect.ANTHROPIC)


async def _messages(req: GatewayRequest, state: GatewayState, outcome: Outcome) -> Response:
    body, route = await _begin(
        req,
        state,
        MessagesRequest,
        outcome,
        lambda b: estimate_messages(b["messages"], b.get("system")),
        "messages",
    )
    forwarded = _forwarded(req)
    if not outcome.stream:
        result = await _call(outcome, route, state, lambda p: p.messages(body, forwarded))
        outcome.usage = anthropic_usage(result.get("usage"))
        result = scan_messages_response(outcome, result)
        return Response.json(200, result, _headers(outcome))
    stream: ChunkStream = await _call(
        outcome, route, state, lambda p: p.open_messages_stream(body, forwarded)
    )
    relay = relay_messages(stream, outcome, scanner=_scanner(outcome))
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


async def key_info(req: GatewayRequest, state: GatewayState) -> Response:
    """GET /v1/key/info: the calling key's allowed models, rate limits and budgets."""
    ctx = await authenticate(req, state)
    specs = limit_specs(ctx.limit_rules, "")
    limits = await state.limiter().peek(specs) if specs else None
    budgets = await sync_to_async(budget_status)(
        ctx.budget_rules, ctx.org_time_zone, timezone.now()
    )
    body = {
        "key": {
            "prefix": ctx.key_prefix,
            "name": ctx.key_name,
            "team": ctx.team_slug,
            "organization": ctx.org_slug,
            "expires_at": ctx.expires_at.isoformat() if ctx.expires_at else None,
            "allowed_models": sorted(ctx.allowed_models) if ctx.allowed_models else None,
        },
        "rate_limits": [
            {"scope": s.scope, "rpm": s.rpm, "tpm": s.tpm, "max_parallel": s.max_parallel}
            for s in specs
        ],
        "rate_limit_status": ratelimit_headers(limits),
        "budgets": budgets,
    }
    return Response.json(200, body)
