"""PII detector: email, phone, payment card, IBAN, US SSN, IP address (checksum-validated).

IP policy (documented choice): unspecified (0.0.0.0, ::), loopback (127.0.0.0/8, ::1),
broadcast (255.255.255.255) and version-like strings (``v1.2.3.4``, ``version 1.2.3.4``,
dotted runs with more than four parts) are NOT reported; private ranges ARE reported because
they reveal internal network layout.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, ClassVar

import phonenumbers

from policies.detectors.base import Detector, Finding, Params, ScanContext
from policies.detectors.checksums import IBAN_LENGTHS, iban_ok, is_card_number, ssn_ok
from policies.re2util import fast

PII_TYPES: tuple[str, ...] = ("email", "phone", "credit_card", "iban", "us_ssn", "ip_address")
_SEVERITY = {
    "email": "medium",
    "phone": "medium",
    "credit_card": "high",
    "iban": "high",
    "us_ssn": "high",
    "ip_address": "low",
}
# Earlier types win when two findings overlap (a card number is not also a phone number).
_PRIORITY = ("credit_card", "iban", "us_ssn", "email", "ip_address", "phone")

_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])"
)
# RE2 candidate scans (linear, cheap when rare); look-around checks happen in Python.
_DIGIT_GROUPS = fast(r"\d+(?:[ -]\d+)*")
_IBAN_START = fast(r"[A-Z]{2}\d{2}")
_SSN = fast(r"(\d{3})([- ])(\d{2})([- ])(\d{4})")
_SSN_BARE = fast(r"(?i)\b(?:ssn|social security(?: number| no\.?)?)\W{0,5}(\d{3})(\d{2})(\d{4})\b")
_IPV4 = fast(r"(?:\d{1,3}\.){3}\d{1,3}")
_IPV6 = fast(r"(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{1,4})?")
_VERSION_CTX = re.compile(r"(?i)(?:\bv|version\s*|release\s*|build\s*)$")
_PHONE_HINT = fast(r"\+?\(?\d[\d \t().\-/]{5,22}\d")
_DATE_LIKE = re.compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}$|^\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}$")


def _bounded(text: str, s: int, e: int, bad: str) -> bool:
    """True if the chars around [s, e) are not alphanumerics/underscore nor in `bad`."""
    before = text[s - 1] if s else " "
    after = text[e] if e < len(text) else " "
    return not (
        before.isalnum()
        or before == "_"
        or before in bad
        or after.isalnum()
        or after == "_"
        or after in bad
    )


def _find_emails(text: str) -> list[tuple[int, int]]:
    if "@" not in text:
        return []
    return [m.span() for m in _EMAIL.finditer(text) if ".." not in m.group()]


def _find_cards(text: str) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for run in _DIGIT_GROUPS.finditer(text):
        if len(run.group()) < 12:
            continue
        groups = [
            (m.start() + run.start(), m.end() + run.start())
            for m in re.finditer(r"\d+", run.group())
        ]
        # Try contiguous group sequences: a card may be followed by a year, an amount...
        for i in range(len(groups)):
            for j in range(i, len(groups)):
                s, e = groups[i][0], groups[j][1]
                raw = text[s:e]
                digits = raw.replace(" ", "").replace("-", "")
                if len(digits) > 19:
                    break
                seps = {c for c in raw if not c.isdigit()}
                if (
                    len(seps) <= 1
                    and _bounded(text, s, e, "-")
                    and is_card_number(digits)
                    and not any(s < oe and os_ < e for os_, oe in out)
                ):
                    out.append((s, e))
    return out


def _find_ibans(text: str) -> list[tuple[int, int]]:
    out = []
    for m in _IBAN_START.finditer(text):
        need = IBAN_LENGTHS.get(m.group()[:2])
        if need is None or (m.start() and text[m.start() - 1].isalnum()):
            continue
        chars, i = list(m.group()), m.end()
        while len(chars) < need and i < len(text):
            ch = text[i]
            if ch == " " and i + 1 < len(text) and text[i + 1].isalnum() and text[i - 1] != " ":
                i += 1
                continue
            if not (ch.isascii() and ch.isalnum()):
                break
            chars.append(ch.upper())
            i += 1
        if (
            len(chars) == need
            and (i >= len(text) or not text[i].isalnum())
            and iban_ok("".join(chars))
        ):
            out.append((m.start(), i))
    return out


def _find_ssns(text: str) -> list[tuple[int, int]]:
    out = [
        m.span()
        for m in _SSN.finditer(text)
        if m.group(2) == m.group(4)
        and _bounded(text, m.start(), m.end(), "-")
        and ssn_ok(m.group(1), m.group(3), m.group(5))
    ]
    out += [
        (m.start(1), m.end(3))
        for m in _SSN_BARE.finditer(text)
        if ssn_ok(m.group(1), m.group(2), m.group(3))
    ]
    return out


def _ip_excluded(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return ip.is_unspecified or ip.is_loopback or str(ip) == "255.255.255.255"


def _find_ips(text: str) -> list[tuple[int, int]]:
    out = []
    for m in _IPV4.finditer(text):
        s, e = m.span()
        if not _bounded(text, s, e, ".") and not (
            e < len(text)
            and text[e] == "."
            and not text[e + 1 : e + 2].isdigit()
            and _bounded(text, s, s, ".")
        ):
            continue  # part of a longer dotted run (version numbers, OIDs)
        if _VERSION_CTX.search(text, max(0, s - 10), s):
            continue
        try:
            ip4 = ipaddress.IPv4Address(m.group())
        except ValueError:
            continue
        if not _ip_excluded(ip4):
            out.append(m.span())
    for m in _IPV6.finditer(text) if "::" in text or text.count(":") >= 2 else ():
        if not _bounded(text, m.start(), m.end(), ":.") or m.group().count(":") < 2:
            continue
        groups = [g for g in re.split(r"[:.]", m.group()) if g]
        # "a::b" or "std::x"-like fragments are not worth flagging as addresses.
        if len(groups) < 3 and max((len(g) for g in groups), default=0) < 3:
            continue
        try:
            ip6 = ipaddress.IPv6Address(m.group())
        except ValueError:
            continue
        if not _ip_excluded(ip6):
            out.append(m.span())
    return out


class PiiDetector(Detector):
    """Finds personal data; look-alikes failing checksums/ranges are not reported."""

    name: ClassVar[str] = "pii"

    def __init__(self, **params: Any) -> None:
        p = Params(self.name, params, {"types", "default_region"})
        self.types = p.str_list("types", list(PII_TYPES), PII_TYPES)
        region = p.string("default_region", "US").upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"pii: default_region {region!r} is not a supported region code")
        self.region = region
        super().__init__(types=self.types, default_region=region)

    def _phones(self, text: str) -> list[tuple[int, int]]:
        # phonenumbers is slow on long text, so only run it on windows around digit clusters.
        out: list[tuple[int, int]] = []
        last_end = -1
        for hint in _PHONE_HINT.finditer(text):
            lo, hi = max(0, hint.start() - 4), min(len(text), hint.end() + 4)
            if lo < last_end:
                lo = last_end
            last_end = hi
            matcher = phonenumbers.PhoneNumberMatcher(
                text[lo:hi], self.region, leniency=phonenumbers.Leniency.VALID
            )
            for match in matcher:
                if not _DATE_LIKE.match(match.raw_string):
                    out.append((lo + match.start, lo + match.end))
        return out

    def scan_context(self, ctx: ScanContext) -> list[Finding]:
        """Find PII in the original text."""
        text = ctx.text
        finders = {
            "email": _find_emails,
            "credit_card": _find_cards,
            "iban": _find_ibans,
            "us_ssn": _find_ssns,
            "ip_address": _find_ips,
            "phone": self._phones,
        }
        taken: list[tuple[int, int]] = []
        findings: list[Finding] = []
        for kind in _PRIORITY:
            if kind not in self.types:
                continue
            for s, e in sorted(set(finders[kind](text))):
                if any(s < te and ts < e for ts, te in taken):
                    continue
                taken.append((s, e))
                findings.append(Finding(self.name, kind, s, e, _SEVERITY[kind], 1.0))
        findings.sort(key=lambda f: (f.start, f.end, f.type))
        return findings
