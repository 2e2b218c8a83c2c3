"""Banned keywords (word-bounded, case/accent-insensitive after normalisation) and RE2 regexes."""

from __future__ import annotations

from typing import Any, ClassVar

from policies.detectors.base import Detector, Finding, Params, ScanContext
from policies.normalize import normalize
from policies.re2util import compile_re2, keyword_alternation


class KeywordsDetector(Detector):
    """Matches keyword lists on the folded text and RE2 patterns on the normalised text."""

    name: ClassVar[str] = "keywords"

    def __init__(self, **params: Any) -> None:
        p = Params(self.name, params, {"keywords", "patterns", "max_scan_chars", "severity"})
        self.keywords = p.str_list("keywords", [])
        self.patterns = p.str_list("patterns", [])
        if not self.keywords and not self.patterns:
            raise ValueError("keywords: give at least one of 'keywords' or 'patterns'")
        self.max_scan_chars = p.integer("max_scan_chars", 100_000, 1, 10_000_000)
        self.severity = p.string("severity", "medium")
        if self.severity not in ("low", "medium", "high", "critical"):
            raise ValueError(
                f"keywords: severity must be low/medium/high/critical, got {self.severity!r}"
            )
        folded = [normalize(k).folded.strip() for k in self.keywords]
        self._kw = (
            compile_re2(keyword_alternation([f for f in folded if f]), "keywords")
            if self.keywords
            else None
        )
        self._rx = [
            compile_re2(p_, f"keywords.patterns[{i}]") for i, p_ in enumerate(self.patterns)
        ]
        super().__init__(
            keywords=self.keywords,
            patterns=self.patterns,
            max_scan_chars=self.max_scan_chars,
            severity=self.severity,
        )

    def scan_context(self, ctx: ScanContext) -> list[Finding]:
        """Find keyword and pattern hits (only the first max_scan_chars are scanned)."""
        norm = ctx.normalized
        out: set[Finding] = set()
        if self._kw is not None:
            for m in self._kw.finditer(norm.folded[: self.max_scan_chars]):
                s, e = norm.folded_to_original(m.start(), m.end())
                out.add(Finding(self.name, "keyword", s, e, self.severity, 1.0))
        for rx in self._rx:
            for m in rx.finditer(norm.text[: self.max_scan_chars]):
                if m.end() > m.start():
                    s, e = norm.to_original(m.start(), m.end())
                    out.add(Finding(self.name, "pattern", s, e, self.severity, 1.0))
        return sorted(out, key=lambda f: (f.start, f.end, f.type))
