"""The embedded mode's beat: without Redis there is no Celery worker, so the gateway process
runs the periodic tasks of CELERY_BEAT_SCHEDULE itself (rollups, audit sealing, sweeps)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from asgiref.sync import sync_to_async
from celery.schedules import maybe_schedule
from django.conf import settings

log = logging.getLogger(__name__)
TICK_S = 15.0


class EmbeddedBeat:
    """Runs due beat entries in a worker thread; one tick at a time, never on the event loop."""

    def __init__(self, schedule: dict[str, dict[str, Any]] | None = None) -> None:
        self._entries = schedule if schedule is not None else settings.CELERY_BEAT_SCHEDULE
        self._last: dict[str, datetime] = {}
        self._stop = asyncio.Event()

    def tick(self, now: datetime | None = None) -> list[str]:
        """Run every entry that is due (sync); returns the task names that ran."""
        from gateway_project.celery import app

        app.loader.import_default_modules()  # autodiscovery is lazy; registers the tasks once
        now = now or datetime.now(UTC)
        ran: list[str] = []
        for name, entry in self._entries.items():
            schedule = maybe_schedule(entry["schedule"], app=app)
            schedule.nowfun = lambda: now  # judge due-ness by this tick's clock
            last = self._last.setdefault(name, now)  # first tick: wait one period
            if not schedule.is_due(last).is_due:
                continue
            self._last[name] = now
            try:
                app.tasks[entry["task"]].apply(args=entry.get("args", ()))
                ran.append(str(entry["task"]))
            except Exception:
                log.exception("embedded beat task failed", extra={"task": entry["task"]})
        return ran

    async def run(self) -> None:
        """Tick until stop() is called."""
        while not self._stop.is_set():
            try:
                await asyncio.wait_for(self._stop.wait(), timeout=TICK_S)
            except TimeoutError:
                await sync_to_async(self.tick, thread_sensitive=False)()

    def stop(self) -> None:
        self._stop.set()
