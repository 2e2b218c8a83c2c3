"""Pure translation between the OpenAI Chat Completions and Anthropic Messages wire formats.

The gateway's canonical format is OpenAI Chat Completions. The submodules translate
requests (`anthropic_request`, which re-exports the reverse direction from
`openai_request`), non-streaming responses and error bodies (`anthropic_response`) and
streams (`anthropic_stream`). This package holds what they share: the error types and the
provider-neutral `Usage` record used for billing.

Nothing here does I/O or imports Django.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = [
    "TranslationError",
    "UpstreamStreamError",
    "Usage",
    "anthropic_usage",
    "dumps_json",
    "openai_usage",
]


class TranslationError(ValueError):
    """A request or response that cannot be translated without changing its meaning."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        # Path of the offending field in the *input* body, e.g. "messages[2].content[0].type",
        # so the API layer can put it into the OpenAI error's `param`.
        self.param = param

    def __str__(self) -> str:
        return f"{self.message} (param: {self.param})" if self.param else self.message


class UpstreamStreamError(Exception):
    """An `error` event received in the middle of an upstream stream."""

    def __init__(self, message: str, error_type: str) -> None:
        super().__init__(message)
        self.message = message
        self.error_type = error_type


@dataclass(frozen=True, slots=True)
class Usage:
    """Provider-neutral token counts; `prompt_tokens` includes cached and cache-write tokens."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens, as OpenAI reports `total_tokens`."""
        return self.prompt_tokens + self.completion_tokens


def _count(mapping: Mapping[str, Any] | None, key: str) -> int:
    # Providers send explicit nulls for counters that do not apply (e.g. no cache used).
    if not mapping:
        return 0
    value = mapping.get(key)
    return int(value) if isinstance(value, int | float) else 0


def openai_usage(usage: Mapping[str, Any] | None) -> Usage:
    """Read an OpenAI `usage` object (with its optional token details) into `Usage`."""
    if not usage:
        return Usage()
    prompt_details = usage.get("prompt_tokens_details")
    completion_details = usage.get("completion_tokens_details")
    return Usage(
        prompt_tokens=_count(usage, "prompt_tokens"),
        completion_tokens=_count(usage, "completion_tokens"),
        cached_tokens=_count(prompt_details, "cached_tokens"),
        cache_write_tokens=_count(prompt_details, "cache_write_tokens"),
        reasoning_tokens=_count(completion_details, "reasoning_tokens"),
    )


def anthropic_usage(usage: Mapping[str, Any] | None) -> Usage:
    """Read an Anthropic `usage` object into `Usage`."""
    if not usage:
        return Usage()
    # Anthropic's `input_tokens` excludes cache reads and writes; all three are billed input,
    # so the OpenAI-style prompt total is their sum.
    cache_read = _count(usage, "cache_read_input_tokens")
    cache_write = _count(usage, "cache_creation_input_tokens")
    return Usage(
        prompt_tokens=_count(usage, "input_tokens") + cache_read + cache_write,
        completion_tokens=_count(usage, "output_tokens"),
        cached_tokens=cache_read,
        cache_write_tokens=cache_write,
        reasoning_tokens=_count(usage.get("output_tokens_details"), "thinking_tokens"),
    )


def dumps_json(value: Any) -> str:
    """Serialize to compact JSON text (the form OpenAI uses for tool-call `arguments`)."""
    return orjson.dumps(value).decode()
