"""Secrets detector: provider key formats, PEM private keys, JWTs, credential URLs, entropy."""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections import Counter
from typing import Any, ClassVar

from policies.detectors.base import Detector, Finding, Params, ScanContext
from policies.re2util import fast

# (type, pattern, severity): provider formats are specific enough to report without context.
# (type, pattern, severity, literal prefilter): each pattern only runs if its literal occurs.
_PATTERNS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    (
        "anthropic_key",
        r"\bsk-ant-(?:api\d\d-|admin\d\d-)?[A-Za-z0-9_-]{32,}",
        "critical",
        ("sk-ant-",),
    ),
    (
        "openai_key",
        r"\bsk-(?!ant-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}",
        "critical",
        ("sk-",),
    ),
    (
        "aws_access_key_id",
        r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b",
        "critical",
        ("AKIA", "ASIA", "ABIA", "ACCA"),
    ),
    (
        "github_token",
        r"\bgh[pousr]_[A-Za-z0-9]{36,255}\b",
        "critical",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
    ),
    ("github_token", r"\bgithub_pat_[A-Za-z0-9_]{50,255}\b", "critical", ("github_pat_",)),
    ("gitlab_token", r"\bglpat-[A-Za-z0-9_-]{20,}", "critical", ("glpat-",)),
    ("slack_token", r"\bxox[baprs]-[A-Za-z0-9-]{10,}", "critical", ("xox",)),
    (
        "stripe_key",
        r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}",
        "critical",
        ("k_live_", "k_test_"),
    ),
    ("google_api_key", r"\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])", "high", ("AIza",)),
    ("gateway_key", r"\bsgw-[A-Za-z0-9_-]{43,}", "critical", ("sgw-",)),
    (
        "private_key",
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
        r"(?:[\s\S]{0,8192}?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----)?",
        "critical",
        ("PRIVATE KEY",),
    ),
    (
        "url_credentials",
        r"\b[a-zA-Z][a-zA-Z0-9+.-]{1,20}://[^\s:/@\"'<>]{1,64}:"
        r"[^\s@/\"'<>]{3,128}@[A-Za-z0-9.-]+",
        "high",
        ("://",),
    ),
)
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")
_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-.")
_AWS_CTX = re.compile(r"(?i)aws|secret|AKIA|ASIA")
_TOKEN = fast(r"[A-Za-z0-9+/_-]{20,}={0,2}")
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_SECRET_CTX = re.compile(
    r"(?i)(?:secret|token|api[_-]?key|apikey|passw|pwd|auth|bearer|"
    r"credential|private|access[_-]?key|signing)[\w\s\"']{0,12}[:=\s]\s*[\"']?$"
)
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://\S+")
_PLACEHOLDER_PW = frozenset(
    {
        "password",
        "pass",
        "passwd",
        "pwd",
        "secret",
        "changeme",
        "xxx",
        "xxxx",
        "****",
        "*****",
        "******",
        "user",
        "username",
        "example",
    }
)


def shannon_entropy(s: str) -> float:
    """Shannon entropy in bits per character."""
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in Counter(s).values()) if n else 0.0


def _jwt_header_ok(token: str) -> bool:
    head = token.split(".", 1)[0]
    try:
        data = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return False
    return isinstance(data, dict) and "alg" in data


def _url_password_placeholder(match: str) -> bool:
    pw = match.split("://", 1)[1].split(":", 1)[1].rsplit("@", 1)[0]
    return pw.lower() in _PLACEHOLDER_PW or pw[0] in "$<{%[" or set(pw) <= {"*", "x", "X"}


class SecretsDetector(Detector):
    """Finds credentials; the entropy fallback ignores prose, UUIDs, hashes, paths and URLs."""

    name: ClassVar[str] = "secrets"

    def __init__(self, **params: Any) -> None:
        p = Params(self.name, params, {"entropy", "min_entropy", "min_length"})
        self.entropy = p.boolean("entropy", True)
        self.min_entropy = p.number("min_entropy", 4.0, 2.0, 6.0)
        self.min_length = p.integer("min_length", 24, 16, 256)
        self._patterns = [(t, re.compile(rx), sev, pre) for t, rx, sev, pre in _PATTERNS]
        super().__init__(
            entropy=self.entropy, min_entropy=self.min_entropy, min_length=self.min_length
        )

    def scan_context(self, ctx: ScanContext) -> list[Finding]:
        """Find secrets in the original text."""
        text = ctx.text
        hits: list[tuple[int, int, str, str, float]] = []
        for kind, rx, sev, pre in self._patterns:
            if not any(p in text for p in pre):
                continue
            for m in rx.finditer(text):
                if kind == "url_credentials" and _url_password_placeholder(m.group()):
                    continue
                if kind == "openai_key" and not _mixed(m.group()[3:]):
                    continue
                hits.append((m.start(), m.end(), kind, sev, 1.0))
        if "eyJ" in text:
            hits += [
                (m.start(), m.end(), "jwt", "high", 1.0)
                for m in _JWT.finditer(text)
                if _jwt_header_ok(m.group())
            ]
        tokens = [
            (m.start(), m.end(), m.group())
            for m in _TOKEN.finditer(text)
            if not (m.start() and text[m.start() - 1] in _TOKEN_CHARS)
            and not (m.end() < len(text) and text[m.end()] in _TOKEN_CHARS and text[m.end()] != ".")
        ]
        hits += self._aws_secrets(text, tokens, hits)
        if self.entropy:
            hits += self._entropy_hits(text, tokens, hits)
        return _dedupe(self.name, hits)

    def _aws_secrets(
        self,
        text: str,
        tokens: list[tuple[int, int, str]],
        hits: list[tuple[int, int, str, str, float]],
    ) -> list[tuple[int, int, str, str, float]]:
        out = []
        for s, e, tok in tokens:
            if (
                len(tok) != 40
                or "_" in tok
                or "-" in tok
                or not _mixed(tok)
                or _overlaps(s, e, hits)
            ):
                continue
            # 40 base64 chars alone are ambiguous; require AWS/secret context nearby.
            if _AWS_CTX.search(text, max(0, s - 120), s):
                out.append((s, e, "aws_secret_access_key", "critical", 1.0))
        return out

    def _entropy_hits(
        self,
        text: str,
        tokens: list[tuple[int, int, str]],
        hits: list[tuple[int, int, str, str, float]],
    ) -> list[tuple[int, int, str, str, float]]:
        urls = [m.span() for m in _URL.finditer(text)] if "://" in text else []
        out = []
        for s, e, tok in tokens:
            if len(tok) < self.min_length or _overlaps(s, e, hits) or _inside(s, e, urls):
                continue
            ctx = _SECRET_CTX.search(text, max(0, s - 40), s) is not None
            if self._looks_secret(tok, ctx):
                out.append(
                    (s, e, "high_entropy", "medium" if not ctx else "high", 0.9 if ctx else 0.7)
                )
        return out

    def _looks_secret(self, tok: str, ctx: bool) -> bool:
        if _UUID.match(tok):
            return False
        if _HEX.match(tok):
            # Hex digests (commit ids, checksums) are everywhere; only flag with key context.
            return ctx and shannon_entropy(tok) >= 3.0
        if "/" in tok and sum(c.isupper() for c in tok) < 2:
            return False  # path-like
        classes = sum(
            (
                any(c.islower() for c in tok),
                any(c.isupper() for c in tok),
                any(c.isdigit() for c in tok),
            )
        )
        if classes < 3 and not (ctx and classes >= 2):
            return False
        if sum(c.isdigit() for c in tok) < 2 and not ctx:
            return False
        threshold = self.min_entropy - (0.5 if ctx else 0.0)
        return shannon_entropy(tok) >= threshold


def _mixed(tok: str) -> bool:
    return any(c.isdigit() for c in tok) and any(c.isalpha() for c in tok)


def _overlaps(s: int, e: int, hits: list[tuple[int, int, str, str, float]]) -> bool:
    return any(s < he and hs < e for hs, he, *_ in hits)


def _inside(s: int, e: int, spans: list[tuple[int, int]]) -> bool:
    return any(a <= s and e <= b for a, b in spans)


def _dedupe(name: str, hits: list[tuple[int, int, str, str, float]]) -> list[Finding]:
    out: list[Finding] = []
    for s, e, kind, sev, score in sorted(hits, key=lambda h: (h[0], -h[1], h[2])):
        if out and s < out[-1].end:
            continue  # Earlier/longer hit already covers this span.
        out.append(Finding(name, kind, s, e, sev, score))
    return out
