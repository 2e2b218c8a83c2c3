"""The built-in mock provider: deterministic echo replies, no network, no key.

It lets `make run` answer without internet and serves demos and benchmarks. Options (set on
the provider credential): `latency_ms` before the answer, `chunk_count` and `chunk_delay_ms`
for streams, `embedding_dimensions`.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator
from typing import Any, ClassVar

from proxy.providers.base import JSON, ChunkStream, Provider
from proxy.tokens import estimate_input, estimate_messages


def _last_user_text(messages: Any) -> str:
    for message in reversed(messages if isinstance(messages, list) else []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return " ".join(
                    str(p.get("text", "")) for p in content if isinstance(p, dict)
                ).strip()
    return ""


class MockProvider(Provider):
    kind: ClassVar[str] = "mock"

    def _option(self, name: str, default: float) -> float:
        try:
            return float(self.deployment.options.get(name, default))
        except (TypeError, ValueError):
            return default

    def _reply(self, body: JSON) -> tuple[str, str]:
        words = f"echo: {_last_user_text(body.get('messages'))}".split()
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        if isinstance(limit, int) and 0 < limit < len(words):
            return " ".join(words[:limit]), "length"
        return " ".join(words), "stop"

    def _usage(self, body: JSON, text: str) -> JSON:
        prompt = estimate_messages(body.get("messages"))
        completion = len(text.split())
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }

    def _envelope(self, kind: str) -> JSON:
        return {
            "id": f"chatcmpl-mock{time.time_ns():x}",
            "object": kind,
            "created": int(time.time()),
            "model": self.deployment.upstream_model,
            "system_fingerprint": "mock",
        }

    async def chat(self, body: JSON, headers: dict[str, str]) -> JSON:
        await asyncio.sleep(self._option("latency_ms", 0) / 1000)
        text, finish = self._reply(body)
        message = {"role": "assistant", "content": text, "refusal": None}
        return {
            **self._envelope("chat.completion"),
            "choices": [
                {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
            ],
            "usage": self._usage(body, text),
        }

    async def open_chat_stream(self, body: JSON, headers: dict[str, str]) -> ChunkStream:
        await asyncio.sleep(self._option("latency_ms", 0) / 1000)
        return ChunkStream(self._chunks(body))

    async def _chunks(self, body: JSON) -> AsyncIterator[JSON]:
        text, finish = self._reply(body)
        envelope = self._envelope("chat.completion.chunk")
        count = max(1, int(self._option("chunk_count", 4)))
        delay = self._option("chunk_delay_ms", 0) / 1000
        words = text.split(" ")
        step = max(1, -(-len(words) // count))

        def chunk(delta: JSON, finish_reason: str | None = None) -> JSON:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            return {**envelope, "choices": [choice]}

        yield chunk({"role": "assistant", "content": ""})
        for i in range(0, len(words), step):
            if delay:
                await asyncio.sleep(delay)
            piece = " ".join(words[i : i + step])
            yield chunk({"content": piece if i == 0 else " " + piece})
        yield chunk({}, finish)
        yield {**envelope, "choices": [], "usage": self._usage(body, text)}

    async def embeddings(self, body: JSON, headers: dict[str, str]) -> JSON:
        raw = body.get("input")
        inputs = raw if isinstance(raw, list) else [raw]
        dims = int(body.get("dimensions") or self._option("embedding_dimensions", 8))
        data = [
            {"object": "embedding", "index": i, "embedding": _vector(str(item), dims)}
            for i, item in enumerate(inputs)
        ]
        tokens = estimate_input(raw)
        return {
            "object": "list",
            "data": data,
            "model": self.deployment.upstream_model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }


def _vector(text: str, dims: int) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [round((digest[i % len(digest)] - 127.5) / 127.5, 6) for i in range(dims)]
