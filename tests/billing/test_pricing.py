from __future__ import annotations

from decimal import Decimal

from billing.pricing import FREE, PriceData, cost, max_cost
from proxy.formats import Usage

PRICE = PriceData(
    1, "m", Decimal("2.50"), Decimal("10.00"), Decimal("1.25"), Decimal("3.75"), Decimal("0"), 16384
)


def test_cost_splits_plain_cached_and_cache_write_input():
    usage = Usage(
        prompt_tokens=1_000_000,
        completion_tokens=0,
        cached_tokens=400_000,
        cache_write_tokens=100_000,
    )
    # 500k plain at 2.50, 400k cached at 1.25, 100k writes at 3.75
    assert cost(usage, PRICE) == Decimal("1.25") + Decimal("0.50") + Decimal("0.375")


def test_output_includes_reasoning_tokens_once():
    usage = Usage(prompt_tokens=0, completion_tokens=2_000, reasoning_tokens=1_500)
    assert cost(usage, PRICE) == Decimal("0.02")


def test_per_request_price_is_added():
    price = PriceData(2, "m", Decimal(0), Decimal(0), None, None, Decimal("0.01"), 100)
    assert cost(Usage(), price) == Decimal("0.01")


def test_cost_is_exact_decimal_not_float():
    usage = Usage(prompt_tokens=3, completion_tokens=7)
    price = PriceData(3, "m", Decimal("0.1"), Decimal("0.2"), None, None, Decimal(0), 10)
    assert cost(usage, price) == Decimal("0.0000017")
    assert isinstance(cost(usage, price), Decimal)


def test_max_cost_uses_max_tokens_or_the_models_longest_answer():
    assert max_cost(1000, 500, PRICE) == Decimal("0.00875")  # 1000*3.75 (write rate) + 500*10
    assert max_cost(0, None, PRICE) == Decimal("0.16384")


def test_unpriced_models_are_free():
    assert cost(Usage(prompt_tokens=10, completion_tokens=10), FREE) == 0
