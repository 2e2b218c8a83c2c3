"""Small input-validation helpers shared by the request translators."""

from __future__ import annotations

from typing import Any

from proxy.formats import TranslationError

Json = dict[str, Any]


def fail(message: str, param: str | None) -> TranslationError:
    """Build the TranslationError for `param` (raise the result)."""
    return TranslationError(message, param)


def expect_list(value: Any, param: str) -> list[Any]:
    """Return `value` if it is a JSON array, else raise a TranslationError for `param`."""
    if not isinstance(value, list):
        raise fail(f"'{param}' must be an array.", param)
    return value


def expect_dict(value: Any, param: str) -> Json:
    """Return `value` if it is a JSON object, else raise a TranslationError for `param`."""
    if not isinstance(value, dict):
        raise fail(f"'{param}' must be an object.", param)
    return value
