"""Value types shared by the engine, extraction and callers (frozen, log-safe)."""

from __future__ import annotations

from dataclasses import dataclass

ACTION_RANK: dict[str, int] = {"allow": 0, "flag": 1, "redact": 2, "block": 3}


@dataclass(frozen=True)
class Segment:
    """One scannable piece of a request; path locates it in the request body."""

    path: str
    role: str
    text: str


@dataclass(frozen=True)
class PolicyInput:
    """Everything the policy looks at for one request."""

    segments: tuple[Segment, ...]
    max_tokens: int | None = None
    tool_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuleFinding:
    """A finding attributed to a rule; spans only, never the matched text."""

    rule_id: str
    detector: str
    type: str
    path: str
    start: int
    end: int
    severity: str
    action: str
    shadow: bool
    score: float = 1.0


@dataclass(frozen=True)
class Decision:
    """The policy outcome for one request or response."""

    action: str
    risk_score: int
    findings: tuple[RuleFinding, ...]
    version: str
    clamp_max_tokens: int | None = None
    blocking_rules: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """JSON-ready representation (safe to log: contains no matched text)."""
        return {
            "action": self.action,
            "risk_score": self.risk_score,
            "version": self.version,
            "clamp_max_tokens": self.clamp_max_tokens,
            "blocking_rules": list(self.blocking_rules),
            "findings": [f.__dict__.copy() for f in self.findings],
        }
