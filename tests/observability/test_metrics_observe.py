"""observe(): what one finished request adds to each metric, label bounds, and its cost."""

from __future__ import annotations

import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway_project import metrics
from tests.observability.helpers import Samples, total
from tests.observability.outcomes import bare, key_context, served


def snapshot() -> Samples:
    return [
        (sample.name, dict(sample.labels), sample.value)
        for family in text_string_to_metric_families(metrics.render().decode())
        for sample in family.samples
    ]


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return total(after, name, **labels) - total(before, name, **labels)


def test_a_served_request_moves_requests_latency_tokens_cost_policy_and_upstream_errors():
    before = snapshot()
    metrics.observe(served(), 0.125)
    after = snapshot()
    team = {"org": "acme", "team": "search"}
    route = {"route": "/v1/chat/completions"}
    assert (
        delta(
            before, after, "gateway_requests_total", status="200", model="gpt-test", **route, **team
        )
        == 1
    )
    assert delta(before, after, "gateway_request_duration_seconds_count", **route) == 1
    assert delta(before, after, "gateway_overhead_seconds_count", **route) == 1
    # 250 ms in all, 240 ms upstream: about 10 ms of overhead lands in the <= 25 ms bucket.
    assert delta(before, after, "gateway_overhead_seconds_bucket", le="0.025", **route) == 1
    assert delta(before, after, "gateway_overhead_seconds_bucket", le="0.005", **route) == 0
    upstream = {"provider": "openai-prod", "model": "gpt-test"}
    assert delta(
        before, after, "gateway_upstream_duration_seconds_sum", **upstream
    ) == pytest.approx(0.24)
    assert (
        delta(
            before, after, "gateway_upstream_errors_total", provider="openai-prod", kind="timeout"
        )
        == 1
    )
    assert delta(before, after, "gateway_upstream_errors_total", kind="ok") == 0
    assert (
        delta(before, after, "gateway_tokens_total", type="prompt", model="gpt-test", **team) == 12
    )
    assert (
        delta(before, after, "gateway_tokens_total", type="completion", model="gpt-test", **team)
        == 30
    )
    assert delta(
        before, after, "gateway_cost_usd_total", model="gpt-test", **team
    ) == pytest.approx(0.125)
    assert (
        delta(before, after, "gateway_policy_decisions_total", stage="input", action="redact") == 1
    )
    assert (
        delta(before, after, "gateway_policy_decisions_total", stage="output", action="allow") == 1
    )
    # Two findings of one rule: the rule matched one request.
    assert (
        delta(before, after, "gateway_policy_rule_matches_total", stage="input", rule="pii-email")
        == 1
    )


@pytest.mark.parametrize(
    "code", ["rate_limit_exceeded", "concurrency_limit_exceeded", "budget_exceeded"]
)
def test_limit_and_budget_rejections_are_counted_by_reason_and_team(code):
    before = snapshot()
    metrics.observe(bare("/v1/chat/completions", 429, code, ctx=key_context("globex", "rnd")))
    after = snapshot()
    assert (
        delta(
            before, after, "gateway_limit_rejections_total", reason=code, org="globex", team="rnd"
        )
        == 1
    )
    assert delta(before, after, "gateway_request_errors_total", code=code) == 1
    assert delta(before, after, "gateway_requests_total", status="429", org="globex") == 1


def test_auth_failures_are_counted_without_any_key_label():
    before = snapshot()
    metrics.observe(bare("/v1/chat/completions", 401, "invalid_api_key"))
    metrics.observe(bare("/v1/models", 429, "too_many_auth_failures"))
    after = snapshot()
    assert delta(before, after, "gateway_auth_failures_total", reason="invalid_api_key") == 1
    assert delta(before, after, "gateway_auth_failures_total", reason="too_many_auth_failures") == 1
    assert delta(before, after, "gateway_requests_total", status="401", org="", team="") == 1


def test_a_model_name_the_client_made_up_never_becomes_a_label_value():
    before = snapshot()
    for n in range(50):
        metrics.observe(
            bare("/v1/chat/completions", 404, "model_not_found", ctx=key_context(), model=f"x-{n}")
        )
    after = snapshot()
    assert delta(before, after, "gateway_requests_total", model="unknown", status="404") == 50
    assert not any(labels.get("model", "").startswith("x-") for _, labels, _ in after)


def test_label_combinations_beyond_the_cap_share_one_overflow_series(monkeypatch):
    children = metrics._Children(metrics.ERRORS._metric)
    monkeypatch.setattr(metrics, "MAX_SERIES", 3)
    keys = [("/v1/embeddings", f"code-{n}") for n in range(6)]
    made = [children(key) for key in keys]
    assert len({id(child) for child in made[:3]}) == 3
    assert made[3] is made[4] is made[5]


def test_observe_costs_tens_of_microseconds():
    outcome = served()
    metrics.observe(outcome, 0.01)  # children created
    n = 5000
    started = time.perf_counter()
    for _ in range(n):
        metrics.observe(outcome, 0.01)
    per_call_us = (time.perf_counter() - started) / n * 1e6
    print(f"\nobserve(): {per_call_us:.1f} us per request")
    assert per_call_us < 200  # generous for slow CI machines; typically ~10-20 us
