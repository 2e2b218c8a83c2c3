"""Detector registry: name -> class. Engine rules refer to detectors by these names."""

from __future__ import annotations

from policies.detectors.base import Detector, Finding, ScanContext
from policies.detectors.canary import CanaryDetector
from policies.detectors.injection import InjectionDetector
from policies.detectors.keywords import KeywordsDetector
from policies.detectors.pii import PiiDetector
from policies.detectors.secrets import SecretsDetector
from policies.detectors.topics import TopicsDetector

DETECTORS: dict[str, type[Detector]] = {
    cls.name: cls
    for cls in (
        InjectionDetector,
        PiiDetector,
        SecretsDetector,
        KeywordsDetector,
        TopicsDetector,
        CanaryDetector,
    )
}

__all__ = ["DETECTORS", "Detector", "Finding", "ScanContext"]
