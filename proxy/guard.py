"""The policy stage: evaluate prompts before the provider, scan answers on the way back.

Block answers 400 `policy_violation` naming the version, rules and risk (never the matched
text); redact replaces findings with typed placeholders before forwarding; clamp lowers
`max_tokens`; flag forwards and records. Outputs are scanned for secrets, PII and the
canary: a complete answer that must be blocked is withheld with finish_reason
`content_filter`; a stream is cut at the chunk where the finding completes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from django.conf import settings

from audit.records import prompt_hmac
from policies import extract
from policies.engine import CompiledPolicy
from policies.redaction import StreamRestorer, restore
from policies.types import Decision, PolicyInput
from proxy.errors import GatewayError
from proxy.outcome import Outcome

Extractor = Callable[[dict[str, Any]], PolicyInput]
EXTRACTORS: dict[str, Extractor] = {
    "chat": extract.segments_from_openai_chat,
    "messages": extract.segments_from_anthropic_messages,
    "embeddings": extract.segments_from_embeddings,
}


def policy_error(decision: Decision) -> GatewayError:
    return GatewayError(
        400,
        "The request was blocked by the organization's policy.",
        code="policy_violation",
        type="invalid_request_error",
        extra={
            "policy": {
                "version": decision.version,
                "rules": list(decision.blocking_rules),
                "risk_score": decision.risk_score,
            }
        },
    )


async def _evaluate(policy: CompiledPolicy, inp: PolicyInput) -> Decision:
    size = sum(len(s.text) for s in inp.segments)
    if size > settings.GATEWAY_POLICY_INLINE_CHARS:
        return await asyncio.to_thread(policy.evaluate, inp)
    return policy.evaluate(inp)


async def enforce_input(outcome: Outcome, body: dict[str, Any], kind: str) -> dict[str, Any]:
    """Apply the caller's policy to a request body; returns the body to forward."""
    inp = EXTRACTORS[kind](body)
    outcome.prompt_hmac = prompt_hmac([s.text for s in inp.segments])
    policy = outcome.ctx.policy if outcome.ctx else None
    if policy is None:
        return _captured(outcome, body, kind)
    decision = await _evaluate(policy, inp)
    outcome.decision = decision
    if decision.action == "block":
        raise policy_error(decision)
    if decision.action == "redact":
        redacted, mapping = policy.redact(inp, decision)
        body = extract.apply_redacted(body, redacted)
        outcome.redactions = mapping
    if decision.clamp_max_tokens is not None:
        body = _clamp(body, decision.clamp_max_tokens)
    return _captured(outcome, body, kind)


def _captured(outcome: Outcome, body: dict[str, Any], kind: str) -> dict[str, Any]:
    if outcome.ctx is not None and outcome.ctx.capture_prompts:
        field = "input" if kind == "embeddings" else "messages"
        outcome.forwarded_prompt = {"system": body.get("system"), field: body.get(field)}
    return body


def _clamp(body: dict[str, Any], limit: int) -> dict[str, Any]:
    body = dict(body)
    for field in ("max_completion_tokens", "max_tokens"):
        if isinstance(body.get(field), int):
            body[field] = min(body[field], limit)
    if not any(isinstance(body.get(f), int) for f in ("max_completion_tokens", "max_tokens")):
        body["max_tokens"] = limit
    return body


def scan_chat_response(outcome: Outcome, response: dict[str, Any]) -> dict[str, Any]:
    """Scan a complete chat answer; withhold it (content_filter) if a blocking rule fires."""
    policy = outcome.ctx.policy if outcome.ctx else None
    if policy is None:
        return response
    texts = [
        str((c.get("message") or {}).get("content") or "") for c in response.get("choices") or []
    ]
    decision = policy.scan_output("\n".join(texts))
    outcome.output_decision = decision
    if outcome.ctx is not None and outcome.ctx.capture_prompts and decision.action != "block":
        outcome.response_text = "\n".join(texts)
    if decision.action != "block":
        return _restored(policy, outcome, response)
    choices = [
        {**c, "message": {"role": "assistant", "content": None}, "finish_reason": "content_filter"}
        for c in response.get("choices") or []
    ]
    return {**response, "choices": choices}


def _restored(policy: CompiledPolicy, outcome: Outcome, response: dict[str, Any]) -> dict[str, Any]:
    if not (policy.restore_redactions and outcome.redactions):
        return response
    choices = []
    for choice in response.get("choices") or []:
        message = dict(choice.get("message") or {})
        if isinstance(message.get("content"), str):
            message["content"] = restore(message["content"], outcome.redactions)
        choices.append({**choice, "message": message})
    return {**response, "choices": choices}


def restorer(outcome: Outcome) -> StreamRestorer | None:
    """A placeholder restorer for a stream, when the policy asks for one."""
    policy = outcome.ctx.policy if outcome.ctx else None
    if policy is None or not policy.restore_redactions or not outcome.redactions:
        return None
    return StreamRestorer(outcome.redactions)


def scan_messages_response(outcome: Outcome, response: dict[str, Any]) -> dict[str, Any]:
    """Scan a complete Anthropic answer; withhold it (stop_reason refusal) if blocked."""
    policy = outcome.ctx.policy if outcome.ctx else None
    if policy is None:
        return response
    text = "\n".join(
        str(b.get("text", "")) for b in response.get("content") or [] if b.get("type") == "text"
    )
    decision = policy.scan_output(text)
    outcome.output_decision = decision
    if decision.action != "block":
        return response
    return {**response, "content": [], "stop_reason": "refusal"}
