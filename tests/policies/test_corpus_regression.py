from __future__ import annotations

from pathlib import Path

from policies.engine import compile_policy
from policies.evaluation import evaluate_corpus, format_report
from policies.presets import PRESETS

CORPUS = Path(__file__).resolve().parents[2] / "policies" / "corpus"
HELDOUT = Path(__file__).with_name("heldout_injection.jsonl")


def test_corpus_metric_floors() -> None:
    report = evaluate_corpus(compile_policy(PRESETS["recommended"]), CORPUS)
    text = format_report(report)
    assert report.lookalike_lines > 0 and report.lookalike_findings == 0, text
    for row in report.rows:
        if row.detector in ("pii", "secrets"):
            assert row.recall >= 0.95 and row.precision >= 0.98, text
    inj = {r.type: r for r in report.rows if r.detector == "prompt_injection"}
    assert inj["injection:attack"].recall >= 0.9, text
    assert inj["benign:benign"].fpr <= 0.01, text
    assert inj["hard_negatives:hard_negative"].fpr <= 0.03, text


def test_heldout_estimate_meets_targets() -> None:
    # Never tuned against; a failure here means the detector generalises worse than hoped.
    report = evaluate_corpus(compile_policy(PRESETS["recommended"]), HELDOUT)
    rows = {r.type: r for r in report.rows}
    assert rows["heldout_injection:attack"].recall >= 0.85, format_report(report)
    assert rows["heldout_injection:benign"].fpr <= 0.05, format_report(report)
