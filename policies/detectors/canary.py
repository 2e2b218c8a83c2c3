"""Canary detector: a secret marker planted in the system prompt; seeing it in output = leak."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from policies.detectors.base import Detector, Finding, Params, ScanContext
from policies.normalize import normalize


class CanaryDetector(Detector):
    """Finds the configured canary verbatim, case/spacing-folded, or inside base64/hex runs."""

    name: ClassVar[str] = "canary"

    def __init__(self, **params: Any) -> None:
        p = Params(self.name, params, {"canary"})
        self.canary = p.string("canary", None)
        if len(self.canary) < 8:
            raise ValueError("canary: canary must be at least 8 characters to avoid false hits")
        folded = normalize(self.canary).folded
        # Allow separators between canary characters: leaks are often re-spaced or hyphenated.
        self._loose = re.compile(r"[\s\-_.]*".join(re.escape(c) for c in folded if c.isalnum()))
        super().__init__(canary=self.canary)

    def scan_context(self, ctx: ScanContext) -> list[Finding]:
        """Find canary occurrences in the original text and decoded payloads."""
        out: set[Finding] = set()
        norm = ctx.normalized
        for m in self._loose.finditer(norm.folded):
            s, e = norm.folded_to_original(m.start(), m.end())
            out.add(Finding(self.name, "canary_leak", s, e, "critical", 1.0))
        for run in ctx.decoded:
            if self._loose.search(normalize(run.text).folded):
                out.add(Finding(self.name, "canary_leak", run.start, run.end, "critical", 1.0))
        return sorted(out, key=lambda f: (f.start, f.end))
