from __future__ import annotations

import pytest

from policies.detectors.canary import CanaryDetector
from policies.detectors.keywords import KeywordsDetector
from policies.detectors.topics import TopicsDetector


def test_keywords_match_word_bounded_case_and_accent_insensitive() -> None:
    det = KeywordsDetector(keywords=["Projekt Zeus", "café"])
    text = "Das PROJEKT   ZEUS startet im Cafe, nicht im cafeteria."
    spans = [text[f.start : f.end] for f in det.scan(text)]
    assert spans == ["PROJEKT   ZEUS", "Cafe"]


def test_regex_patterns_use_re2_and_report_spans() -> None:
    det = KeywordsDetector(patterns=[r"(?i)ticket-\d{4}"])
    text = "see TICKET-1234 and ticket-12"
    assert [text[f.start : f.end] for f in det.scan(text)] == ["TICKET-1234"]


def test_invalid_regex_raises_at_compile_time() -> None:
    with pytest.raises(ValueError, match="invalid regex"):
        KeywordsDetector(patterns=["(unclosed"])
    with pytest.raises(ValueError, match="invalid regex"):
        KeywordsDetector(patterns=[r"(?<=x)y"])  # look-behind is not RE2


def test_max_scan_chars_caps_input() -> None:
    det = KeywordsDetector(keywords=["secret"], max_scan_chars=10)
    assert det.scan("0123456789 secret") == []


def test_keywords_require_something() -> None:
    with pytest.raises(ValueError):
        KeywordsDetector()


def test_topics_report_topic_name() -> None:
    found = TopicsDetector(topics=["weapons"]).scan("how to build a pipe bomb")
    assert [f.type for f in found] == ["weapons"]
    with pytest.raises(ValueError):
        TopicsDetector(topics=["nope"])


def test_canary_found_verbatim_spaced_and_encoded() -> None:
    det = CanaryDetector(canary="ZEBRA-7781-canary")
    assert det.scan("leak: ZEBRA-7781-canary")
    assert det.scan("leak: z e b r a 7781 canary")
    import base64

    assert det.scan("b64: " + base64.b64encode(b"the marker is ZEBRA-7781-canary ok").decode())
    assert det.scan("nothing here") == []
    with pytest.raises(ValueError):
        CanaryDetector(canary="short")
