"""The /v1 request pipeline: authenticate -> (limits, policy, budget) -> provider -> record."""

from __future__ import annotations

from proxy.errors import GatewayError
from proxy.state import GatewayState
from proxy.wire import GatewayRequest, Response
from tenants.auth import AuthError, KeyContext, presented_key


async def authenticate(req: GatewayRequest, state: GatewayState) -> KeyContext:
    """Resolve the caller's key (cached per process) or raise a 401/429 GatewayError."""
    presented = presented_key(req.headers.get("authorization"), req.headers.get("x-api-key"))
    try:
        return await state.resolver.authenticate(presented, req.client_ip)
    except AuthError as exc:
        headers = {"retry-after": str(exc.retry_after)} if exc.retry_after else {}
        raise GatewayError(exc.status, exc.message, code=exc.code, headers=headers) from None


async def list_models(req: GatewayRequest, state: GatewayState) -> Response:
    """GET /v1/models: the models this key may use, in OpenAI's list shape."""
    ctx = await authenticate(req, state)
    table = await state.routes.for_org(ctx.org_id)
    data = [
        {"id": name, "object": "model", "created": route.created, "owned_by": "secure-gpt-gateway"}
        for name, route in sorted(table.items())
        if ctx.may_use(name)
    ]
    return Response.json(200, {"object": "list", "data": data})
