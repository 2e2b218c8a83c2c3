"""Hand-built Outcomes for in-process tests of metrics, logs and spans."""

from __future__ import annotations

import time
from typing import Any

from policies.types import Decision, RuleFinding
from proxy.formats import Usage
from proxy.outcome import Outcome
from proxy.resilience import Attempt
from proxy.routing import DeploymentInfo
from tenants.auth import KeyContext

PROVIDER_SECRET = "sk-canary-provider-secret-0123456789abcdef"


def key_context(org: str = "acme", team: str = "search") -> KeyContext:
    return KeyContext(
        key_id=7,
        key_prefix="sgw-AbCdEfGh",
        key_name="app",
        end_user="",
        team_id=3,
        team_slug=team,
        org_id=2,
        org_slug=org,
        org_time_zone="UTC",
        allowed_models=None,
        expires_at=None,
        revoked_at=None,
    )


def deployment(kind: str = "openai") -> DeploymentInfo:
    return DeploymentInfo(
        id=11,
        provider_id=5,
        provider_name="openai-prod",
        kind=kind,
        base_url="https://api.openai.example",
        secret=PROVIDER_SECRET,
        options={},
        upstream_model="gpt-4o-mini-2024-07-18",
        priority=0,
        weight=1,
        connect_timeout_s=5,
        first_byte_timeout_s=30,
        stream_idle_timeout_s=30,
        total_timeout_s=60,
    )


def finding(rule: str, action: str = "redact") -> RuleFinding:
    return RuleFinding(rule, "pii", "EMAIL", "messages[0].content", 0, 5, "medium", action, False)


def served(route: str = "/v1/chat/completions", **changes: Any) -> Outcome:
    """A successful, authenticated request that reached the provider after one failed try."""
    outcome = Outcome("req_test", route, "127.0.0.1", time.perf_counter() - 0.25, None)  # type: ignore[arg-type]
    outcome.ctx = key_context()
    outcome.model = "gpt-test"
    outcome.deployment = deployment()
    outcome.attempts = [
        Attempt(11, "openai-prod", "gpt-4o-mini-2024-07-18", "timeout", None, 100.0),
        Attempt(11, "openai-prod", "gpt-4o-mini-2024-07-18", "ok", 200, 120.0),
    ]
    outcome.upstream_s = 0.24
    outcome.usage = Usage(prompt_tokens=12, completion_tokens=30)
    outcome.max_output_tokens = 100
    outcome.status = 200
    outcome.decision = Decision("redact", 40, (finding("pii-email"), finding("pii-email")), "v1")
    outcome.output_decision = Decision("allow", 0, (), "v1")
    outcome.forwarded_prompt = [{"role": "user", "content": "PROMPT-CANARY text"}]
    for name, value in changes.items():
        setattr(outcome, name, value)
    return outcome


def bare(route: str, status: int, code: str | None, **changes: Any) -> Outcome:
    """A request that never got past an early check."""
    outcome = Outcome("req_bare", route, "127.0.0.1", time.perf_counter(), None)  # type: ignore[arg-type]
    outcome.fail(status, code)
    for name, value in changes.items():
        setattr(outcome, name, value)
    return outcome
