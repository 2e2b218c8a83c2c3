"""The provider interface: OpenAI chat format in and out, with HTTP plumbing shared by all.

Every provider speaks the OpenAI Chat Completions format to the pipeline. Anthropic-native
requests (/v1/messages) go through `messages()`, which the Anthropic provider serves natively
and every other provider serves by translation (proxy/formats). Errors are ProviderError with
`retryable` driving retries and fallbacks (cf. healthchecks' Transport errors).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx
import orjson
from django.conf import settings

from proxy import http
from proxy.formats import UpstreamStreamError
from proxy.formats.anthropic_response import openai_chat_response_to_anthropic
from proxy.formats.anthropic_stream import OpenAIToAnthropicStream
from proxy.formats.openai_request import anthropic_messages_to_openai_chat
from proxy.routing import DeploymentInfo
from proxy.sse import SSEDecoder

JSON = dict[str, Any]
_RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529}
# Upstream statuses that mean "this deployment is misconfigured": try the next one.
_FALLBACK_STATUS = {401, 403, 404}


class ProviderError(Exception):
    """An upstream failure. Never carries the upstream body: it can echo keys."""

    def __init__(
        self,
        message: str,
        *,
        kind: str,
        status: int | None = None,
        retryable: bool = False,
        fallback: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind  # "timeout" | "connection" | "status" | "protocol" | "refused"
        self.status = status
        self.retryable = retryable
        self.fallback = fallback or retryable
        self.retry_after = retry_after


def _retry_after(response: httpx.Response) -> float | None:
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = response.headers.get(name)
        if value:
            try:
                return max(0.0, float(value) * scale)
            except ValueError:
                return None
    return None


def status_error(response: httpx.Response, provider: str) -> ProviderError:
    """Turn a non-2xx upstream response into a ProviderError (body deliberately dropped)."""
    status = response.status_code
    return ProviderError(
        f"{provider} returned HTTP {status}",
        kind="status",
        status=status,
        retryable=status in _RETRYABLE_STATUS,
        fallback=status in _FALLBACK_STATUS,
        retry_after=_retry_after(response),
    )


@dataclass
class ChunkStream:
    """An open upstream stream: iterate for chunks (dicts), always aclose()."""

    chunks: AsyncIterator[Any]
    response: httpx.Response | None = None

    def __aiter__(self) -> AsyncIterator[Any]:
        return self.chunks

    async def aclose(self) -> None:
        aclose = getattr(self.chunks, "aclose", None)
        if aclose is not None:
            await aclose()
        if self.response is not None:
            await self.response.aclose()


class Provider:
    """Base class; subclasses set `kind` and implement the OpenAI-format operations."""

    kind: ClassVar[str] = ""

    def __init__(self, deployment: DeploymentInfo, client: httpx.AsyncClient) -> None:
        self.deployment = deployment
        self.client = client

    @property
    def name(self) -> str:
        return self.deployment.provider_name

    # --- operations -------------------------------------------------------------------------
    async def chat(self, body: JSON, headers: dict[str, str]) -> JSON:
        raise ProviderError(f"{self.kind} does not support chat", kind="unsupported")

    async def open_chat_stream(self, body: JSON, headers: dict[str, str]) -> ChunkStream:
        raise ProviderError(f"{self.kind} does not support streaming", kind="unsupported")

    async def embeddings(self, body: JSON, headers: dict[str, str]) -> JSON:
        raise ProviderError(
            f"The model's provider ({self.kind}) does not support embeddings.", kind="unsupported"
        )

    async def messages(self, body: JSON, headers: dict[str, str]) -> JSON:
        """Anthropic Messages request -> Anthropic response, by translation through chat."""
        chat_body = anthropic_messages_to_openai_chat(body)
        response = await self.chat(chat_body, headers)
        return openai_chat_response_to_anthropic(response, model=body.get("model", ""))

    async def open_messages_stream(self, body: JSON, headers: dict[str, str]) -> ChunkStream:
        """Anthropic streaming events (event, data) translated from an OpenAI chunk stream."""
        chat_body = anthropic_messages_to_openai_chat(body)
        upstream = await self.open_chat_stream(chat_body, headers)
        converter = OpenAIToAnthropicStream(
            model=body.get("model", ""), message_id="msg_" + str(id(upstream))
        )

        async def events() -> AsyncIterator[tuple[str, JSON]]:
            async for chunk in upstream:
                for event in converter.feed(chunk):
                    yield event
            for event in converter.finish():
                yield event

        return ChunkStream(_closing(events(), upstream))

    # --- HTTP plumbing ----------------------------------------------------------------------
    def _timeouts(self) -> httpx.Timeout:
        d = self.deployment
        return http.timeouts(d.connect_timeout_s, d.first_byte_timeout_s)

    async def _send(self, url: str, payload: JSON, headers: dict[str, str]) -> httpx.Response:
        """POST and return the streaming response after a 2xx status, else ProviderError."""
        try:
            http.check_url(url)
            request = self.client.build_request(
                "POST",
                url,
                content=orjson.dumps(payload),
                headers={"content-type": "application/json", **headers},
                timeout=self._timeouts(),
            )
            response = await self.client.send(request, stream=True)
        except http.UpstreamAddressRefused as exc:
            raise ProviderError(str(exc), kind="refused") from None
        except httpx.TimeoutException:
            raise ProviderError(f"{self.name} timed out", kind="timeout", retryable=True) from None
        except httpx.HTTPError as exc:
            if isinstance(exc.__cause__, http.UpstreamAddressRefused):
                raise ProviderError(str(exc.__cause__), kind="refused") from None
            raise ProviderError(
                f"cannot reach {self.name}", kind="connection", retryable=True
            ) from None
        if response.status_code >= 300:
            await response.aclose()
            raise status_error(response, self.name)
        return response

    async def post_json(self, url: str, payload: JSON, headers: dict[str, str]) -> JSON:
        """POST a JSON body and return the decoded JSON answer, within the total timeout."""
        try:
            async with asyncio.timeout(self.deployment.total_timeout_s):
                response = await self._send(url, payload, headers)
                try:
                    raw = await http.read_capped(
                        response, settings.GATEWAY_UPSTREAM_MAX_RESPONSE_BYTES
                    )
                finally:
                    await response.aclose()
        except TimeoutError:
            raise ProviderError(f"{self.name} timed out", kind="timeout", retryable=True) from None
        except http.ResponseTooLarge as exc:
            raise ProviderError(str(exc), kind="protocol") from None
        except httpx.HTTPError:
            raise ProviderError(
                f"{self.name} broke the connection", kind="connection", retryable=True
            ) from None
        try:
            parsed = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise ProviderError(f"{self.name} sent invalid JSON", kind="protocol") from None
        if not isinstance(parsed, dict):
            raise ProviderError(f"{self.name} sent an unexpected body", kind="protocol")
        return parsed

    async def open_sse(
        self, url: str, payload: JSON, headers: dict[str, str]
    ) -> tuple[httpx.Response, AsyncIterator[tuple[str | None, str]]]:
        """POST and return (response, iterator of (event, data)) once the upstream said 2xx."""
        response = await self._send(url, payload, headers)
        return response, self._sse_events(response)

    async def _sse_events(self, response: httpx.Response) -> AsyncIterator[tuple[str | None, str]]:
        decoder = SSEDecoder()
        idle = self.deployment.stream_idle_timeout_s
        deadline = time.monotonic() + self.deployment.total_timeout_s
        # Decoded bytes: the client advertises gzip/deflate, and an upstream (or a proxy in
        # front of it) may well compress its event stream.
        chunks = response.aiter_bytes()
        while True:
            try:
                remaining = min(idle, deadline - time.monotonic())
                async with asyncio.timeout(max(remaining, 0.001)):
                    raw = await anext(chunks)
            except StopAsyncIteration:
                return
            except TimeoutError:
                raise UpstreamStreamError(f"{self.name} stream stalled", "timeout_error") from None
            except httpx.HTTPError:
                raise UpstreamStreamError(
                    f"{self.name} stream was cut", "api_connection_error"
                ) from None
            for event in decoder.feed(raw):
                yield event.event, event.data


async def _closing(inner: AsyncIterator[Any], upstream: ChunkStream) -> AsyncIterator[Any]:
    try:
        async for item in inner:
            yield item
    finally:
        await upstream.aclose()
