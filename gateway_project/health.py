"""/healthz, /readyz and /metrics, answered by the thin ASGI layer (no Django request cycle).

/healthz says the process serves (no I/O); /readyz checks the database (`SELECT 1`) and Redis
(PING, when configured) and answers 503 naming what failed; /metrics is the Prometheus
exposition of every process of this server, behind GATEWAY_METRICS_TOKEN when that is set.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection

from gateway_project import metrics
from gateway_project.redis import async_client, redis_configured

Send = Callable[[dict[str, Any]], Awaitable[None]]
CHECK_TIMEOUT_S = 2.0
_JSON = [(b"content-type", b"application/json"), (b"cache-control", b"no-store")]
_HEALTHY = b'{"status":"ok"}'
# One database check at a time per process: a hung database must not pile up threads.
_db_check: asyncio.Future[None] | None = None


async def _respond(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def healthz(send: Send) -> None:
    """The process is up and its event loop answers."""
    await _respond(send, 200, _HEALTHY, _JSON)


def _select_one() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        # This worker thread's connection goes back (to the pool, or closed): probes are rare.
        connection.close()


async def check_database() -> None:
    """SELECT 1 in a worker thread, shared by concurrent probes; raises on failure."""
    global _db_check
    if (
        _db_check is None
        or _db_check.done()
        or _db_check.get_loop() is not asyncio.get_running_loop()
    ):
        _db_check = asyncio.ensure_future(sync_to_async(_select_one, thread_sensitive=False)())
    await asyncio.wait_for(asyncio.shield(_db_check), CHECK_TIMEOUT_S)


async def check_redis() -> None:
    """PING on this loop's Redis client; raises on failure."""
    await asyncio.wait_for(async_client().ping(), CHECK_TIMEOUT_S)


async def readiness() -> dict[str, str]:
    """Each dependency's state: "ok", or the error's type (never its message: it may hold URLs)."""
    names = ["database"]
    checks: list[Awaitable[None]] = [check_database()]
    if redis_configured():
        names.append("redis")
        checks.append(check_redis())
    results = await asyncio.gather(*checks, return_exceptions=True)
    return {
        name: "ok" if result is None else f"error: {type(result).__name__}"
        for name, result in zip(names, results, strict=True)
    }


async def readyz(send: Send) -> None:
    """200 when every dependency answers, else 503 with which one failed."""
    checks = await readiness()
    ready = all(state == "ok" for state in checks.values())
    body = orjson.dumps({"status": "ok" if ready else "unavailable", "checks": checks})
    await _respond(send, 200 if ready else 503, body, _JSON)


def _authorized(scope: dict[str, Any]) -> bool:
    token: str = settings.GATEWAY_METRICS_TOKEN
    if not token:
        return True
    for name, value in scope["headers"]:
        if name == b"authorization":
            return hmac.compare_digest(value, f"Bearer {token}".encode())
    return False


async def metrics_endpoint(scope: dict[str, Any], send: Send) -> None:
    """The Prometheus text exposition, summed over this server's processes."""
    if not _authorized(scope):
        headers = [*_JSON, (b"www-authenticate", b'Bearer realm="metrics"')]
        await _respond(send, 401, b'{"error":"unauthorized"}', headers)
        return
    # Reading every process's files is blocking I/O: keep it off the event loop.
    body = await asyncio.to_thread(metrics.render)
    headers = [(b"content-type", metrics.CONTENT_TYPE.encode()), (b"cache-control", b"no-store")]
    await _respond(send, 200, body, headers)
