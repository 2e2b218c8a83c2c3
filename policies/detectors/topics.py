"""Named topic bundles (keyword lists) reported with the topic as finding type."""

from __future__ import annotations

from typing import Any, ClassVar

from policies.detectors.base import Detector, Finding, Params, ScanContext
from policies.normalize import normalize
from policies.re2util import compile_re2, keyword_alternation

# Deliberately conservative stems: topics usually flag for review rather than block.
TOPICS: dict[str, tuple[str, ...]] = {
    "weapons": (
        "pipe bomb",
        "build a bomb",
        "make a bomb",
        "explosive device",
        "ghost gun",
        "untraceable gun",
        "3d printed gun",
        "silencer",
        "suppressor",
        "napalm",
        "thermite",
        "nerve agent",
        "sarin",
        "ricin",
        "automatic conversion kit",
    ),
    "self_harm": (
        "kill myself",
        "suicide",
        "self harm",
        "self-harm",
        "end my life",
        "cut myself",
        "want to die",
        "overdose on",
    ),
    "medical": (
        "diagnosis",
        "prescription",
        "dosage",
        "symptoms",
        "medication",
        "chemotherapy",
        "antidepressant",
        "side effects",
    ),
    "drugs": (
        "methamphetamine",
        "cook meth",
        "fentanyl",
        "cocaine",
        "heroin",
        "lsd synthesis",
        "mdma",
    ),
    "violence": ("kill him", "kill her", "murder", "assassinate", "hurt someone", "mass shooting"),
    "hate": ("ethnic cleansing", "racial slur", "white power", "genocide is good"),
    "finance": ("insider trading", "money laundering", "tax evasion", "pump and dump"),
}
_SEVERITY = {
    "weapons": "high",
    "self_harm": "high",
    "violence": "high",
    "hate": "high",
    "drugs": "medium",
    "finance": "medium",
    "medical": "low",
}


class TopicsDetector(Detector):
    """Flags mentions of configured topics; extra custom words join topic 'custom'."""

    name: ClassVar[str] = "topics"

    def __init__(self, **params: Any) -> None:
        p = Params(self.name, params, {"topics", "extra_keywords"})
        self.topics = p.str_list("topics", sorted(TOPICS), tuple(sorted(TOPICS)))
        self.extra = p.str_list("extra_keywords", [])
        bundles = {t: list(TOPICS[t]) for t in self.topics}
        if self.extra:
            bundles["custom"] = self.extra
        self._compiled = [
            (
                topic,
                compile_re2(
                    keyword_alternation([normalize(w).folded for w in words]), f"topics.{topic}"
                ),
            )
            for topic, words in sorted(bundles.items())
        ]
        super().__init__(topics=self.topics, extra_keywords=self.extra)

    def scan_context(self, ctx: ScanContext) -> list[Finding]:
        """Find topic keywords in the folded text."""
        norm = ctx.normalized
        out = []
        for topic, rx in self._compiled:
            for m in rx.finditer(norm.folded):
                s, e = norm.folded_to_original(m.start(), m.end())
                out.append(Finding(self.name, topic, s, e, _SEVERITY.get(topic, "medium"), 0.8))
        return sorted(out, key=lambda f: (f.start, f.end, f.type))
