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

from django.conf import settings  # noqa: E402

from gateway_project import health, metrics, tracing  # noqa: E402
from gateway_project.embedded import EmbeddedBeat  # noqa: E402
from proxy.asgi import ProxyApp  # noqa: E402  (needs Django set up first)
from proxy.state import get_state  # noqa: E402
from proxy.wire import Receive, Send  # noqa: E402

proxy_application = ProxyApp()


async def _lifespan(receive: Receive, send: Send) -> None:
    beat = None
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            metrics.startup()
            tracing.configure()  # a no-op (no SDK import) without OTEL_EXPORTER_OTLP_ENDPOINT
            if not settings.REDIS_URL:  # embedded mode: no Celery beat, run the schedule here
                beat = EmbeddedBeat()
                get_state().spawn(beat.run())
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if beat is not None:
                beat.stop()
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
