"""Policy document validation and normalisation (pure; raises PolicyConfigError with paths)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from policies.detectors import DETECTORS
from policies.detectors.base import SEVERITIES, Detector

ACTIONS = ("block", "redact", "flag")
MODES = ("enforce", "shadow")
APPLIES = ("input", "output", "both")
REQUEST_KINDS = ("max_prompt_chars", "max_tokens", "allowed_tools")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


class PolicyConfigError(ValueError):
    """Invalid policy document; `path` names the offending field, e.g. rules[2].threshold."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass(frozen=True)
class RuleSpec:
    """A validated rule with defaults filled in; detector is None for request-level kinds."""

    id: str
    kind: str
    action: str
    mode: str
    applies_to: str
    threshold: float
    severity: str | None
    detector: Detector | None
    limit: int | None
    names: tuple[str, ...]

    @property
    def shadow(self) -> bool:
        """True when findings are reported but never change the action."""
        return self.mode == "shadow"


def _check_keys(obj: dict[str, Any], allowed: set[str], path: str) -> None:
    for key in sorted(obj):
        if key not in allowed:
            raise PolicyConfigError(f"{path}.{key}", f"unknown field; allowed: {sorted(allowed)}")


def _choice(
    rule: dict[str, Any], key: str, choices: tuple[str, ...], default: str | None, path: str
) -> str:
    v = rule.get(key, default)
    if v not in choices:
        raise PolicyConfigError(f"{path}.{key}", f"must be one of {list(choices)}, got {v!r}")
    assert isinstance(v, str)
    return v


def _common(rule: dict[str, Any], path: str, actions: tuple[str, ...]) -> dict[str, Any]:
    rid = rule.get("id")
    if not isinstance(rid, str) or not _ID.match(rid):
        raise PolicyConfigError(f"{path}.id", "must be a string of [A-Za-z0-9_.:-], 1-64 chars")
    out: dict[str, Any] = {
        "id": rid,
        "action": _choice(rule, "action", actions, None, path),
        "mode": _choice(rule, "mode", MODES, "enforce", path),
    }
    if "severity" in rule and rule["severity"] is not None:
        out["severity"] = _choice(rule, "severity", SEVERITIES, None, path)
    if "enabled" in rule and not isinstance(rule["enabled"], bool):
        raise PolicyConfigError(f"{path}.enabled", "must be true or false")
    out["enabled"] = rule.get("enabled", True)
    return out


def _normalise_detector_rule(rule: dict[str, Any], path: str) -> dict[str, Any]:
    _check_keys(
        rule,
        {
            "id",
            "detector",
            "params",
            "threshold",
            "action",
            "mode",
            "applies_to",
            "severity",
            "enabled",
            "description",
        },
        path,
    )
    out = _common(rule, path, ACTIONS)
    det = rule.get("detector")
    if det not in DETECTORS:
        raise PolicyConfigError(
            f"{path}.detector", f"unknown detector {det!r}; known: {sorted(DETECTORS)}"
        )
    params = rule.get("params", {})
    if not isinstance(params, dict):
        raise PolicyConfigError(f"{path}.params", "must be an object")
    thr = rule.get("threshold", 0.5)
    if isinstance(thr, bool) or not isinstance(thr, int | float) or not 0.0 <= thr <= 1.0:
        raise PolicyConfigError(f"{path}.threshold", f"must be a number in [0, 1], got {thr!r}")
    out.update(
        detector=det,
        params=params,
        threshold=float(thr),
        applies_to=_choice(rule, "applies_to", APPLIES, "input", path),
    )
    if isinstance(rule.get("description"), str):
        out["description"] = rule["description"]
    return out


def _normalise_request_rule(rule: dict[str, Any], path: str) -> dict[str, Any]:
    kind = rule["kind"]
    if kind not in REQUEST_KINDS:
        raise PolicyConfigError(f"{path}.kind", f"must be one of {list(REQUEST_KINDS)}")
    allowed = {"id", "kind", "action", "mode", "severity", "enabled", "description"}
    allowed |= {"names"} if kind == "allowed_tools" else {"limit"}
    _check_keys(rule, allowed, path)
    actions = ("clamp", "block", "flag") if kind == "max_tokens" else ("block", "flag")
    out = _common(rule, path, actions)
    out["kind"] = kind
    if kind == "allowed_tools":
        names = rule.get("names")
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            raise PolicyConfigError(f"{path}.names", "must be a list of non-empty strings")
        out["names"] = sorted(set(names))
    else:
        limit = rule.get("limit")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise PolicyConfigError(f"{path}.limit", f"must be a positive integer, got {limit!r}")
        out["limit"] = limit
    return out


def normalise_doc(doc: Any) -> dict[str, Any]:
    """Validate a policy document and return it with defaults filled in."""
    if not isinstance(doc, dict):
        raise PolicyConfigError("$", "policy document must be an object")
    _check_keys(doc, {"name", "rules", "canary", "description", "restore_redactions"}, "$")
    name = doc.get("name")
    if not isinstance(name, str) or not name.strip():
        raise PolicyConfigError("name", "must be a non-empty string")
    rules = doc.get("rules")
    if not isinstance(rules, list):
        raise PolicyConfigError("rules", "must be a list")
    out_rules: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, rule in enumerate(rules):
        path = f"rules[{i}]"
        if not isinstance(rule, dict):
            raise PolicyConfigError(path, "must be an object")
        norm = (
            _normalise_request_rule(rule, path)
            if "kind" in rule
            else _normalise_detector_rule(rule, path)
        )
        if norm["id"] in seen:
            raise PolicyConfigError(f"{path}.id", f"duplicate rule id {norm['id']!r}")
        seen.add(norm["id"])
        out_rules.append(norm)
    out: dict[str, Any] = {"name": name, "rules": out_rules}
    canary = doc.get("canary")
    if canary is not None:
        if not isinstance(canary, str) or len(canary) < 8:
            raise PolicyConfigError("canary", "must be a string of at least 8 characters")
        out["canary"] = canary
    if isinstance(doc.get("description"), str):
        out["description"] = doc["description"]
    restore = doc.get("restore_redactions", False)
    if not isinstance(restore, bool):
        raise PolicyConfigError("restore_redactions", "must be true or false")
    if restore:  # only written when on, so existing documents keep their version hash
        out["restore_redactions"] = True
    return out


def build_rules(norm_doc: dict[str, Any]) -> tuple[RuleSpec, ...]:
    """Instantiate detectors for a normalised document (params errors carry their path)."""
    specs: list[RuleSpec] = []
    for i, r in enumerate(norm_doc["rules"]):
        if not r["enabled"]:
            continue
        det: Detector | None = None
        if "detector" in r:
            try:
                det = DETECTORS[r["detector"]](**r["params"])
            except (ValueError, TypeError) as exc:
                raise PolicyConfigError(f"rules[{i}].params", str(exc)) from None
            # Defaults filled by the detector become part of the versioned document.
            r["params"] = dict(det.params)
        specs.append(
            RuleSpec(
                id=r["id"],
                kind=r.get("kind", "detector"),
                action=r["action"],
                mode=r["mode"],
                applies_to=r.get("applies_to", "input"),
                threshold=r.get("threshold", 0.0),
                severity=r.get("severity"),
                detector=det,
                limit=r.get("limit"),
                names=tuple(r.get("names", ())),
            )
        )
    if "canary" in norm_doc:
        specs.append(
            RuleSpec(
                "canary",
                "detector",
                "block",
                "enforce",
                "output",
                0.0,
                "critical",
                DETECTORS["canary"](canary=norm_doc["canary"]),
                None,
                (),
            )
        )
    return tuple(specs)
