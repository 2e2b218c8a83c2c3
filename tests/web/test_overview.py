"""Overview: charts, top keys and budget bars from rollups; members see only their teams."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import Budget, BudgetPeriod
from billing.periods import period_bounds
from tests.web.conftest import rollup

pytestmark = pytest.mark.django_db


@pytest.fixture
def traffic(world):
    day = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    for i in range(3):
        at = day - timedelta(days=i)
        rollup(org=world.acme, team=world.search, key=world.acme_key, at=at, requests=10,
               cost="1.25", blocked=2, upstream_errors=1)  # fmt: skip
        rollup(org=world.acme, team=world.ads, model="gpt-x", at=at, requests=5, cost="0.5")
        rollup(org=world.globex, team=world.rnd, key=world.globex_key, at=at, requests=99,
               cost="9")  # fmt: skip


def test_org_admin_sees_all_teams(world, as_user, traffic):
    page = as_user("alice").get("/").content.decode()
    assert ">45<" in page  # 3 days x (10 + 5) requests
    assert "$5.2500" in page
    assert "<svg" in page and "Search" in page and "Ads" in page and "R&amp;D" not in page
    assert "search-app" in page and "rnd-app" not in page  # top keys
    assert "kozea.github.io" not in page  # no CDN script from pygal


def test_member_sees_only_their_teams(world, as_user, traffic):
    world.erin.membership.teams.add(world.ads)
    page = as_user("erin").get("/").content.decode()
    assert ">15<" in page and "$1.5000" in page and "search-app" not in page


def test_hourly_range(world, as_user):
    rollup(org=world.acme, team=world.search, at=timezone.now() - timedelta(hours=1),
           granularity="hour", requests=3)  # fmt: skip
    assert ">3<" in as_user("alice").get("/?range=24h").content.decode()


def test_budget_bars_mark_thresholds(world, as_user):
    budget = Budget.objects.create(team=world.search, limit_usd=Decimal(10), alert_at=[50, 80])
    start, end = period_bounds("monthly", "UTC", timezone.now())
    BudgetPeriod.objects.create(budget=budget, starts_at=start, ends_at=end, spent=Decimal(6))
    page = as_user("alice").get("/").content.decode()
    assert 'style="width: 60.0%"' in page
    assert 'title="alert at 50 %"' in page and 'title="alert at 80 %"' in page
