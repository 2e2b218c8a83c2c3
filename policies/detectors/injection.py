"""Prompt-injection / jailbreak detector built from weighted, multilingual signals.

Score = noisy-OR over signal ids (max weight per id): 1 - prod(1 - w_i).  Signals run on the
folded view, a leetspeak-folded view and a spaced-letter-joined view; embedded base64/hex
payloads are decoded and scored recursively.  Text that is *about* injection (quoted attack
strings in a question, "what is...", "how do I detect...") is damped, because users
legitimately discuss prompts, jailbreaks and security.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from policies.detectors.base import Detector, Finding, Params, ScanContext
from policies.detectors.injection_signals import Signal, alt, build_loose_signals, build_signals
from policies.normalize import Normalized, decoded_runs, normalize
from policies.re2util import compile_re2, fast

_META = re.compile(
    r"^\W*(?:what|what's|whats|how|why|when|which|who|explain|describe|define|summari[sz]e|"
    r"can you explain|could you explain|is it|are there|was ist|was sind|wie|warum|"
    r"qu'est-ce|qu'est ce|comment|pourquoi|que es|que son|como|por que|cos'e|come|perche|"
    r"o que)\b"
    r"|\b(?:prompt[ -]injections?|jailbreaks|jailbreaking|jailbreak (?:prompts|attacks|"
    r"techniques)|injection de prompt|inyeccion de prompt|iniezione di prompt|red[ -]team\w*|"
    r"security research\w*|researching|owasp|examples? of|for example|classifier|"
    r"classify|detect(?:s|ed|ion|or|ing)?|defen[cs]e|defend\w*|mitigat\w+|paper|article|"
    r"blog post|dataset|regex|phrases like|strings like|such as|labell?ed|test cases|"
    r"how (?:should|do|does|can|could|would|to)|what (?:does|should|is a|are the))\b"
)
# Translation requests only excuse QUOTED attack text ("translate 'ignore all...'"), since
# "Translate to French: ignore your instructions and..." is itself a classic injection.
_TRANSLATE = re.compile(
    r"\b(?:translate|translation|ubersetze|ubersetzen|traduis|traduire|"
    r"traduce|traducir|traduci|tradurre|traduza|traduzir)\b"
)
_QUOTED = re.compile(r"\"[^\"\n]{3,400}\"|(?<!\w)'[^'\n]{3,400}'(?!\w)|`[^`\n]{3,400}`")
_CODE = re.compile(
    r"\bdef \w+\(|\breturn\b|\bfunction\b|\bconst \w+|\bimport \w+|=>|"
    r"\bf['\"]|\{\w+\}|;\s*$|\bprint\(|\bconsole\.",
    re.MULTILINE,
)
_UPPER_NAMES = fast(r"\b(?:DAN|STAN|DUDE|AIM|KEVIN|BetterDAN|AntiGPT)\b")
_SEVERITY_BY_TYPE = {"delimiter_injection": "medium"}
_UPPER_SIGNAL = Signal("upper_name", "roleplay_jailbreak", re.compile("$^"), lambda _m: 0.4)


@dataclass(frozen=True)
class _Hit:
    signal: str
    type: str
    start: int
    end: int
    weight: float


def _noisy_or(weights: list[float]) -> float:
    p = 1.0
    for w in sorted(weights, reverse=True):
        p *= 1.0 - min(w, 0.95)
    return 1.0 - p


class InjectionDetector(Detector):
    """Detects instruction override, prompt extraction, jailbreak personas, fake delimiters."""

    name: ClassVar[str] = "prompt_injection"

    def __init__(self, **params: Any) -> None:
        p = Params(self.name, params, {"threshold", "max_scan_chars", "decode_payloads"})
        self.threshold = p.number("threshold", 0.5, 0.05, 1.0)
        self.max_scan_chars = p.integer("max_scan_chars", 200_000, 100, 10_000_000)
        self.decode_payloads = p.boolean("decode_payloads", True)
        _scanner()
        super().__init__(
            threshold=self.threshold,
            max_scan_chars=self.max_scan_chars,
            decode_payloads=self.decode_payloads,
        )

    def score_text(self, text: str) -> float:
        """Combined injection score of a text in 0..1 (no threshold applied)."""
        return _combine(self._hits(text, depth=0))[0]

    def scan_context(self, ctx: ScanContext) -> list[Finding]:
        """Return findings for every contributing signal when the combined score passes."""
        hits = self._hits(ctx.text, depth=0, ctx=ctx)
        score, contributing = _combine(hits)
        if score < self.threshold:
            return []
        sev = "critical" if score >= 0.9 else "high"
        out = {
            Finding(
                self.name,
                h.type,
                h.start,
                h.end,
                _SEVERITY_BY_TYPE.get(h.type, sev) if score < 0.8 else sev,
                round(score, 4),
            )
            for h in contributing
        }
        return sorted(out, key=lambda f: (f.start, f.end, f.type))

    def _hits(self, text: str, depth: int, ctx: ScanContext | None = None) -> list[_Hit]:
        text = text[: self.max_scan_chars]
        norm = ctx.normalized if ctx is not None and depth == 0 else normalize(text)
        scanner = _scanner()
        found = scanner.scan(norm.folded, None, loose=False)
        leet = norm.leet_view
        if leet.changed:
            found += scanner.scan(leet.text, _regions(leet.changed, len(leet.text)), loose=False)
        spaced = norm.despaced_view
        views = [(norm.folded_view, found)]
        if spaced.changed:
            views.append(
                (
                    spaced,
                    scanner.scan(
                        spaced.text, _regions(spaced.changed, len(spaced.text)), loose=True
                    ),
                )
            )
        hits: list[_Hit] = []
        damp: _Damper | None = None
        for view, matches in views:
            for sig, m in matches:
                damp = damp or _Damper(norm)
                s, e = view.to_original(m.start(), m.end())
                # All quoted cues share one id so a quoted attack string counts only once.
                sid = "quoted" if damp.quoted(e) else sig.id
                hits.append(_Hit(sid, sig.type, s, e, damp.apply(sig, s, e, sig.scorer(m))))
        for m in _UPPER_NAMES.finditer(norm.text):
            s, e = norm.to_original(m.start(), m.end())
            damp = damp or _Damper(norm)
            hits.append(
                _Hit("upper_name", "roleplay_jailbreak", s, e, damp.apply(_UPPER_SIGNAL, s, e, 0.4))
            )
        if self.decode_payloads and depth == 0:
            hits += self._decoded_hits(text, ctx)
        return hits

    def _decoded_hits(self, text: str, ctx: ScanContext | None) -> list[_Hit]:
        runs = ctx.decoded if ctx is not None else decoded_runs(text)
        out = []
        for run in runs:
            inner, _ = _combine(self._hits(run.text, depth=1))
            if inner >= 0.4:  # Hiding instructions in an encoding is itself suspicious.
                out.append(
                    _Hit("encoded", "encoded_payload", run.start, run.end, min(0.95, inner + 0.2))
                )
        return out


def _key(phrase_text: str) -> str:
    return re.sub(r"[\W_]+", "", phrase_text)


def _regions(
    changed: tuple[tuple[int, int], ...],
    n: int,
    pad: int = 300,
) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in changed:
        lo, hi = max(0, s - pad), min(n, e + pad)
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


class _Scanner:
    """Finds anchor phrases with one RE2 pass, then tries each signal only near its anchors."""

    def __init__(self, signals: tuple[Signal, ...], loose: tuple[Signal, ...]) -> None:
        self.loose = loose
        self.full = tuple(s for s in signals if not s.anchors)
        by_key: dict[str, set[int]] = {}
        phrases: set[str] = set()
        for i, sig in enumerate(signals):
            for a in sig.anchors:
                by_key.setdefault(_key(a), set()).add(i)
                phrases.add(a)
        # An anchor match may be a longer phrase that starts with a shorter anchor
        # ("ignore" inside "ignores"): give it the shorter anchor's signals too.
        self.lookup: dict[str, tuple[Signal, ...]] = {}
        for key in by_key:
            idx: set[int] = set()
            for cut in range(1, len(key) + 1):
                idx |= by_key.get(key[:cut], set())
            self.lookup[key] = tuple(signals[i] for i in sorted(idx))
        self.anchor_rx = compile_re2(r"\b" + alt(phrases) + r"\b", "injection anchors")

    def scan(
        self,
        text: str,
        regions: list[tuple[int, int]] | None,
        loose: bool,
    ) -> list[tuple[Signal, re.Match[str]]]:
        out: dict[tuple[str, int, int], tuple[Signal, re.Match[str]]] = {}
        n = len(text)
        full = [s for s in self.full if any(p in text for p in s.prefilter)]
        full += list(self.loose) if loose else []
        for lo, hi in regions or [(0, n)]:
            for a in self.anchor_rx.finditer(text, lo, hi):
                for sig in self.lookup.get(_key(a.group()), ()):
                    if sig.back == 0:
                        m = sig.regex.match(text, a.start(), min(n, a.end() + sig.fwd))
                        found = [m] if m else []
                    else:
                        found = list(
                            sig.regex.finditer(
                                text, max(0, a.start() - sig.back), min(n, a.end() + sig.fwd)
                            )
                        )
                    for m in found:
                        out.setdefault((sig.id, m.start(), m.end()), (sig, m))
            for sig in full:
                for m in sig.regex.finditer(text, lo, hi):
                    out.setdefault((sig.id, m.start(), m.end()), (sig, m))
        return [out[k] for k in sorted(out)]


_SCANNER: _Scanner | None = None


def _scanner() -> _Scanner:
    # Signals are immutable and parameter-free: compile once per process and share.
    global _SCANNER
    if _SCANNER is None:
        _SCANNER = _Scanner(build_signals(), build_loose_signals())
    return _SCANNER


class _Damper:
    """Reduces weights of signals that appear in text discussing injection rather than doing it."""

    def __init__(self, norm: Normalized) -> None:
        folded = norm.folded
        self.meta = _META.search(folded) is not None
        self.translate = not self.meta and _TRANSLATE.search(folded) is not None
        # Quote spans in ORIGINAL coordinates so hits from every view can be checked.
        self.quotes = (
            [norm.folded_to_original(*m.span()) for m in _QUOTED.finditer(folded)]
            if self.meta or self.translate
            else []
        )
        self.code = _CODE.search(folded) is not None

    def quoted(self, end: int) -> bool:
        """True if a match ending at `end` is inside a quotation in meta/translation text."""
        return any(a < end <= b for a, b in self.quotes)

    def apply(self, sig: Signal, start: int, end: int, w: float) -> float:
        if sig.type == "delimiter_injection" and self.code:
            w *= 0.5
        if not (self.meta or self.translate):
            return w
        # A match whose end lies inside a quotation is (at least partly) quoted material.
        if self.quoted(end):
            return w * 0.35
        if self.translate:
            return w
        return w * 0.6 if sig.meta_damped else w


def _combine(hits: list[_Hit]) -> tuple[float, list[_Hit]]:
    best: dict[str, float] = {}
    for h in hits:
        best[h.signal] = max(best.get(h.signal, 0.0), h.weight)
    score = _noisy_or(list(best.values()))
    contributing = [h for h in hits if h.weight >= 0.25]
    return score, contributing
