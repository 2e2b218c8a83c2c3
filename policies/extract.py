"""Turn provider request bodies into PolicyInput segments and write redactions back."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from policies.types import PolicyInput, Segment

_PATH_TOKEN = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")


def _int_or_none(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _content_segments(content: Any, base: str, role: str) -> list[Segment]:
    if isinstance(content, str):
        return [Segment(base, role, content)]
    out: list[Segment] = []
    if isinstance(content, list):
        for j, part in enumerate(content):
            if isinstance(part, str):
                out.append(Segment(f"{base}[{j}]", role, part))
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                out.append(Segment(f"{base}[{j}].text", role, part["text"]))
    return out


def segments_from_openai_chat(body: dict[str, Any]) -> PolicyInput:
    """Segments for an OpenAI chat.completions body (messages, names, tool-call args, tools)."""
    segs: list[Segment] = []
    for i, msg in enumerate(body.get("messages") or []):
        if not isinstance(msg, dict):
            continue
        role = str(msg.get("role", "user"))
        segs += _content_segments(msg.get("content"), f"messages[{i}].content", role)
        if isinstance(msg.get("name"), str):
            segs.append(Segment(f"messages[{i}].name", role, msg["name"]))
        for k, call in enumerate(msg.get("tool_calls") or []):
            args = (call.get("function") or {}).get("arguments") if isinstance(call, dict) else None
            if isinstance(args, str):
                segs.append(
                    Segment(f"messages[{i}].tool_calls[{k}].function.arguments", role, args)
                )
        fc = msg.get("function_call")
        if isinstance(fc, dict) and isinstance(fc.get("arguments"), str):
            segs.append(Segment(f"messages[{i}].function_call.arguments", role, fc["arguments"]))
    names: list[str] = []
    for tool in body.get("tools") or []:
        fn = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(fn, dict) and isinstance(fn.get("name"), str):
            names.append(fn["name"])
    names += [
        f["name"]
        for f in body.get("functions") or []
        if isinstance(f, dict) and isinstance(f.get("name"), str)
    ]
    max_tokens = _int_or_none(body.get("max_completion_tokens", body.get("max_tokens")))
    return PolicyInput(tuple(segs), max_tokens, tuple(names))


def _anthropic_block(block: Any, base: str, role: str) -> list[Segment]:
    if not isinstance(block, dict):
        return []
    kind = block.get("type")
    if kind == "text" and isinstance(block.get("text"), str):
        return [Segment(f"{base}.text", role, block["text"])]
    if kind == "tool_use" and "input" in block:
        compact = json.dumps(
            block["input"], ensure_ascii=False, separators=(",", ":"), sort_keys=True
        )
        return [Segment(f"{base}.input", role, compact)]
    if kind == "tool_result":
        return _content_segments(block.get("content"), f"{base}.content", "tool")
    return []


def segments_from_anthropic_messages(body: dict[str, Any]) -> PolicyInput:
    """Segments for an Anthropic /v1/messages body (system, text, tool_use, tool_result)."""
    segs: list[Segment] = []
    system = body.get("system")
    if isinstance(system, str):
        segs.append(Segment("system", "system", system))
    elif isinstance(system, list):
        segs += [
            s for j, b in enumerate(system) for s in _anthropic_block(b, f"system[{j}]", "system")
        ]
    for i, msg in enumerate(body.get("messages") or []):
        if not isinstance(msg, dict):
            continue
        role = str(msg.get("role", "user"))
        content = msg.get("content")
        if isinstance(content, str):
            segs.append(Segment(f"messages[{i}].content", role, content))
        elif isinstance(content, list):
            for j, block in enumerate(content):
                segs += _anthropic_block(block, f"messages[{i}].content[{j}]", role)
    names = [
        t["name"]
        for t in body.get("tools") or []
        if isinstance(t, dict) and isinstance(t.get("name"), str)
    ]
    return PolicyInput(tuple(segs), _int_or_none(body.get("max_tokens")), tuple(names))


def segments_from_embeddings(body: dict[str, Any]) -> PolicyInput:
    """Segments for an embeddings body (string or list of strings; token arrays skipped)."""
    inp = body.get("input")
    if isinstance(inp, str):
        return PolicyInput((Segment("input", "user", inp),))
    segs = tuple(
        Segment(f"input[{i}]", "user", x) for i, x in enumerate(inp or []) if isinstance(x, str)
    )
    return PolicyInput(segs)


def _parse_path(path: str) -> list[str | int]:
    keys: list[str | int] = []
    for m in _PATH_TOKEN.finditer(path):
        keys.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
    return keys


def apply_redacted(body: dict[str, Any], redacted: PolicyInput) -> dict[str, Any]:
    """Deep-copy body and write each segment's text back at its path."""
    out = copy.deepcopy(body)
    for seg in redacted.segments:
        keys = _parse_path(seg.path)
        node: Any = out
        for key in keys[:-1]:
            node = node[key]
        last = keys[-1]
        if isinstance(node[last], str):
            node[last] = seg.text
        else:  # Anthropic tool_use input was scanned as compact JSON: parse it back.
            try:
                node[last] = json.loads(seg.text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"redacted JSON at {seg.path} is no longer valid") from exc
    return out
