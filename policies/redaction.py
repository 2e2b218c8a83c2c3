"""Typed, numbered placeholder redaction and restoration."""

from __future__ import annotations

import re

from policies.types import Decision, PolicyInput, RuleFinding, Segment

_LABELS = {
    "email": "EMAIL",
    "phone": "PHONE",
    "credit_card": "CREDIT_CARD",
    "iban": "IBAN",
    "us_ssn": "SSN",
    "ip_address": "IP",
}
_PLACEHOLDER = re.compile(r"\[[A-Z][A-Z0-9_]*_\d+\]")


def label_for(finding_type: str) -> str:
    """Placeholder label for a finding type (e.g. email -> EMAIL, openai_key -> OPENAI_KEY)."""
    return _LABELS.get(finding_type, re.sub(r"[^A-Z0-9]+", "_", finding_type.upper()).strip("_"))


def _non_overlapping(findings: list[RuleFinding]) -> list[RuleFinding]:
    out: list[RuleFinding] = []
    for f in sorted(findings, key=lambda x: (x.start, -x.end, x.rule_id, x.type)):
        if out and f.start < out[-1].end:
            continue
        out.append(f)
    return out


def redact_input(inp: PolicyInput, decision: Decision) -> tuple[PolicyInput, dict[str, str]]:
    """Replace enforce-mode redact findings; same value -> same placeholder everywhere."""
    by_path: dict[str, list[RuleFinding]] = {}
    for f in decision.findings:
        if f.action == "redact" and not f.shadow and f.end > f.start:
            by_path.setdefault(f.path, []).append(f)
    mapping: dict[str, str] = {}
    assigned: dict[tuple[str, str], str] = {}
    counters: dict[str, int] = {}
    segments: list[Segment] = []
    for seg in inp.segments:
        parts: list[str] = []
        pos = 0
        for f in _non_overlapping(by_path.get(seg.path, [])):
            value = seg.text[f.start : f.end]
            label = label_for(f.type)
            ph = assigned.get((label, value))
            if ph is None:
                counters[label] = counters.get(label, 0) + 1
                ph = f"[{label}_{counters[label]}]"
                assigned[(label, value)] = ph
                mapping[ph] = value
            parts += [seg.text[pos : f.start], ph]
            pos = f.end
        parts.append(seg.text[pos:])
        segments.append(Segment(seg.path, seg.role, "".join(parts)))
    return PolicyInput(tuple(segments), inp.max_tokens, inp.tool_names), mapping


def restore(text: str, mapping: dict[str, str]) -> str:
    """Replace known placeholders in text with their original values (unknown ones stay)."""
    if not mapping:
        return text
    return _PLACEHOLDER.sub(lambda m: mapping.get(m.group(), m.group()), text)


class StreamRestorer:
    """Restores placeholders in streamed text, holding back only an unfinished `[...`."""

    _MAX_PLACEHOLDER = 40

    def __init__(self, mapping: dict[str, str]) -> None:
        self._mapping = mapping
        self._pending = ""

    def feed(self, text: str) -> str:
        """The restorable part of pending + text; an open bracket tail waits for more."""
        buf = self._pending + text
        cut = buf.rfind("[")
        if cut != -1 and "]" not in buf[cut:] and len(buf) - cut <= self._MAX_PLACEHOLDER:
            self._pending, buf = buf[cut:], buf[:cut]
        else:
            self._pending = ""
        return restore(buf, self._mapping)

    def flush(self) -> str:
        """Whatever is still held back, at the end of the stream."""
        out, self._pending = restore(self._pending, self._mapping), ""
        return out
