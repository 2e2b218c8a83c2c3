"""Anthropic Messages API: native for /v1/messages, translated for /v1/chat/completions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, ClassVar

import orjson

from proxy.formats import TranslationError, UpstreamStreamError
from proxy.formats.anthropic_request import openai_chat_to_anthropic
from proxy.formats.anthropic_response import anthropic_to_openai_chat_response
from proxy.formats.anthropic_stream import AnthropicToOpenAIStream
from proxy.providers.base import JSON, ChunkStream, Provider, ProviderError

DEFAULT_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096


class AnthropicProvider(Provider):
    kind: ClassVar[str] = "anthropic"

    def _url(self) -> str:
        base = self.deployment.base_url.rstrip("/")
        return f"{base}/messages" if base.endswith("/v1") else f"{base}/v1/messages"

    def _headers(self, forwarded: dict[str, str]) -> dict[str, str]:
        if not self.deployment.secret:
            raise ProviderError(f"{self.name} has no API key configured", kind="refused")
        headers = {
            "x-api-key": self.deployment.secret,
            "anthropic-version": forwarded.get("anthropic-version", DEFAULT_VERSION),
        }
        if "anthropic-beta" in forwarded:
            headers["anthropic-beta"] = forwarded["anthropic-beta"]
        return headers

    def _to_anthropic(self, body: JSON) -> JSON:
        options = self.deployment.options
        try:
            return openai_chat_to_anthropic(
                body,
                upstream_model=self.deployment.upstream_model,
                default_max_tokens=int(options.get("default_max_tokens", DEFAULT_MAX_TOKENS)),
                clamp_temperature=bool(options.get("clamp_temperature", False)),
                sampling_params=bool(options.get("sampling_params", True)),
            )
        except TranslationError:
            raise
        except (TypeError, ValueError) as exc:
            raise TranslationError(str(exc)) from None

    async def chat(self, body: JSON, headers: dict[str, str]) -> JSON:
        payload = self._to_anthropic({**body, "stream": False})
        payload.pop("stream", None)
        response = await self.post_json(self._url(), payload, self._headers(headers))
        return anthropic_to_openai_chat_response(response, model=str(body.get("model", "")))

    async def open_chat_stream(self, body: JSON, headers: dict[str, str]) -> ChunkStream:
        payload = self._to_anthropic({**body, "stream": True})
        response, events = await self.open_sse(self._url(), payload, self._headers(headers))
        converter = AnthropicToOpenAIStream(model=str(body.get("model", "")), include_usage=True)

        async def chunks() -> AsyncIterator[JSON]:
            async for event, data in _anthropic_events(events, self.name):
                for chunk in converter.feed(event, data):
                    yield chunk

        return ChunkStream(chunks(), response)

    async def messages(self, body: JSON, headers: dict[str, str]) -> JSON:
        payload = {**body, "model": self.deployment.upstream_model}
        payload.pop("stream", None)
        return await self.post_json(self._url(), payload, self._headers(headers))

    async def open_messages_stream(self, body: JSON, headers: dict[str, str]) -> ChunkStream:
        payload = {**body, "model": self.deployment.upstream_model, "stream": True}
        response, events = await self.open_sse(self._url(), payload, self._headers(headers))
        return ChunkStream(_anthropic_events(events, self.name), response)


async def _anthropic_events(
    events: AsyncIterator[tuple[str | None, str]], provider: str
) -> AsyncIterator[tuple[str, JSON]]:
    async for event, data in events:
        try:
            parsed: Any = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise UpstreamStreamError(f"{provider} sent an invalid event", "api_error") from None
        if not isinstance(parsed, dict):
            continue
        name = event or str(parsed.get("type", ""))
        if name == "error":
            error = parsed.get("error") or {}
            raise UpstreamStreamError(
                f"{provider} reported an error mid-stream", str(error.get("type", "api_error"))
            )
        yield name, parsed
        if name == "message_stop":
            return
