"""The route table: which deployments serve a model name for an organization, cached per process."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from django.db.models import Q

from tenants.epoch import EpochWatcher

_TTL_S = 30.0


@dataclass(frozen=True, slots=True)
class DeploymentInfo:
    id: int
    provider_id: int
    provider_name: str
    kind: str
    base_url: str
    # Decrypted in memory only; never logged (repr=False keeps it out of tracebacks too).
    secret: str
    options: dict[str, Any]
    upstream_model: str
    priority: int
    weight: int
    connect_timeout_s: float
    first_byte_timeout_s: float
    stream_idle_timeout_s: float
    total_timeout_s: float

    def __repr__(self) -> str:
        return f"DeploymentInfo({self.provider_name}:{self.upstream_model})"


@dataclass(frozen=True, slots=True)
class RouteInfo:
    id: int
    name: str
    created: int
    deployments: tuple[DeploymentInfo, ...]


def load_routes(org_id: int) -> dict[str, RouteInfo]:
    """All routes an organization sees; its own shadow platform routes of the same name."""
    from proxy.models import ModelRoute

    routes = ModelRoute.objects.filter(Q(org__isnull=True) | Q(org_id=org_id)).prefetch_related(
        "deployments__provider"
    )
    table: dict[str, RouteInfo] = {}
    # Platform routes first, so an organization's own route of the same name wins.
    for route in sorted(routes, key=lambda r: r.org_id is not None):
        deployments = tuple(
            DeploymentInfo(
                id=d.pk,
                provider_id=d.provider_id,
                provider_name=d.provider.name,
                kind=d.provider.kind,
                base_url=d.provider.base_url,
                secret=d.provider.secret(),
                options=dict(d.provider.options),
                upstream_model=d.upstream_model,
                priority=d.priority,
                weight=d.weight,
                connect_timeout_s=d.connect_timeout_s,
                first_byte_timeout_s=d.first_byte_timeout_s,
                stream_idle_timeout_s=d.stream_idle_timeout_s,
                total_timeout_s=d.total_timeout_s,
            )
            for d in sorted(route.deployments.all(), key=lambda d: (d.priority, d.pk))
        )
        table[route.name] = RouteInfo(
            route.pk, route.name, int(route.created_at.timestamp()), deployments
        )
    return table


class RouteTable:
    """Per-process cache of each organization's routes, dropped when the epoch moves."""

    def __init__(self) -> None:
        self._tables: dict[int, tuple[dict[str, RouteInfo], float]] = {}
        self._epoch = EpochWatcher()

    async def for_org(self, org_id: int) -> dict[str, RouteInfo]:
        if await self._epoch.refresh():
            self._tables.clear()
        now = time.monotonic()
        cached = self._tables.get(org_id)
        if cached is not None and cached[1] > now:
            return cached[0]
        epoch_before = self._epoch.value
        table = await sync_to_async(load_routes)(org_id)
        if self._epoch.value == epoch_before:
            self._tables[org_id] = (table, now + _TTL_S)
        return table

    def clear(self) -> None:
        self._tables.clear()
        self._epoch.force_stale()
