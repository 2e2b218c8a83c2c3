"""Policy engine: compile a policy document once, evaluate requests and responses.

Risk score (deterministic): each finding contributes w = SEVERITY_WEIGHT[severity] * score;
risk = round(100 * (1 - prod(1 - w))) over ALL findings, shadow ones included (risk is
informational; only enforce-mode findings change the action).  Severity weights: low 0.15,
medium 0.35, high 0.65, critical 0.9.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any

import orjson

from policies.config import PolicyConfigError, RuleSpec, build_rules, normalise_doc
from policies.detectors.base import ScanContext
from policies.redaction import redact_input, restore
from policies.types import ACTION_RANK, Decision, PolicyInput, RuleFinding, Segment

SEVERITY_WEIGHT = {"low": 0.15, "medium": 0.35, "high": 0.65, "critical": 0.9}

__all__ = [
    "CompiledPolicy",
    "Decision",
    "PolicyConfigError",
    "PolicyInput",
    "RuleFinding",
    "Segment",
    "compile_policy",
    "get_compiled",
    "restore",
    "risk_score",
]


def risk_score(findings: tuple[RuleFinding, ...] | list[RuleFinding]) -> int:
    """Deterministic 0..100 risk from findings (see module docstring)."""
    keep = 1.0
    for f in sorted(findings, key=lambda x: (x.severity, x.score, x.rule_id, x.path, x.start)):
        keep *= 1.0 - SEVERITY_WEIGHT[f.severity] * f.score
    return int(100 * (1.0 - keep) + 0.5)


def _version(norm_doc: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(norm_doc, option=orjson.OPT_SORT_KEYS)).hexdigest()


class CompiledPolicy:
    """An immutable, precompiled policy; safe to share across threads."""

    def __init__(self, norm_doc: dict[str, Any], rules: tuple[RuleSpec, ...]) -> None:
        self.doc = norm_doc
        self.name: str = norm_doc["name"]
        self.version = _version(norm_doc)
        # Put the caller's own values back where the answer repeats a placeholder.
        self.restore_redactions = bool(norm_doc.get("restore_redactions"))
        self.rules = rules
        self._order = {r.id: i for i, r in enumerate(rules)}
        self._input = tuple(r for r in rules if r.detector and r.applies_to in ("input", "both"))
        self._output = tuple(r for r in rules if r.detector and r.applies_to in ("output", "both"))
        self._request = tuple(r for r in rules if r.detector is None)

    # ---- request evaluation -------------------------------------------------------------
    def evaluate(self, inp: PolicyInput) -> Decision:
        """Decide allow/redact/flag/block for a request."""
        findings, clamp = self._request_findings(inp)
        oversize = any(
            f.type == "max_prompt_chars" and f.action == "block" and not f.shadow for f in findings
        )
        if not oversize:  # Don't spend CPU scanning a prompt we already reject for size.
            for seg in inp.segments:
                findings += self._scan(self._input, seg.text, seg.path)
        order = {seg.path: i for i, seg in enumerate(inp.segments)}
        return self._decide(findings, clamp, order)

    def scan_output(self, text: str, path: str = "output") -> Decision:
        """Decide on a complete model response (redact is reported; callers may block)."""
        return self._decide(self._scan(self._output, text, path), None, {path: 0})

    def output_scanner(self, window: int = 512) -> OutputScanner:
        """A streaming scanner keeping `window` chars of look-back."""
        from policies.streaming import OutputScanner

        return OutputScanner(self, window)

    def redact(self, inp: PolicyInput, decision: Decision) -> tuple[PolicyInput, dict[str, str]]:
        """Replace redact-action findings with typed placeholders; return placeholder map."""
        if decision.version != self.version:
            raise ValueError("decision was produced by a different policy version")
        return redact_input(inp, decision)

    def restore(self, text: str, mapping: dict[str, str]) -> str:
        """Put original values back in place of placeholders."""
        return restore(text, mapping)

    # ---- internals ----------------------------------------------------------------------
    def scan_rules(self, rules: tuple[RuleSpec, ...], text: str, path: str) -> list[RuleFinding]:
        """Run the given detector rules on one text (public for the streaming scanner)."""
        return self._scan(rules, text, path)

    @property
    def output_rules(self) -> tuple[RuleSpec, ...]:
        """Rules applied to responses."""
        return self._output

    def _scan(self, rules: tuple[RuleSpec, ...], text: str, path: str) -> list[RuleFinding]:
        ctx = ScanContext(text)
        out: list[RuleFinding] = []
        for rule in rules:
            assert rule.detector is not None
            for f in rule.detector.scan_context(ctx):
                if f.score < rule.threshold:
                    continue
                out.append(
                    RuleFinding(
                        rule.id,
                        f.detector,
                        f.type,
                        path,
                        f.start,
                        f.end,
                        rule.severity or f.severity,
                        rule.action,
                        rule.shadow,
                        f.score,
                    )
                )
        return out

    def _request_findings(self, inp: PolicyInput) -> tuple[list[RuleFinding], int | None]:
        out: list[RuleFinding] = []
        clamp: int | None = None
        for r in self._request:
            sev = r.severity or "medium"
            if r.kind == "max_prompt_chars" and r.limit is not None:
                total = sum(len(s.text) for s in inp.segments)
                if total > r.limit:
                    out.append(
                        RuleFinding(
                            r.id,
                            "request",
                            "max_prompt_chars",
                            "",
                            0,
                            total,
                            sev,
                            r.action,
                            r.shadow,
                        )
                    )
            elif r.kind == "max_tokens" and r.limit is not None:
                over = inp.max_tokens is None or inp.max_tokens > r.limit
                if r.action == "clamp" and over:
                    out.append(
                        RuleFinding(
                            r.id,
                            "request",
                            "max_tokens",
                            "max_tokens",
                            0,
                            0,
                            "low",
                            "clamp",
                            r.shadow,
                        )
                    )
                    if not r.shadow:
                        clamp = r.limit if clamp is None else min(clamp, r.limit)
                elif (
                    r.action != "clamp" and inp.max_tokens is not None and inp.max_tokens > r.limit
                ):
                    out.append(
                        RuleFinding(
                            r.id,
                            "request",
                            "max_tokens",
                            "max_tokens",
                            0,
                            0,
                            sev,
                            r.action,
                            r.shadow,
                        )
                    )
            elif r.kind == "allowed_tools":
                for i, name in enumerate(inp.tool_names):
                    if name not in r.names:
                        out.append(
                            RuleFinding(
                                r.id,
                                "request",
                                "tool_not_allowed",
                                f"tool_names[{i}]",
                                0,
                                0,
                                sev,
                                r.action,
                                r.shadow,
                            )
                        )
        return out, clamp

    def decide(
        self, findings: list[RuleFinding], clamp: int | None, path_order: dict[str, int]
    ) -> Decision:
        """Aggregate findings into a Decision (precedence block > redact > flag > allow)."""
        return self._decide(findings, clamp, path_order)

    def _decide(
        self, findings: list[RuleFinding], clamp: int | None, path_order: dict[str, int]
    ) -> Decision:
        findings.sort(
            key=lambda f: (
                -1 if f.detector == "request" else path_order.get(f.path, len(path_order)),
                f.path,
                f.start,
                f.end,
                self._order.get(f.rule_id, 0),
                f.type,
            )
        )
        action = "allow"
        blocking: list[str] = []
        for f in findings:
            if f.shadow or f.action not in ACTION_RANK:
                continue
            if ACTION_RANK[f.action] > ACTION_RANK[action]:
                action = f.action
            if f.action == "block" and f.rule_id not in blocking:
                blocking.append(f.rule_id)
        blocking.sort(key=lambda rid: self._order.get(rid, 0))
        return Decision(
            action, risk_score(findings), tuple(findings), self.version, clamp, tuple(blocking)
        )


def compile_policy(doc: dict[str, Any]) -> CompiledPolicy:
    """Validate and compile a policy document (raises PolicyConfigError)."""
    norm = normalise_doc(doc)
    rules = build_rules(norm)
    return CompiledPolicy(norm, rules)


_CACHE: dict[str, CompiledPolicy] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_MAX = 256


def get_compiled(doc: dict[str, Any]) -> CompiledPolicy:
    """Compile once per policy version per process (bounded cache)."""
    norm = normalise_doc(doc)
    # Version is computed on the doc before detector defaults are filled, so key on both.
    key = _version(norm)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
    if hit is not None:
        return hit
    policy = CompiledPolicy(norm, build_rules(norm))
    with _CACHE_LOCK:
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.pop(next(iter(_CACHE)))
        return _CACHE.setdefault(key, policy)


from policies.streaming import OutputScanner  # noqa: E402  (circular: streaming uses engine)
