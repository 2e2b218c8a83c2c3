"""Public list prices of the models the example configuration routes (USD per million tokens).

Taken from the providers' published pricing pages (openai.com/api/pricing,
anthropic.com/pricing) as of 2025-06-01; re-check before relying on them and add a new
price version (apply_config `price:` or the management API) when they change.
"""

from __future__ import annotations

PRICES_TAKEN_ON = "2025-06-01"
SOURCE = f"provider list price as published on {PRICES_TAKEN_ON}"

# model: (input, output, cached input, cache write, max output tokens)
SEED: dict[str, tuple[str, str, str | None, str | None, int]] = {
    "gpt-4o": ("2.50", "10.00", "1.25", None, 16384),
    "gpt-4o-mini": ("0.15", "0.60", "0.075", None, 16384),
    "gpt-4.1": ("2.00", "8.00", "0.50", None, 32768),
    "gpt-4.1-mini": ("0.40", "1.60", "0.10", None, 32768),
    "gpt-4.1-nano": ("0.10", "0.40", "0.025", None, 32768),
    "text-embedding-3-small": ("0.02", "0", None, None, 0),
    "text-embedding-3-large": ("0.13", "0", None, None, 0),
    "claude-opus-4-20250514": ("15.00", "75.00", "1.50", "18.75", 32000),
    "claude-sonnet-4-20250514": ("3.00", "15.00", "0.30", "3.75", 64000),
    "claude-3-5-haiku-20241022": ("0.80", "4.00", "0.08", "1.00", 8192),
}
