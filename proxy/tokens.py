"""Token estimates before a call (no tokenizer downloads offline): conservative, by characters."""

from __future__ import annotations

from typing import Any

# ~4 characters per token for English with BPE tokenizers; other scripts use fewer characters
# per token, so budgets reserve on the high side via the per-message overhead below.
_CHARS_PER_TOKEN = 4
_PER_MESSAGE = 4


def estimate_text(text: str) -> int:
    """Tokens in a piece of text, rounded up."""
    return (len(text) + _CHARS_PER_TOKEN - 1) // _CHARS_PER_TOKEN


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict):
                parts.append(str(part.get("text") or part.get("content") or ""))
                if part.get("type") in ("image_url", "image"):
                    parts.append("x" * 3000)  # images cost ~765-1600 tokens; reserve generously
        return "".join(parts)
    return ""


def estimate_messages(messages: Any, system: Any = None) -> int:
    """Prompt tokens of an OpenAI or Anthropic message list (plus an optional system prompt)."""
    total = estimate_text(_content_text(system)) if system else 0
    for message in messages if isinstance(messages, list) else []:
        if not isinstance(message, dict):
            continue
        total += _PER_MESSAGE + estimate_text(_content_text(message.get("content")))
        for call in message.get("tool_calls") or []:
            if isinstance(call, dict):
                function = call.get("function") or {}
                total += estimate_text(str(function.get("arguments", "")))
    return total


def estimate_input(value: Any) -> int:
    """Tokens of an embeddings `input` (string, list of strings, or token arrays)."""
    if isinstance(value, str):
        return estimate_text(value)
    if isinstance(value, list):
        return sum(len(v) if isinstance(v, list) else estimate_input(v) for v in value)
    return 0
