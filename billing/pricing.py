"""Pure money math: the cost of a usage, the most a request can cost. Decimal only."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from proxy.formats import Usage

MILLION = Decimal(1_000_000)
QUANTUM = Decimal("0.0000000001")  # matches the database's 10 decimal places
ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class PriceData:
    """A price version as the data plane caches it."""

    id: int | None
    model: str
    input_per_million: Decimal
    output_per_million: Decimal
    cached_input_per_million: Decimal | None
    cache_write_per_million: Decimal | None
    per_request: Decimal
    max_output_tokens: int


FREE = PriceData(None, "", ZERO, ZERO, None, None, ZERO, 16384)


def _q(value: Decimal) -> Decimal:
    return value.quantize(QUANTUM, rounding=ROUND_HALF_EVEN)


def cost(usage: Usage, price: PriceData) -> Decimal:
    """What a usage costs: uncached, cached and cache-write input, output (incl. reasoning)."""
    cached = min(usage.cached_tokens, usage.prompt_tokens)
    writes = min(usage.cache_write_tokens, usage.prompt_tokens - cached)
    plain = usage.prompt_tokens - cached - writes
    cached_rate = price.cached_input_per_million
    write_rate = price.cache_write_per_million
    total = (
        Decimal(plain) * price.input_per_million
        + Decimal(cached) * (cached_rate if cached_rate is not None else price.input_per_million)
        + Decimal(writes) * (write_rate if write_rate is not None else price.input_per_million)
        # Reasoning tokens are already part of completion_tokens in both providers' usage.
        + Decimal(usage.completion_tokens) * price.output_per_million
    ) / MILLION
    return _q(total + price.per_request)


def max_cost(prompt_tokens: int, max_output_tokens: int | None, price: PriceData) -> Decimal:
    """The most a request can cost: the whole prompt uncached plus the longest answer."""
    output = max_output_tokens if max_output_tokens is not None else price.max_output_tokens
    input_rate = max(
        price.input_per_million,
        price.cache_write_per_million or ZERO,
    )
    total = (
        Decimal(prompt_tokens) * input_rate + Decimal(output) * price.output_per_million
    ) / MILLION
    return _q(total + price.per_request)
