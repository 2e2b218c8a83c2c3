"""Ready-made policy documents (plain dicts, validated by compile_policy)."""

from __future__ import annotations

import copy
from typing import Any

_RECOMMENDED: dict[str, Any] = {
    "name": "recommended",
    "description": "Block injection and secrets, redact PII, cap prompt size.",
    "rules": [
        {"id": "max-prompt-size", "kind": "max_prompt_chars", "limit": 200_000, "action": "block"},
        {
            "id": "block-injection",
            "detector": "prompt_injection",
            "threshold": 0.5,
            "params": {"threshold": 0.5},
            "action": "block",
            "applies_to": "input",
        },
        {
            "id": "block-secrets",
            "detector": "secrets",
            "threshold": 0.5,
            "action": "block",
            "applies_to": "both",
        },
        {
            "id": "redact-pii",
            "detector": "pii",
            "threshold": 0.5,
            "action": "redact",
            "applies_to": "input",
        },
        {
            "id": "flag-pii-output",
            "detector": "pii",
            "threshold": 0.5,
            "action": "flag",
            "applies_to": "output",
            "params": {"types": ["credit_card", "iban", "us_ssn"]},
        },
    ],
}

_STRICT: dict[str, Any] = {
    "name": "strict",
    "description": "Lower thresholds, block PII, clamp max_tokens.",
    "rules": [
        {"id": "max-prompt-size", "kind": "max_prompt_chars", "limit": 50_000, "action": "block"},
        {"id": "clamp-max-tokens", "kind": "max_tokens", "limit": 4096, "action": "clamp"},
        {
            "id": "block-injection",
            "detector": "prompt_injection",
            "threshold": 0.35,
            "params": {"threshold": 0.35},
            "action": "block",
            "applies_to": "both",
        },
        {
            "id": "block-secrets",
            "detector": "secrets",
            "threshold": 0.3,
            "params": {"min_entropy": 3.7},
            "action": "block",
            "applies_to": "both",
        },
        {
            "id": "block-pii",
            "detector": "pii",
            "threshold": 0.5,
            "action": "block",
            "applies_to": "both",
        },
        {
            "id": "flag-topics",
            "detector": "topics",
            "action": "flag",
            "applies_to": "both",
            "params": {"topics": ["self_harm", "violence", "weapons"]},
        },
    ],
}


def _monitor() -> dict[str, Any]:
    doc = copy.deepcopy(_RECOMMENDED)
    doc["name"] = "monitor"
    doc["description"] = "Everything from 'recommended' in shadow mode: report, never act."
    for rule in doc["rules"]:
        rule["mode"] = "shadow"
    return doc


PRESETS: dict[str, dict[str, Any]] = {
    "recommended": _RECOMMENDED,
    "strict": _STRICT,
    "monitor": _monitor(),
}


def preset(name: str) -> dict[str, Any]:
    """A deep copy of a preset document (safe to modify)."""
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}; known: {sorted(PRESETS)}")
    return copy.deepcopy(PRESETS[name])
