"""A configuration epoch: how every gateway process learns that keys, teams or routes changed.

Writers bump the epoch in the same transaction as their change (a database row) and, once
committed, in Redis. Each process polls the epoch at most every GATEWAY_CONFIG_POLL_S seconds
and drops its in-process caches when it moves, so a revocation is seen everywhere within
about half a second, with no database query per request.
"""

from __future__ import annotations

import time

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import transaction
from django.db.models import F

from gateway_project.redis import async_client, redis_configured, sync_client

REDIS_KEY = "sgw:config-epoch"


def bump_config_epoch() -> None:
    """Record that configuration changed; call inside or outside a transaction."""
    from tenants.models import ConfigEpoch

    if not ConfigEpoch.objects.filter(pk=1).update(value=F("value") + 1):
        ConfigEpoch.objects.get_or_create(pk=1, defaults={"value": 1})
    if redis_configured():
        transaction.on_commit(_bump_redis)


def _bump_redis() -> None:
    sync_client().incr(REDIS_KEY)


def _read_db_epoch() -> int:
    from tenants.models import ConfigEpoch

    row = ConfigEpoch.objects.filter(pk=1).values_list("value", flat=True).first()
    return int(row or 0)


class EpochWatcher:
    """Per-process view of the epoch, refreshed lazily from Redis (or the database)."""

    def __init__(self) -> None:
        self.value: int | None = None
        self._checked_at = 0.0

    async def refresh(self) -> bool:
        """Re-read the epoch if the poll interval passed; True when it moved."""
        now = time.monotonic()
        if now - self._checked_at < settings.GATEWAY_CONFIG_POLL_S and self.value is not None:
            return False
        self._checked_at = now
        current = await self._read()
        if current == self.value:
            return False
        moved = self.value is not None
        self.value = current
        return moved

    async def _read(self) -> int | None:
        if redis_configured():
            try:
                raw = await async_client().get(REDIS_KEY)
            except Exception:
                # Redis down: fall back to the database so revocations still propagate.
                return await sync_to_async(_read_db_epoch)()
            return int(raw or 0)
        return await sync_to_async(_read_db_epoch)()

    def force_stale(self) -> None:
        """Make the next refresh() hit the source (tests, explicit invalidation)."""
        self._checked_at = 0.0
