"""Text normalisation with span mapping back to the original string.

Detectors match on a normalised view (NFKC, invisible characters removed, homoglyphs folded,
whitespace collapsed) but must report spans in the ORIGINAL text, so every view carries a
piecewise span map.  ASCII stretches are copied as identity segments so a 100 KB prompt costs a
handful of regex passes rather than a per-character Python loop.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from policies.re2util import fast

# Zero-width, soft hyphen and bidi controls: invisible, so attackers use them to split words.
_DROP_CHARS = frozenset(
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200c\u200d\u200e\u200f"
    "\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069"
    "\u206a\u206b\u206c\u206d\u206e\u206f\u3164\ufeff\uffa0"
)

# Cyrillic / Greek letters that render like Latin ones (NFKC leaves them alone).
_HOMOGLYPHS: dict[int, str] = {
    ord(k): v
    for k, v in {
        "а": "a",
        "в": "b",
        "е": "e",
        "ё": "e",
        "к": "k",
        "м": "m",
        "н": "h",
        "о": "o",
        "р": "p",
        "с": "c",
        "т": "t",
        "у": "y",
        "х": "x",
        "і": "i",
        "ї": "i",
        "ј": "j",
        "ѕ": "s",
        "ԁ": "d",
        "һ": "h",
        "ԛ": "q",
        "ԝ": "w",
        "ɡ": "g",
        "ӏ": "l",
        "ո": "n",
        "А": "A",
        "В": "B",
        "Е": "E",
        "К": "K",
        "М": "M",
        "Н": "H",
        "О": "O",
        "Р": "P",
        "С": "C",
        "Т": "T",
        "Х": "X",
        "У": "Y",
        "І": "I",
        "Ј": "J",
        "Ѕ": "S",
        "Ԁ": "D",
        "α": "a",
        "β": "b",
        "ε": "e",
        "ι": "i",
        "κ": "k",
        "ν": "v",
        "ο": "o",
        "ρ": "p",
        "τ": "t",
        "υ": "u",
        "χ": "x",
        "γ": "y",
        "ω": "w",
        "Α": "A",
        "Β": "B",
        "Ε": "E",
        "Ζ": "Z",
        "Η": "H",
        "Ι": "I",
        "Κ": "K",
        "Μ": "M",
        "Ν": "N",
        "Ο": "O",
        "Ρ": "P",
        "Τ": "T",
        "Υ": "Y",
        "Χ": "X",
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
    }.items()
}

# Leetspeak digits/symbols back to letters; only applied inside tokens that also contain letters.
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "8": "b"}
)

# RE2 (DFA) scans: linear and cheap on long texts with few matches; boundaries that would
# need look-around are checked in Python on the (rare) candidates.
_SPECIAL = fast(r"[^\x00-\x7f]+|[ \t\r\f\v]*\n\s*|[ \t\r\f\v]{2,}|[\t\r\f\v]")
_LEET_TOKEN = fast(r"[\w@$]*(?:[a-z][\w@$]*[0134578@$]|[0134578@$][\w@$]*[a-z])[\w@$]*")
_SPACED = fast(r"\b(?:\w[ .\-_*/+]{1,3}){3,}\w\b")
_B64_RUN = fast(r"[A-Za-z0-9+/_-]{16,}={0,2}")
_HEX_RUN = fast(r"(?:(?:\\x|0x)?[0-9A-Fa-f]{2}[ ,:]?){8,}")
_HEXCH = frozenset("0123456789abcdefABCDEF")
_WORDISH = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@$")


class SpanMap:
    """Piecewise map from positions in a derived string to spans of its source string."""

    __slots__ = ("_n_starts", "_o_starts", "_o_ends", "_identity", "_n_len")

    def __init__(self) -> None:
        self._n_starts: list[int] = []
        self._o_starts: list[int] = []
        self._o_ends: list[int] = []
        self._identity: list[bool] = []
        self._n_len = 0

    def add(self, n_len: int, o_start: int, o_end: int, identity: bool) -> None:
        """Append a segment of n_len derived chars produced from source[o_start:o_end]."""
        if n_len <= 0:
            return
        self._n_starts.append(self._n_len)
        self._o_starts.append(o_start)
        self._o_ends.append(o_end)
        self._identity.append(identity)
        self._n_len += n_len

    def _locate(self, pos: int) -> tuple[int, int]:
        i = max(0, bisect_right(self._n_starts, pos) - 1)
        if self._identity[i]:
            off = self._o_starts[i] + (pos - self._n_starts[i])
            return off, off + 1
        return self._o_starts[i], self._o_ends[i]

    def to_source(self, start: int, end: int) -> tuple[int, int]:
        """Map the derived span [start, end) to the smallest covering source span."""
        if not self._n_starts:
            return 0, 0
        start = min(max(start, 0), self._n_len - 1)
        last = min(max(end - 1, start), self._n_len - 1)
        return self._locate(start)[0], self._locate(last)[1]


@dataclass(frozen=True)
class View:
    """A derived string plus a function mapping its spans to the original text."""

    text: str
    _mapper: Callable[[int, int], tuple[int, int]] = field(repr=False, compare=False)
    # Spans (in this view) rewritten relative to the view it was derived from.
    changed: tuple[tuple[int, int], ...] = ()

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a span of this view back to the original text."""
        return self._mapper(start, end)


@dataclass(frozen=True)
class Normalized:
    """Normalised text (`.text`), its accent-free case-folded twin (`.folded`) and span maps."""

    original: str
    text: str
    folded: str
    _map: SpanMap = field(repr=False, compare=False)
    _fold_map: SpanMap = field(repr=False, compare=False)

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a span of `.text` back to the original string."""
        return self._map.to_source(start, end)

    def folded_to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a span of `.folded` back to the original string."""
        return self._fold_map.to_source(start, end)

    @cached_property
    def folded_view(self) -> View:
        """The folded text as a View."""
        return View(self.folded, self.folded_to_original)

    @cached_property
    def leet_view(self) -> View:
        """Folded text with leetspeak digits turned back into letters (same length)."""
        text = self.folded
        parts: list[str] = []
        changed: list[tuple[int, int]] = []
        pos = 0
        for m in _LEET_TOKEN.finditer(text):
            s, e = m.span()
            if (s and text[s - 1] in _WORDISH) or e - s < 3:
                continue
            parts += [text[pos:s], text[s:e].translate(_LEET)]
            changed.append((s, e))
            pos = e
        if not parts:
            return View(text, self.folded_to_original)
        parts.append(text[pos:])
        return View("".join(parts), self.folded_to_original, tuple(changed))

    @cached_property
    def despaced_view(self) -> View:
        """Leet view with spaced-out letters ("i g n o r e") joined into words."""
        return derive(self.leet_view, _SPACED, _join_spaced)


def _join_spaced(m: Any) -> str | None:
    """Joined letters, or None when the run is glued to a longer word (not a spaced word)."""
    s, e, text = m.start(), m.end(), m.string
    if (s and text[s - 1].isalnum()) or (e < len(text) and text[e].isalnum()):
        return None
    return re.sub(r"[ .\-_*/+]+", "", m.group())


def _fold_piece(piece: str) -> str:
    folded = unicodedata.normalize("NFKD", piece.casefold())
    return "".join(c for c in folded if not unicodedata.combining(c))


def _char_pieces(ch: str) -> tuple[str, str]:
    """Return (normalised, folded) replacement for one non-ASCII character."""
    if ch in _DROP_CHARS:
        return "", ""
    cp = ord(ch)
    if 0xE0020 <= cp <= 0xE007E:  # Unicode tag chars smuggle invisible ASCII.
        plain = chr(cp - 0xE0000)
        return plain, plain.lower()
    if 0xE0000 <= cp <= 0xE007F or 0xFE00 <= cp <= 0xFE0F:
        return "", ""
    norm = unicodedata.normalize("NFKC", ch).translate(_HOMOGLYPHS)
    if norm.isspace():
        return " ", " "
    return norm, _fold_piece(norm)


def normalize(text: str) -> Normalized:
    """Normalise text for matching while keeping a map back to original offsets."""
    nparts: list[str] = []
    fparts: list[str] = []
    nmap, fmap = SpanMap(), SpanMap()
    pos = 0
    for m in _SPECIAL.finditer(text):
        if m.start() > pos:
            chunk = text[pos : m.start()]
            nparts.append(chunk)
            fparts.append(chunk.lower())
            nmap.add(len(chunk), pos, m.start(), True)
            fmap.add(len(chunk), pos, m.start(), True)
        _special(m.group(), m.start(), nparts, fparts, nmap, fmap)
        pos = m.end()
    if pos < len(text):
        chunk = text[pos:]
        nparts.append(chunk)
        fparts.append(chunk.lower())
        nmap.add(len(chunk), pos, len(text), True)
        fmap.add(len(chunk), pos, len(text), True)
    return Normalized(text, "".join(nparts), "".join(fparts), nmap, fmap)


def _special(
    chunk: str, base: int, nparts: list[str], fparts: list[str], nmap: SpanMap, fmap: SpanMap
) -> None:
    if chunk.isspace():
        # Keep one newline so line-anchored delimiter patterns still work.
        rep = "\n" if "\n" in chunk else " "
        _emit(rep, rep, base, base + len(chunk), nparts, fparts, nmap, fmap)
        return
    for i, ch in enumerate(chunk):
        n, f = _char_pieces(ch)
        if n == " " and nparts and nparts[-1].endswith((" ", "\n")):
            continue
        _emit(n, f, base + i, base + i + 1, nparts, fparts, nmap, fmap)


def _emit(
    n: str,
    f: str,
    o_start: int,
    o_end: int,
    nparts: list[str],
    fparts: list[str],
    nmap: SpanMap,
    fmap: SpanMap,
) -> None:
    nparts.append(n)
    fparts.append(f)
    nmap.add(len(n), o_start, o_end, False)
    fmap.add(len(f), o_start, o_end, False)


def derive(view: View, pattern: Any, repl: Callable[[Any], str | None]) -> View:
    """Rewrite matches of pattern in a view (repl None = keep), composing span maps."""
    parts: list[str] = []
    changed: list[tuple[int, int]] = []
    smap = SpanMap()
    pos = 0
    out_len = 0
    for m in pattern.finditer(view.text):
        rep = repl(m)
        if rep is None:
            continue
        if m.start() > pos:
            parts.append(view.text[pos : m.start()])
            smap.add(m.start() - pos, pos, m.start(), True)
            out_len += m.start() - pos
        changed.append((out_len, out_len + len(rep)))
        out_len += len(rep)
        parts.append(rep)
        smap.add(len(rep), m.start(), m.end(), False)
        pos = m.end()
    if pos == 0:
        return view
    if pos < len(view.text):
        parts.append(view.text[pos:])
        smap.add(len(view.text) - pos, pos, len(view.text), True)

    def mapper(start: int, end: int) -> tuple[int, int]:
        s, e = smap.to_source(start, end)
        return view.to_original(s, e)

    return View("".join(parts), mapper, tuple(changed))


@dataclass(frozen=True)
class DecodedRun:
    """Text decoded from an embedded base64 / hex run and the run's span in the source."""

    start: int
    end: int
    encoding: str
    text: str


def _printable_ratio(s: str) -> float:
    if not s:
        return 0.0
    ok = sum(1 for c in s if c.isprintable() or c in "\n\r\t")
    return ok / len(s)


def _decode_text(raw: bytes, min_printable: float) -> str | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    letters = sum(1 for c in text if c.isalpha())
    # Require real words, not just printable noise that random bytes sometimes decode to.
    if _printable_ratio(text) < min_printable or letters < len(text) * 0.5 or " " not in text:
        return None
    return text


def _try_b64(run: str) -> bytes | None:
    core = run.rstrip("=")
    if len(core) % 4 == 1:
        core = core[:-1]
    padded = core + "=" * (-len(core) % 4)
    try:
        if "-" in core or "_" in core:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None


def decoded_runs(text: str, min_len: int = 16, min_printable: float = 0.9) -> list[DecodedRun]:
    """Find base64 / hex runs that decode to mostly printable UTF-8 text."""
    runs: list[DecodedRun] = []
    for m in _HEX_RUN.finditer(text):
        if m.start() and text[m.start() - 1] in _HEXCH:
            continue
        digits = re.sub(r"\\x|0x|[ ,:]", "", m.group())
        if len(digits) < min_len or len(digits) % 2:
            continue
        decoded = _decode_text(bytes.fromhex(digits), min_printable)
        if decoded is not None:
            runs.append(DecodedRun(m.start(), m.end(), "hex", decoded))
    taken = [(r.start, r.end) for r in runs]
    for m in _B64_RUN.finditer(text):
        if m.start() and text[m.start() - 1].isalnum():
            continue
        if len(m.group()) < min_len or any(s <= m.start() < e for s, e in taken):
            continue
        raw = _try_b64(m.group())
        decoded = _decode_text(raw, min_printable) if raw else None
        if decoded is not None:
            runs.append(DecodedRun(m.start(), m.end(), "base64", decoded))
    runs.sort(key=lambda r: (r.start, r.end))
    return runs
