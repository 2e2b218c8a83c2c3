"""Streamed and disconnected requests are charged; Redis outages never lift the limits."""

from __future__ import annotations

import time
from decimal import Decimal

import httpx
import openai
import pytest

from billing.models import Budget, BudgetPeriod, RateLimit, UsageRecord
from tests.e2e.helpers import fixed_price_route, wait_settled
from tests.server import start_gateway

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
LONG = " ".join(f"word{i}" for i in range(40))


@pytest.fixture
def gateway(tmp_path):
    server = start_gateway(tmp_path)
    yield server
    server.stop()


def _wait_usage(request_id: str, timeout: float = 10) -> UsageRecord:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = UsageRecord.objects.filter(request_id=request_id).first()
        if row is not None:
            return row
        time.sleep(0.05)
    raise AssertionError(f"no usage row for {request_id}")


def _wait_usage_logged(gateway, request_id: str) -> UsageRecord:
    try:
        return _wait_usage(request_id)
    except AssertionError:
        raise AssertionError(
            f"no usage row for {request_id}; gateway log:\n{gateway.log()[-3000:]}"
        ) from None


def test_a_streamed_request_is_charged_with_its_real_usage(world, gateway):
    fixed_price_route(output="1000", options={"chunk_count": 5})
    Budget.objects.create(team=world.search, limit_usd=Decimal("100"))
    client = openai.OpenAI(
        base_url=f"{gateway.url}/v1", api_key=world.acme_key_plain, max_retries=0
    )
    raw = client.chat.completions.with_raw_response.create(
        model="fixed", messages=[{"role": "user", "content": LONG}], stream=True
    )
    text = "".join(c.choices[0].delta.content or "" for c in raw.parse() if c.choices)
    row = _wait_usage_logged(gateway, raw.headers["x-request-id"])
    assert row.stream and row.status == 200 and not row.usage_estimated
    assert row.completion_tokens == len(text.split()) == 41
    assert row.cost_usd == Decimal("0.041")
    wait_settled()
    assert BudgetPeriod.objects.get(budget__team=world.search).spent == Decimal("0.041")


def test_a_client_that_disconnects_mid_stream_is_charged_for_what_was_delivered(world, gateway):
    fixed_price_route(output="1000", options={"chunk_count": 40, "chunk_delay_ms": 100})
    Budget.objects.create(team=world.search, limit_usd=Decimal("100"))
    body = {"model": "fixed", "stream": True, "messages": [{"role": "user", "content": LONG}]}
    headers = {"Authorization": f"Bearer {world.acme_key_plain}"}
    with httpx.stream(
        "POST", f"{gateway.url}/v1/chat/completions", json=body, headers=headers
    ) as r:
        request_id = r.headers["x-request-id"]
        lines = r.iter_lines()
        received = [next(lines) for _ in range(6)]  # role chunk + a few words, then hang up
    assert any("word" in line or "echo" in line for line in received)
    row = _wait_usage(request_id)
    assert row.status == 499 and row.usage_estimated
    assert 0 < row.completion_tokens < 41
    assert row.prompt_tokens > 0 and row.cost_usd > 0
    wait_settled()
    period = BudgetPeriod.objects.get(budget__team=world.search)
    assert period.spent == row.cost_usd and period.reserved == 0


@pytest.mark.parametrize(
    ("mode", "expected_ok", "expected_error"),
    [("local", 5, "rate_limit_exceeded"), ("closed", 0, "rate_limiter_unavailable")],
)
def test_redis_down_never_lets_the_full_limit_through_one_process(
    world, tmp_path, mode, expected_ok, expected_error
):
    fixed_price_route()
    RateLimit.objects.create(team=world.search, rpm=10)
    env = {
        "REDIS_URL": "redis://127.0.0.1:1/0",  # nothing listens there
        "WEB_CONCURRENCY": "2",  # the fleet has two processes: each may use half the limit
        "GATEWAY_RATELIMIT_ON_REDIS_ERROR": mode,
    }
    server = start_gateway(tmp_path, env=env)
    try:
        headers = {"Authorization": f"Bearer {world.acme_key_plain}"}
        body = {"model": "fixed", "messages": [{"role": "user", "content": "hi"}]}
        codes = []
        for _ in range(10):
            r = httpx.post(
                f"{server.url}/v1/chat/completions", json=body, headers=headers, timeout=30
            )
            codes.append("ok" if r.status_code == 200 else r.json()["error"]["code"])
        assert codes.count("ok") == expected_ok, codes
        assert codes.count(expected_error) == 10 - expected_ok, codes
    finally:
        server.stop()


def test_usage_rows_stamp_the_price_version_in_force(world, gateway):
    from billing.models import Price

    fixed_price_route(per_request="0.01")
    first = Price.objects.get(model="fixed-upstream")
    client = openai.OpenAI(
        base_url=f"{gateway.url}/v1", api_key=world.acme_key_plain, max_retries=0
    )
    msg = [{"role": "user", "content": "hi"}]
    a = client.chat.completions.with_raw_response.create(model="fixed", messages=msg)
    second = Price.objects.create(model="fixed-upstream", per_request=Decimal("0.02"))
    time.sleep(1.0)  # the gateway notices the new version through its config epoch
    b = client.chat.completions.with_raw_response.create(model="fixed", messages=msg)
    row_a, row_b = _wait_usage(a.headers["x-request-id"]), _wait_usage(b.headers["x-request-id"])
    assert (row_a.price_id, row_a.cost_usd) == (first.pk, Decimal("0.01"))
    assert (row_b.price_id, row_b.cost_usd) == (second.pk, Decimal("0.02"))


def test_key_info_reports_limits_and_remaining_budget(world, gateway):
    fixed_price_route(per_request="0.25")
    RateLimit.objects.create(key=world.acme_key, rpm=100)
    Budget.objects.create(team=world.search, limit_usd=Decimal("1.00"))
    headers = {"Authorization": f"Bearer {world.acme_key_plain}"}
    body = {"model": "fixed", "messages": [{"role": "user", "content": "hi"}]}
    assert (
        httpx.post(f"{gateway.url}/v1/chat/completions", json=body, headers=headers).status_code
        == 200
    )
    wait_settled()
    info = httpx.get(f"{gateway.url}/v1/key/info", headers=headers).json()
    assert info["key"]["team"] == "search" and info["key"]["prefix"] == world.acme_key.prefix
    assert info["rate_limits"] == [
        {"scope": f"key:{world.acme_key.pk}", "rpm": 100, "tpm": None, "max_parallel": None}
    ]
    assert info["rate_limit_status"]["x-ratelimit-remaining-requests"] == "99"
    [budget] = info["budgets"]
    assert (budget["spent_usd"], budget["remaining_usd"]) == ("0.25", "0.75")
