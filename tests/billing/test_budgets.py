"""Reservation, settlement, release, alerts and period roll-over against the real database."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.core import mail

from billing import budgets
from billing.models import Budget, BudgetPeriod, Reservation, UsageRecord
from billing.rules import load_rules

pytestmark = pytest.mark.django_db


@pytest.fixture
def team_budget(world):
    Budget.objects.create(team=world.search, limit_usd=Decimal("1.00"), alert_at=[50, 80, 100])
    return world


def rules_for(world, key=None):
    key = key or world.acme_key
    return load_rules(world.acme.pk, world.search.pk, key.pk)[1]


def usage_row(world, **extra):
    row = {
        "org_id": world.acme.pk, "team_id": world.search.pk, "key_id": world.acme_key.pk,
        "key_prefix": world.acme_key.prefix, "endpoint": "/v1/chat/completions",
        "model_requested": "demo", "status": 200,
    }  # fmt: skip
    row.update(extra)
    return row


def period(world):
    return BudgetPeriod.objects.get(budget__team=world.search)


def test_reserve_holds_and_settle_charges_actual_and_releases_the_rest(team_budget):
    world = team_budget
    rules = rules_for(world)
    assert budgets.reserve(
        request_id="r1", rules=rules, time_zone="UTC", amount=Decimal("0.40"), tokens=10
    )
    assert period(world).reserved == Decimal("0.40")
    budgets.settle(
        request_id="r1", cost=Decimal("0.15"), tokens=8, rules=rules, usage=usage_row(world)
    )
    p = period(world)
    assert (p.spent, p.reserved, p.tokens_reserved) == (Decimal("0.15"), 0, 0)
    assert UsageRecord.objects.get(request_id="r1").team_id == world.search.pk


def test_a_request_that_would_exceed_the_hard_budget_is_refused_and_holds_nothing(team_budget):
    world = team_budget
    rules = rules_for(world)
    budgets.reserve(request_id="a", rules=rules, time_zone="UTC", amount=Decimal("0.90"), tokens=0)
    with pytest.raises(budgets.BudgetExceeded):
        budgets.reserve(
            request_id="b", rules=rules, time_zone="UTC", amount=Decimal("0.11"), tokens=0
        )
    assert period(world).reserved == Decimal("0.90")
    assert not Reservation.objects.filter(request_id="b").exists()


def test_key_team_and_org_are_reserved_all_or_nothing(world):
    Budget.objects.create(key=world.acme_key, limit_usd=Decimal("5"))
    Budget.objects.create(org=world.acme, limit_usd=Decimal("0.50"))
    rules = rules_for(world)
    with pytest.raises(budgets.BudgetExceeded) as err:
        budgets.reserve(request_id="x", rules=rules, time_zone="UTC", amount=Decimal("1"), tokens=0)
    assert err.value.rule.scope.startswith("org:")
    assert all(p.reserved == 0 for p in BudgetPeriod.objects.all())


def test_settlement_is_idempotent_per_request_id(team_budget):
    world = team_budget
    rules = rules_for(world)
    budgets.reserve(request_id="r", rules=rules, time_zone="UTC", amount=Decimal("0.5"), tokens=0)
    for _ in range(3):
        budgets.settle(
            request_id="r", cost=Decimal("0.2"), tokens=0, rules=rules, usage=usage_row(world)
        )
    assert period(world).spent == Decimal("0.2")
    assert UsageRecord.objects.filter(request_id="r").count() == 1


def test_release_gives_back_a_reservation_without_spend(team_budget):
    world = team_budget
    rules = rules_for(world)
    budgets.reserve(request_id="r", rules=rules, time_zone="UTC", amount=Decimal("0.5"), tokens=0)
    budgets.release("r")
    p = period(world)
    assert (p.spent, p.reserved) == (0, 0)


def test_sweeper_releases_abandoned_reservations_and_a_late_settlement_still_charges(team_budget):
    world = team_budget
    rules = rules_for(world)
    with time_machine.travel(datetime(2026, 5, 1, 12, tzinfo=UTC)):
        budgets.reserve(
            request_id="r", rules=rules, time_zone="UTC", amount=Decimal("0.5"), tokens=0
        )
    with time_machine.travel(datetime(2026, 5, 1, 13, tzinfo=UTC)):
        assert budgets.sweep_expired() == 1
        assert period(world).reserved == 0
        budgets.settle(
            request_id="r", cost=Decimal("0.3"), tokens=0, rules=rules, usage=usage_row(world)
        )
    assert period(world).spent == Decimal("0.3")


def test_each_threshold_alerts_once_per_period(
    team_budget, django_capture_on_commit_callbacks, eager_celery
):
    world = team_budget
    world.alice.email = "alice@acme.example"
    world.alice.save()
    rules = rules_for(world)
    sent = []
    with django_capture_on_commit_callbacks(execute=True):
        for i in range(10):  # 10 x 0.10 crosses 50%, 80% and 100% exactly once each
            budgets.reserve(
                request_id=f"r{i}", rules=rules, time_zone="UTC", amount=Decimal("0.10"), tokens=0
            )
            sent += budgets.settle(request_id=f"r{i}", cost=Decimal("0.10"), tokens=0, rules=rules)
    with pytest.raises(budgets.BudgetExceeded):
        budgets.reserve(
            request_id="r10", rules=rules, time_zone="UTC", amount=Decimal("0.10"), tokens=0
        )
    assert sorted(a.threshold for a in sent) == [50, 80, 100]
    assert period(world).alerts_sent == [50, 80, 100]
    assert len(mail.outbox) == 3
    assert all("alice@acme.example" in m.to for m in mail.outbox)
    assert "100%" in mail.outbox[-1].subject


def test_a_new_period_starts_with_fresh_counters(world):
    Budget.objects.create(team=world.search, period="daily", limit_usd=Decimal("1.00"))
    rules = rules_for(world)
    with time_machine.travel(datetime(2026, 6, 1, 23, 0, tzinfo=UTC)):
        budgets.reserve(
            request_id="d1", rules=rules, time_zone="UTC", amount=Decimal("1.00"), tokens=0
        )
        budgets.settle(request_id="d1", cost=Decimal("1.00"), tokens=0, rules=rules)
        with pytest.raises(budgets.BudgetExceeded):
            budgets.reserve(
                request_id="d2", rules=rules, time_zone="UTC", amount=Decimal("0.01"), tokens=0
            )
    with time_machine.travel(datetime(2026, 6, 2, 0, 30, tzinfo=UTC)):
        assert budgets.reserve(
            request_id="d3", rules=rules, time_zone="UTC", amount=Decimal("0.50"), tokens=0
        )
    assert BudgetPeriod.objects.count() == 2


def test_soft_budgets_alert_but_never_refuse(world):
    Budget.objects.create(team=world.search, limit_usd=Decimal("0.10"), hard=False, alert_at=[100])
    rules = rules_for(world)
    for i in range(3):
        budgets.reserve(
            request_id=f"s{i}", rules=rules, time_zone="UTC", amount=Decimal("0.10"), tokens=0
        )
        budgets.settle(request_id=f"s{i}", cost=Decimal("0.10"), tokens=0, rules=rules)
    assert period(world).spent == Decimal("0.30")
