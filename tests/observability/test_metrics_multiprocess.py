"""/metrics counts every request once, whichever of the server's worker processes served it."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway_project import metrics
from tests.observability.helpers import (
    CHAT_PATH,
    burst,
    eventually,
    scrape,
    total,
)
from tests.server import start_gateway, wait_for_gateway_bookkeeping

pytestmark = [pytest.mark.django_db(transaction=True)]
BATCH = 24


@pytest.fixture
def two_workers(world, tmp_path):
    server = start_gateway(tmp_path, workers=2)
    yield server
    wait_for_gateway_bookkeeping()
    server.stop()


def _pids_with_counters(directory: Path) -> set[str]:
    return {path.stem.rsplit("_", 1)[1] for path in directory.glob("counter_*.db")}


def test_request_counter_totals_the_requests_served_by_two_worker_processes(world, two_workers):
    directory = metrics.BASE_DIR / metrics.process_tag(two_workers.process.pid)
    sent = 0
    # Keep sending until both workers have served some (the kernel picks who accepts).
    for _ in range(10):
        responses = burst(two_workers.url, world.acme_key_plain, BATCH)
        assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
        sent += BATCH
        if len(_pids_with_counters(directory)) == 2:
            break
    assert len(_pids_with_counters(directory)) == 2, "one worker served everything"
    labels = {"route": CHAT_PATH, "status": "200", "model": "demo", "org": "acme", "team": "search"}

    def counted() -> bool:
        return total(scrape(two_workers.url), "gateway_requests_total", **labels) == sent

    assert eventually(counted)
    # Every scrape, whichever worker answers it, sees the same sums.
    for _ in range(6):
        samples = scrape(two_workers.url)
        assert total(samples, "gateway_requests_total") == sent
        assert total(samples, "gateway_requests_total", **labels) == sent
        assert total(samples, "gateway_request_duration_seconds_count", route=CHAT_PATH) == sent
        assert total(samples, "gateway_overhead_seconds_count", route=CHAT_PATH) == sent
        assert total(samples, "gateway_upstream_duration_seconds_count", model="demo") == sent
        assert total(samples, "gateway_worker_processes") == 2
        prompt = total(samples, "gateway_tokens_total", type="prompt", org="acme", team="search")
        assert prompt > 0
