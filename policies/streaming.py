"""Streaming output scanning with a bounded look-back window (text is never held back)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from policies.types import Decision, RuleFinding

if TYPE_CHECKING:
    from policies.engine import CompiledPolicy


@dataclass(frozen=True)
class OutputVerdict:
    """Result for one delta: whether the stream must be cut, and the new findings."""

    action: str
    blocked: bool
    findings: tuple[RuleFinding, ...]


class OutputScanner:
    """Scans deltas with `window` chars of previous text, so split secrets are still caught."""

    def __init__(self, policy: CompiledPolicy, window: int = 512) -> None:
        if window < 64:
            raise ValueError("window must be at least 64 characters")
        self._policy = policy
        self._window = window
        self._tail = ""
        self._tail_offset = 0  # absolute stream offset of _tail[0]
        self._seen: set[tuple[str, int]] = set()
        self._findings: list[RuleFinding] = []
        self._blocked = False

    def feed(self, delta: str) -> OutputVerdict:
        """Scan a delta (the caller forwards it immediately) and return the verdict so far."""
        buf = self._tail + delta
        new: list[RuleFinding] = []
        for f in self._policy.scan_rules(self._policy.output_rules, buf, "output"):
            if f.end <= len(self._tail):
                continue  # Entirely in already-scanned text.
            start = self._tail_offset + f.start
            # One report per rule and start offset: a token growing across chunks may first
            # look like a generic high-entropy string and later like a provider key.
            key = (f.rule_id, start)
            if key in self._seen:
                continue
            self._seen.add(key)
            shifted = RuleFinding(
                f.rule_id,
                f.detector,
                f.type,
                f.path,
                start,
                self._tail_offset + f.end,
                f.severity,
                f.action,
                f.shadow,
                f.score,
            )
            new.append(shifted)
            if f.action == "block" and not f.shadow:
                self._blocked = True
        self._findings += new
        self._advance(buf)
        return OutputVerdict(self.decision().action, self._blocked, tuple(new))

    def _advance(self, buf: str) -> None:
        if len(buf) <= self._window:
            self._tail = buf
            return
        cut = len(buf) - self._window
        # Cut at whitespace so the tail never starts mid-token (a half secret re-detected
        # at a new offset would be double-reported).
        ws = next((i for i in range(cut, min(len(buf), cut + 64)) if buf[i].isspace()), cut)
        self._tail_offset += ws
        self._tail = buf[ws:]

    def decision(self) -> Decision:
        """Aggregate Decision over everything seen so far."""
        return self._policy.decide(list(self._findings), None, {"output": 0})
