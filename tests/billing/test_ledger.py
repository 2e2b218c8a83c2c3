"""The PostgreSQL hot-path ledger keeps billing/budgets.py's semantics, statement for statement."""

from __future__ import annotations

from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async

from audit.models import AuditRecord
from billing import budgets, ledger
from billing.models import Budget, BudgetPeriod, Reservation, UsageRecord
from billing.rules import load_rules
from gateway_project import pgpool

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.needs_postgres]


@pytest.fixture
async def rules(world):
    def setup():
        Budget.objects.create(team=world.search, limit_usd=Decimal("1.00"), alert_at=[50])
        Budget.objects.create(org=world.acme, limit_usd=Decimal("10.00"))
        return load_rules(world.acme.pk, world.search.pk, world.acme_key.pk)[1]

    budgets.forget_period_ids()
    result = await sync_to_async(setup)()
    yield result
    await pgpool.close_pool()


def _rows(world, rid):
    """Complete rows, as proxy/finalize.py builds them (raw INSERTs get no Django defaults)."""
    from django.utils import timezone

    now = timezone.now()
    common = {
        "created_at": now, "org_id": world.acme.pk, "team_id": world.search.pk,
        "key_id": world.acme_key.pk, "key_prefix": "p", "end_user": "",
        "endpoint": "/v1/chat/completions", "model_requested": "m", "model_served": "m",
        "provider": "mock", "deployment_id": None, "prompt_tokens": 3, "completion_tokens": 4,
        "cost_usd": Decimal("0.6"), "status": 200, "stream": False, "latency_ms": 1.0,
    }  # fmt: skip
    usage = {
        **common, "cached_tokens": 0, "cache_write_tokens": 0, "reasoning_tokens": 0,
        "usage_estimated": False, "price_id": None,
    }  # fmt: skip
    audit = {
        **common, "request_id": rid, "org_slug": "acme", "team_slug": "search",
        "client_ip": "127.0.0.1", "policy_version": "", "decision": "allow", "output_decision": "",
        "rule_ids": [], "risk_score": 0, "error_code": "", "attempts": [], "prompt_hmac": "",
        "captured": "",
    }  # fmt: skip
    return usage, audit


def _team_period():
    return BudgetPeriod.objects.get(budget__team__isnull=False)


async def test_reserve_holds_every_budget_or_none(world, rules):
    await ledger.reserve(
        request_id="a", rules=rules, time_zone="UTC", amount=Decimal("0.90"), tokens=5
    )
    with pytest.raises(budgets.BudgetExceeded) as err:
        await ledger.reserve(
            request_id="b", rules=rules, time_zone="UTC", amount=Decimal("0.20"), tokens=5
        )
    assert err.value.rule.scope.startswith("team:")
    periods = await sync_to_async(
        lambda: {p.budget.scope: p.reserved for p in BudgetPeriod.objects.select_related("budget")}
    )()
    assert set(periods.values()) == {
        Decimal("0.90")
    }  # the org budget had room but holds nothing for b
    assert not await sync_to_async(Reservation.objects.filter(request_id="b").exists)()


async def test_settle_charges_actual_cost_once_and_writes_both_rows(world, rules):
    pids = await ledger.reserve(
        request_id="r", rules=rules, time_zone="UTC", amount=Decimal("0.40"), tokens=9
    )
    usage, audit = _rows(world, "r")
    for _ in range(3):
        settled = await ledger.settle_and_record(
            request_id="r", cost=Decimal("0.60"), tokens=7, period_ids=pids,
            reached_provider=True, usage=usage, audit=audit,
        )  # fmt: skip
    team = await sync_to_async(_team_period)()
    assert (team.spent, team.reserved, team.tokens_reserved) == (Decimal("0.60"), 0, 0)
    assert await sync_to_async(UsageRecord.objects.filter(request_id="r").count)() == 1
    assert await sync_to_async(AuditRecord.objects.filter(request_id="r").count)() == 1
    assert settled == []  # the third settlement found nothing left to do
    alerts = budgets.crossed_thresholds(
        [(team.pk, team.budget_id, team.spent)], Decimal("0.60"), rules
    )
    assert [a.threshold for a in alerts] == [50]


async def test_release_gives_everything_back_and_records_the_request(world, rules):
    pids = await ledger.reserve(
        request_id="x", rules=rules, time_zone="UTC", amount=Decimal("0.50"), tokens=3
    )
    usage, audit = _rows(world, "x")
    await ledger.settle_and_record(
        request_id="x", cost=Decimal(0), tokens=0, period_ids=pids,
        reached_provider=False, usage=None, audit=audit,
    )  # fmt: skip
    team = await sync_to_async(_team_period)()
    assert (team.spent, team.reserved) == (0, 0)
    status = await sync_to_async(lambda: Reservation.objects.get(request_id="x").status)()
    assert status == "released"
    assert await sync_to_async(AuditRecord.objects.filter(request_id="x").exists)()


async def test_a_late_settlement_after_the_sweeper_still_charges(world, rules):
    pids = await ledger.reserve(
        request_id="late", rules=rules, time_zone="UTC", amount=Decimal("0.50"), tokens=0
    )
    await sync_to_async(budgets.release)("late")  # what the sweeper does for abandoned reservations
    usage, audit = _rows(world, "late")
    await ledger.settle_and_record(
        request_id="late", cost=Decimal("0.30"), tokens=0, period_ids=pids,
        reached_provider=True, usage=usage, audit=audit,
    )  # fmt: skip
    team = await sync_to_async(_team_period)()
    assert (team.spent, team.reserved) == (Decimal("0.30"), 0)


async def test_a_recreated_budget_is_found_again(world, rules):
    await ledger.reserve(
        request_id="s1", rules=rules, time_zone="UTC", amount=Decimal("0.10"), tokens=0
    )

    def recreate():
        Budget.objects.filter(team=world.search).delete()
        Budget.objects.create(team=world.search, limit_usd=Decimal("1.00"))
        return load_rules(world.acme.pk, world.search.pk, world.acme_key.pk)[1]

    fresh = await sync_to_async(recreate)()
    pids = await ledger.reserve(
        request_id="s2", rules=fresh, time_zone="UTC", amount=Decimal("0.10"), tokens=0
    )
    assert len(pids) == 2
