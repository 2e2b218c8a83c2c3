"""Shared Redis clients: one sync client per process, one asyncio client per event loop."""

from __future__ import annotations

import asyncio
from functools import cache

import redis
import redis.asyncio as aioredis
from django.conf import settings

_async_clients: dict[int, aioredis.Redis] = {}


def redis_configured() -> bool:
    """True in the shared mode (REDIS_URL set)."""
    return bool(settings.REDIS_URL)


@cache
def sync_client() -> redis.Redis:
    """The process-wide synchronous client (management side, Celery tasks)."""
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


def async_client() -> aioredis.Redis:
    """The client bound to the running event loop (redis.asyncio connections are loop-bound)."""
    loop_id = id(asyncio.get_running_loop())
    client = _async_clients.get(loop_id)
    if client is None:
        client = aioredis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=1
        )
        _async_clients[loop_id] = client
    return client
