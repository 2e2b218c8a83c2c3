from __future__ import annotations

import pytest

from policies.detectors import DETECTORS
from policies.detectors.base import Finding


def test_registry_names_match_classes() -> None:
    assert sorted(DETECTORS) == [
        "canary",
        "keywords",
        "pii",
        "prompt_injection",
        "secrets",
        "topics",
    ]
    for name, cls in DETECTORS.items():
        assert cls.name == name


def test_finding_validates_severity_and_score() -> None:
    with pytest.raises(ValueError):
        Finding("x", "y", 0, 1, "extreme", 0.5)
    with pytest.raises(ValueError):
        Finding("x", "y", 0, 1, "low", 1.5)
