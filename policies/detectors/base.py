"""Detector contract: findings with original-text spans, and parameter validation helpers."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

from policies.normalize import DecodedRun, Normalized, decoded_runs, normalize

SEVERITIES: tuple[str, ...] = ("low", "medium", "high", "critical")


@dataclass(frozen=True)
class Finding:
    """One detector hit; spans index the ORIGINAL text, the matched text is never stored."""

    detector: str
    type: str
    start: int
    end: int
    severity: str
    score: float

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"score {self.score} outside 0..1")


class ScanContext:
    """One text plus lazily computed shared views, so detectors don't normalise it twice."""

    def __init__(self, text: str) -> None:
        self.text = text

    @cached_property
    def normalized(self) -> Normalized:
        """The normalised views of the text."""
        return normalize(self.text)

    @cached_property
    def decoded(self) -> list[DecodedRun]:
        """Embedded base64/hex payloads."""
        return decoded_runs(self.text)


class Detector(ABC):
    """Base class: validate params in __init__, scan text, report original-text spans."""

    name: ClassVar[str] = ""

    def __init__(self, **params: Any) -> None:
        self.params: dict[str, Any] = dict(params)

    def scan(self, text: str) -> list[Finding]:
        """Scan one text and return findings sorted by position."""
        return self.scan_context(ScanContext(text))

    @abstractmethod
    def scan_context(self, ctx: ScanContext) -> list[Finding]:
        """Scan using a shared context (the engine shares one per segment)."""


class Params:
    """Typed access to a params mapping that rejects unknown keys with a clear message."""

    def __init__(self, detector: str, params: Mapping[str, Any], allowed: set[str]) -> None:
        unknown = sorted(set(params) - allowed)
        if unknown:
            raise ValueError(f"{detector}: unknown param(s) {unknown}; allowed: {sorted(allowed)}")
        self._d = detector
        self._p = params

    def number(self, key: str, default: float, lo: float, hi: float) -> float:
        """A float in [lo, hi]."""
        v = self._p.get(key, default)
        if isinstance(v, bool) or not isinstance(v, int | float) or not lo <= v <= hi:
            raise ValueError(f"{self._d}: {key} must be a number in [{lo}, {hi}], got {v!r}")
        return float(v)

    def integer(self, key: str, default: int, lo: int, hi: int) -> int:
        """An int in [lo, hi]."""
        v = self._p.get(key, default)
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise ValueError(f"{self._d}: {key} must be an integer in [{lo}, {hi}], got {v!r}")
        return int(v)

    def string(self, key: str, default: str | None) -> str:
        """A non-empty string (required when default is None)."""
        v = self._p.get(key, default)
        if not isinstance(v, str) or not v:
            raise ValueError(f"{self._d}: {key} must be a non-empty string, got {v!r}")
        return v

    def boolean(self, key: str, default: bool) -> bool:
        """A bool."""
        v = self._p.get(key, default)
        if not isinstance(v, bool):
            raise ValueError(f"{self._d}: {key} must be true or false, got {v!r}")
        return v

    def str_list(
        self,
        key: str,
        default: list[str],
        choices: tuple[str, ...] | None = None,
    ) -> list[str]:
        """A list of non-empty strings, optionally restricted to choices (order preserved)."""
        v = self._p.get(key, default)
        if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
            raise ValueError(f"{self._d}: {key} must be a list of non-empty strings, got {v!r}")
        if choices is not None:
            bad = [x for x in v if x not in choices]
            if bad:
                raise ValueError(
                    f"{self._d}: {key} has unknown value(s) {bad}; choose from {list(choices)}"
                )
        return list(dict.fromkeys(v))
