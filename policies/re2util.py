"""Compile user-supplied patterns with RE2 (linear time, no catastrophic backtracking)."""

from __future__ import annotations

from typing import Any

import re2


def _options() -> Any:
    opts = re2.Options()
    opts.log_errors = False  # Invalid user regexes are reported as ValueError, not stderr noise.
    return opts


_OPTS = _options()


def compile_re2(pattern: str, what: str) -> Any:
    """Compile with RE2 or raise ValueError naming the offending pattern."""
    try:
        return re2.compile(pattern, _OPTS)
    except re2.error as exc:
        msg = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise ValueError(f"{what}: invalid regex {pattern!r}: {msg}") from None


def keyword_alternation(words: list[str]) -> str:
    """A word-bounded alternation of literal words, longest first for stable matching."""
    ordered = sorted(set(words), key=lambda w: (-len(w), w))
    return r"\b(?:" + "|".join(re2.escape(w) for w in ordered) + r")\b"


def fast(pattern: str) -> Any:
    """Compile a built-in pattern with RE2 (DFA scan: cheap on long texts with few matches)."""
    return compile_re2(pattern, "builtin")
