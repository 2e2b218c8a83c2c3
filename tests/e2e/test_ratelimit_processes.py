"""Rate limits are the same whether one or two gateway processes serve the traffic."""

from __future__ import annotations

import time

import pytest
import redis

from billing.models import RateLimit
from tests.e2e.helpers import fire, fixed_price_route
from tests.server import start_gateway

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.needs_redis]
WINDOW = 2


@pytest.fixture
def two_gateways(tmp_path):
    env = {"GATEWAY_RATELIMIT_WINDOW_S": str(WINDOW)}
    servers = [start_gateway(tmp_path, env=env), start_gateway(tmp_path, env=env)]
    yield servers
    for server in servers:
        server.stop()


def _redis_time(settings) -> float:
    seconds, micros = redis.Redis.from_url(settings.REDIS_URL).time()
    return seconds + micros / 1e6


def test_two_processes_admit_exactly_the_limit(world, two_gateways):
    fixed_price_route()
    RateLimit.objects.create(team=world.search, rpm=20)
    counts = fire([s.url for s in two_gateways], world.acme_key_plain, 60)
    print(f"\nrpm 20, 60 concurrent over 2 processes: {dict(counts)}")
    assert counts["ok"] == 20, counts
    assert counts["rate_limit_exceeded"] == 40, counts


def test_a_burst_straddling_the_window_boundary_gets_the_limit_once(world, two_gateways, settings):
    fixed_price_route()
    RateLimit.objects.create(team=world.search, rpm=10)
    urls = [s.url for s in two_gateways]
    fire(urls, world.globex_key_plain, 1)  # warm both processes' caches (another org)
    now = _redis_time(settings)
    boundary = (int(now) // WINDOW + 1) * WINDOW  # where a fixed window would reset
    time.sleep(max(0.0, boundary - 0.15 - now))
    before = fire(urls, world.acme_key_plain, 30)
    time.sleep(max(0.0, boundary + 0.15 - _redis_time(settings)))
    after = fire(urls, world.acme_key_plain, 30)
    print(
        f"\nrpm 10, 30 just before and 30 just after a {WINDOW}s boundary: {before['ok']} + {after['ok']}"
    )
    assert before["ok"] + after["ok"] <= 10 + 1, (before, after)
    assert before["ok"] + after["ok"] >= 10 - 1, (before, after)
    time.sleep(WINDOW + 0.3)
    assert fire(urls, world.acme_key_plain, 30)["ok"] == 10
