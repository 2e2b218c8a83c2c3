"""Without Redis the gateway runs the beat schedule itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from audit.models import AuditRecord
from billing.models import Rollup
from gateway_project.embedded import EmbeddedBeat

START = datetime(2026, 5, 1, 12, tzinfo=UTC)


def test_entries_run_once_their_period_has_passed(settings, eager_celery, db):
    beat = EmbeddedBeat(
        {"sweep": {"task": "billing.tasks.sweep_reservations_task", "schedule": 60.0}}
    )
    assert beat.tick(START) == []  # the first tick only starts the clock
    assert beat.tick(START + timedelta(seconds=30)) == []
    assert beat.tick(START + timedelta(seconds=61)) == ["billing.tasks.sweep_reservations_task"]
    assert beat.tick(START + timedelta(seconds=62)) == []


@pytest.mark.django_db
def test_the_shipped_schedule_keeps_rollups_current(world, eager_celery):
    AuditRecord.objects.create(
        request_id="r1", org_id=world.acme.pk, team_id=world.search.pk, key_id=world.acme_key.pk,
        endpoint="/v1/chat/completions", model_requested="demo", status=200,
    )  # fmt: skip
    beat = EmbeddedBeat()
    now = datetime.now(UTC)
    beat.tick(now)
    ran = beat.tick(now + timedelta(minutes=2))
    assert "billing.tasks.refresh_rollups_task" in ran
    assert Rollup.objects.filter(granularity="hour", org_id=world.acme.pk).exists()
