"""ASGI entry point: /v1 goes to the thin data-plane app, everything else to Django.

/healthz, /readyz and /metrics are answered here too (gateway_project/health.py), without
Django's request cycle.
"""

from __future__ import annotations

import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway_project.settings")
django_application = get_asgi_application()

from gateway_project import health, metrics, tracing  # noqa: E402
from proxy.asgi import ProxyApp  # noqa: E402  (needs Django set up first)
from proxy.state import get_state  # noqa: E402
from proxy.wire import Receive, Send  # noqa: E402

proxy_application = ProxyApp()


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            metrics.startup()
            tracing.configure()  # a no-op (no SDK import) without OTEL_EXPORTER_OTLP_ENDPOINT
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await get_state().aclose()
            tracing.shutdown()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def application(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
    elif scope["type"] == "http" and scope["path"].startswith("/v1/"):
        await proxy_application(scope, receive, send)
    elif scope["type"] == "http" and scope["path"] == "/healthz":
        await health.healthz(send)
    elif scope["type"] == "http" and scope["path"] == "/readyz":
        await health.readyz(send)
    elif scope["type"] == "http" and scope["path"] == "/metrics":
        await health.metrics_endpoint(scope, send)
    else:
        await django_application(scope, receive, send)  # type: ignore[arg-type]
