"""Corpus evaluation (precision / recall / false-positive rate) and latency measurement.

Corpus files (JSON Lines) in a directory:
- injection-style files (``injection.jsonl``, ``benign.jsonl``, ``hard_negatives.jsonl`` or any
  file whose lines have ``label`` in attack/benign/hard_negative): whole-text detection;
- span files (``pii.jsonl``, ``secrets.jsonl``): ``{"text", "entities": [{"type", "start",
  "end"}], "lookalike": bool}``; a prediction is a true positive when its type matches and its
  span overlaps a labelled entity.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from policies.detectors import DETECTORS, Detector, Finding
from policies.engine import CompiledPolicy, compile_policy
from policies.presets import PRESETS
from policies.types import PolicyInput, Segment

SPAN_FILES = {"pii.jsonl": "pii", "secrets.jsonl": "secrets"}
INJECTION_DETECTOR = "prompt_injection"


@dataclass
class Row:
    """Confusion counts for one detector/type (or one injection data set)."""

    detector: str
    type: str
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    @property
    def precision(self) -> float:
        """tp / (tp + fp); 1.0 when nothing was predicted."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """tp / (tp + fn); 1.0 when nothing was expected."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def fpr(self) -> float:
        """fp / (fp + tn) over negative texts."""
        return self.fp / (self.fp + self.tn) if self.fp + self.tn else 0.0


@dataclass
class Report:
    """Metric rows plus look-alike counts and misses for debugging."""

    rows: list[Row] = field(default_factory=list)
    lookalike_lines: int = 0
    lookalike_findings: int = 0
    misses: list[str] = field(default_factory=list)

    def row(self, detector: str, type_: str) -> Row:
        """Get or create a row."""
        for r in self.rows:
            if r.detector == detector and r.type == type_:
                return r
        r = Row(detector, type_)
        self.rows.append(r)
        return r


def _load(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def _detectors(source: CompiledPolicy | Mapping[str, Detector] | None) -> dict[str, Any]:
    """Map detector name -> (detector, threshold); policies use their first rule per name."""
    if source is None:
        return {name: (DETECTORS[name](), 0.0) for name in ("prompt_injection", "pii", "secrets")}
    if isinstance(source, CompiledPolicy):
        out: dict[str, Any] = {}
        for rule in source.rules:
            if rule.detector is not None and rule.applies_to in ("input", "both"):
                out.setdefault(rule.detector.name, (rule.detector, rule.threshold))
        return out
    return {name: (det, 0.0) for name, det in source.items()}


def _scan(det: tuple[Detector, float], text: str) -> list[Finding]:
    detector, threshold = det
    return [f for f in detector.scan(text) if f.score >= threshold]


def _eval_injection(
    rep: Report,
    det: tuple[Detector, float],
    rows: list[dict[str, Any]],
    default_label: str,
    source: str,
) -> None:
    for item in rows:
        label = item.get("label", default_label)
        hit = bool(_scan(det, item["text"]))
        row = rep.row(INJECTION_DETECTOR, f"{source}:{label}")
        if label == "attack":
            row.tp, row.fn = row.tp + hit, row.fn + (not hit)
        else:
            row.fp, row.tn = row.fp + hit, row.tn + (not hit)
        if hit != (label == "attack"):
            rep.misses.append(f"{label}: {item['text'][:100]!r}")


def _eval_spans(
    rep: Report, name: str, det: tuple[Detector, float], rows: list[dict[str, Any]]
) -> None:
    for item in rows:
        found = _scan(det, item["text"])
        gold = item.get("entities", [])
        if item.get("lookalike"):
            rep.lookalike_lines += 1
            rep.lookalike_findings += len(found)
        matched: set[int] = set()
        for f in found:
            idx = next(
                (
                    i
                    for i, g in enumerate(gold)
                    if i not in matched
                    and g["type"] == f.type
                    and f.start < g["end"]
                    and g["start"] < f.end
                ),
                None,
            )
            if idx is None:
                rep.row(name, f.type).fp += 1
                rep.misses.append(f"{name} FP {f.type}: {item['text'][f.start : f.end][:60]!r}")
            else:
                matched.add(idx)
                rep.row(name, f.type).tp += 1
        for i, g in enumerate(gold):
            if i not in matched:
                rep.row(name, g["type"]).fn += 1
                rep.misses.append(f"{name} FN {g['type']}: {item['text'][g['start'] : g['end']]!r}")


def evaluate_corpus(
    policy_or_detectors: CompiledPolicy | Mapping[str, Detector] | None, corpus_dir: str | Path
) -> Report:
    """Compute per-detector/per-type metrics over a corpus directory or a single JSONL file."""
    dets = _detectors(policy_or_detectors)
    path = Path(corpus_dir)
    files = [path] if path.is_file() else sorted(path.glob("*.jsonl"))
    rep = Report()
    defaults = {
        "injection.jsonl": "attack",
        "benign.jsonl": "benign",
        "hard_negatives.jsonl": "hard_negative",
    }
    for f in files:
        rows = _load(f)
        if f.name in SPAN_FILES:
            name = SPAN_FILES[f.name]
            if name in dets:
                _eval_spans(rep, name, dets[name], rows)
        elif INJECTION_DETECTOR in dets:
            _eval_injection(
                rep, dets[INJECTION_DETECTOR], rows, defaults.get(f.name, "benign"), f.stem
            )
    rep.rows.sort(key=lambda r: (r.detector, r.type))
    return rep


def format_report(report: Report) -> str:
    """Fixed-width text table of the report."""
    lines = [
        f"{'detector':<18}{'type':<34}{'tp':>5}{'fp':>5}{'fn':>5}{'tn':>5}"
        f"{'prec':>8}{'recall':>8}{'fpr':>8}",
        "-" * 96,
    ]
    for r in report.rows:
        lines.append(
            f"{r.detector:<18}{r.type:<34}{r.tp:>5}{r.fp:>5}{r.fn:>5}{r.tn:>5}"
            f"{r.precision:>8.3f}{r.recall:>8.3f}{r.fpr:>8.3f}"
        )
    lines.append(
        f"look-alike lines: {report.lookalike_lines}, "
        f"findings on look-alikes: {report.lookalike_findings}"
    )
    return "\n".join(lines)


_VOCAB = [
    "the",
    "customer",
    "asked",
    "whether",
    "our",
    "quarterly",
    "revenue",
    "report",
    "could",
    "include",
    "a",
    "breakdown",
    "by",
    "region",
    "and",
    "we",
    "agreed",
    "to",
    "prepare",
    "the",
    "numbers",
    "before",
    "the",
    "meeting",
    "on",
    "Thursday",
    "while",
    "the",
    "engineering",
    "team",
    "reviewed",
    "the",
    "deployment",
    "pipeline",
    "logs",
    "and",
    "found",
    "that",
    "latency",
    "increased",
    "after",
    "the",
    "database",
    "migration",
    "so",
    "please",
    "summarise",
    "the",
    "main",
    "findings",
    "and",
    "suggest",
    "three",
    "improvements",
    "for",
    "the",
    "onboarding",
    "process",
    "including",
    "documentation",
    "training",
    "and",
    "better",
    "monitoring",
    "of",
    "service",
    "health",
    "across",
    "environments",
]


def generate_prompt(size: int, seed: int = 0) -> str:
    """Deterministic ordinary-prose prompt of exactly `size` characters."""
    rng = random.Random(seed)
    words: list[str] = []
    total = 0
    while total < size:
        w = rng.choice(_VOCAB)
        if rng.random() < 0.06:
            w += "."
        words.append(w)
        total += len(w) + 1
    return " ".join(words)[:size]


def _time(policy: CompiledPolicy, inp: PolicyInput, runs: int) -> dict[str, float]:
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        policy.evaluate(inp)
        samples.append((time.perf_counter() - t0) * 1000.0)
    samples.sort()

    def pct(p: float) -> float:
        return samples[min(len(samples) - 1, int(p * len(samples)))]

    return {"p50": pct(0.50), "p95": pct(0.95), "p99": pct(0.99)}


def latency_report(
    sizes: tuple[int, ...] = (1_000, 10_000, 100_000), runs: dict[int, int] | None = None
) -> dict[int, dict[str, float]]:
    """Time a full `recommended` policy pass per prompt size; returns ms percentiles."""
    policy = compile_policy(PRESETS["recommended"])
    runs = runs or {1_000: 300, 10_000: 100, 100_000: 30}
    out: dict[int, dict[str, float]] = {}
    for size in sizes:
        inp = PolicyInput((Segment("messages[0].content", "user", generate_prompt(size)),))
        policy.evaluate(inp)  # warm-up
        out[size] = _time(policy, inp, runs.get(size, 30))
    return out


def format_latency(lat: dict[int, dict[str, float]]) -> str:
    """Text table of latency percentiles."""
    lines = [f"{'size':>8}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}"]
    for size, p in sorted(lat.items()):
        lines.append(f"{size:>8}{p['p50']:>10.3f}{p['p95']:>10.3f}{p['p99']:>10.3f}")
    return "\n".join(lines)
