"""The per-process price cache: current price version per model, dropped when the epoch moves."""

from __future__ import annotations

import time
from collections.abc import Iterable

from asgiref.sync import sync_to_async
from django.utils import timezone

from billing.pricing import FREE, PriceData
from tenants.epoch import EpochWatcher

# Future-dated versions become effective without an epoch change: re-read at least this often.
_TTL_S = 60.0


def load_prices() -> dict[str, PriceData]:
    """The version in force now for every priced model (sync)."""
    from billing.models import Price

    current: dict[str, PriceData] = {}
    rows = Price.objects.filter(effective_from__lte=timezone.now()).order_by(
        "model", "effective_from", "id"
    )
    for p in rows:  # later rows overwrite earlier ones: the last is in force
        current[p.model] = PriceData(
            p.pk,
            p.model,
            p.input_per_million,
            p.output_per_million,
            p.cached_input_per_million,
            p.cache_write_per_million,
            p.per_request,
            p.max_output_tokens,
        )
    return current


class PriceBook:
    def __init__(self) -> None:
        self._prices: dict[str, PriceData] = {}
        self._loaded_at = float("-inf")
        self._epoch = EpochWatcher()

    async def _table(self) -> dict[str, PriceData]:
        moved = await self._epoch.refresh()
        if moved or time.monotonic() - self._loaded_at > _TTL_S:
            self._prices = await sync_to_async(load_prices)()
            self._loaded_at = time.monotonic()
        return self._prices

    async def price(self, *names: str) -> PriceData:
        """The first priced name (served upstream model, then route name), else free."""
        table = await self._table()
        for name in names:
            if name in table:
                return table[name]
        return FREE

    async def most_expensive(self, route: str, upstream_models: Iterable[str]) -> PriceData:
        """For reservations: the dearest deployment a request might be served by."""
        table = await self._table()
        candidates = [table[m] for m in upstream_models if m in table]
        if not candidates:
            return table.get(route, FREE)
        return max(candidates, key=lambda p: (p.output_per_million, p.input_per_million))

    def clear(self) -> None:
        self._loaded_at = float("-inf")
