"""Deployment checks: shared state must really be shared."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.caches, deploy=True)
def check_shared_state(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    """Several processes need Redis: in-process caches and limits would be per process."""
    if settings.GATEWAY_PROCESS_COUNT > 1 and not settings.REDIS_URL:
        return [
            checks.Error(
                "WEB_CONCURRENCY > 1 without REDIS_URL: rate limits, key revocation and caches "
                "would not be shared between processes.",
                hint="Set REDIS_URL, or run one process in the embedded mode.",
                id="gateway.E001",
            )
        ]
    return []
