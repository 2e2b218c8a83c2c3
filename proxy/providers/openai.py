"""OpenAI and OpenAI-compatible servers (vLLM, Ollama, llama.cpp, TGI): the native format."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, ClassVar

import orjson

from proxy.formats import UpstreamStreamError
from proxy.providers.base import JSON, ChunkStream, Provider, ProviderError


class OpenAIProvider(Provider):
    kind: ClassVar[str] = "openai"
    key_required: ClassVar[bool] = True

    def _url(self, operation: str) -> str:
        return f"{self.deployment.base_url.rstrip('/')}/{operation}"

    def _headers(self, forwarded: dict[str, str]) -> dict[str, str]:
        headers = {k: v for k, v in forwarded.items() if k == "openai-beta"}
        secret = self.deployment.secret
        if secret:
            headers["authorization"] = f"Bearer {secret}"
        elif self.key_required:
            raise ProviderError(f"{self.name} has no API key configured", kind="refused")
        organization = self.deployment.options.get("organization")
        if organization:
            headers["openai-organization"] = str(organization)
        return headers

    def _body(self, body: JSON) -> JSON:
        return {**body, "model": self.deployment.upstream_model}

    async def chat(self, body: JSON, headers: dict[str, str]) -> JSON:
        payload = self._body(body)
        payload.pop("stream", None)
        payload.pop("stream_options", None)
        return await self.post_json(self._url("chat/completions"), payload, self._headers(headers))

    async def open_chat_stream(self, body: JSON, headers: dict[str, str]) -> ChunkStream:
        payload = self._body(body)
        payload["stream"] = True
        if self.deployment.options.get("stream_usage", True):
            # Always ask for usage so spend is known; the relay hides it if the client did not.
            payload["stream_options"] = {
                **(body.get("stream_options") or {}),
                "include_usage": True,
            }
        response, events = await self.open_sse(
            self._url("chat/completions"), payload, self._headers(headers)
        )
        return ChunkStream(_openai_chunks(events, self.name), response)

    async def embeddings(self, body: JSON, headers: dict[str, str]) -> JSON:
        return await self.post_json(
            self._url("embeddings"), self._body(body), self._headers(headers)
        )


class OpenAICompatibleProvider(OpenAIProvider):
    """Local servers: same wire format, the key is optional."""

    kind: ClassVar[str] = "openai_compatible"
    key_required: ClassVar[bool] = False


async def _openai_chunks(
    events: AsyncIterator[tuple[str | None, str]], provider: str
) -> AsyncIterator[JSON]:
    async for _, data in events:
        if data.strip() == "[DONE]":
            return
        try:
            chunk: Any = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise UpstreamStreamError(f"{provider} sent an invalid chunk", "api_error") from None
        if not isinstance(chunk, dict):
            continue
        if "error" in chunk:
            error = chunk.get("error") or {}
            kind = str(error.get("type", "api_error")) if isinstance(error, dict) else "api_error"
            raise UpstreamStreamError(f"{provider} reported an error mid-stream", kind)
        yield chunk
