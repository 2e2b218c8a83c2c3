"""Evaluate, diff and replay policies for the management API and the web UI (no side effects)."""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

from policies import extract
from policies.engine import CompiledPolicy
from policies.types import Decision, PolicyInput, Segment

CORPUS = Path(__file__).resolve().parent / "corpus"
_EXTRACT = {
    "chat": extract.segments_from_openai_chat,
    "messages": extract.segments_from_anthropic_messages,
    "embeddings": extract.segments_from_embeddings,
}


def evaluate(
    policy: CompiledPolicy,
    *,
    text: str | None = None,
    body: Any = None,
    kind: str = "chat",
    direction: str = "input",
) -> dict[str, Any]:
    """The decision JSON for a text or a request body (spans refer to the given text)."""
    if direction == "output":
        decision = policy.scan_output(text if text is not None else json.dumps(body))
    elif text is not None:
        decision = policy.evaluate(PolicyInput((Segment("messages[0].content", "user", text),)))
    else:
        decision = policy.evaluate(_EXTRACT[kind](body))
    return decision.to_dict()


def canonical(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)


def diff(old: dict[str, Any], new: dict[str, Any], old_label: str, new_label: str) -> str:
    """A unified diff of two policy documents in canonical form."""
    lines = difflib.unified_diff(
        canonical(old).splitlines(), canonical(new).splitlines(), old_label, new_label, lineterm=""
    )
    return "\n".join(lines)


def _samples() -> list[tuple[str, str]]:
    samples = []
    for path in sorted(CORPUS.glob("*.jsonl")):
        for i, line in enumerate(path.read_text().splitlines()):
            if line.strip():
                samples.append((f"{path.stem}:{i + 1}", str(json.loads(line)["text"])))
    return samples


def _decide(policy: CompiledPolicy, text: str) -> Decision:
    return policy.evaluate(PolicyInput((Segment("messages[0].content", "user", text),)))


def replay(
    current: CompiledPolicy, draft: CompiledPolicy, extra: list[tuple[str, str]] | None = None
) -> dict[str, Any]:
    """Run both versions over the corpus (and captured traffic): what would change."""
    changed = []
    counts: dict[str, int] = {}
    samples = _samples() + list(extra or [])
    for sample_id, text in samples:
        before, after = _decide(current, text), _decide(draft, text)
        counts[after.action] = counts.get(after.action, 0) + 1
        if before.action != after.action:
            changed.append({"sample": sample_id, "from": before.action, "to": after.action,
                            "rules": sorted({f.rule_id for f in after.findings})})  # fmt: skip
    return {
        "current": current.version,
        "draft": draft.version,
        "samples": len(samples),
        "actions": counts,
        "changed": changed,
    }
