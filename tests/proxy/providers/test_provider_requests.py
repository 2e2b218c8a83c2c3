"""Provider request building and upstream error mapping, on httpx.MockTransport (no network)."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import httpx
import orjson
import pytest

from proxy.formats import UpstreamStreamError
from proxy.providers import PROVIDERS, Provider, ProviderError
from proxy.routing import DeploymentInfo

SECRET = "sk-provider-secret"
COMPLETION = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "upstream",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "hi"},
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
}
MESSAGE = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-up",
    "content": [{"type": "text", "text": "hi"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 3, "output_tokens": 1},
}
CHAT_BODY = {"model": "client-name", "messages": [{"role": "user", "content": "hi"}]}
MESSAGES_BODY = {"model": "client-name", "max_tokens": 20, "messages": CHAT_BODY["messages"]}


def deployment(kind: str, **overrides: Any) -> DeploymentInfo:
    values: dict[str, Any] = {
        "id": 1,
        "provider_id": 1,
        "provider_name": f"{kind}-test",
        "kind": kind,
        "base_url": "https://api.upstream.test/v1",
        "secret": SECRET,
        "options": {},
        "upstream_model": "upstream",
        "priority": 0,
        "weight": 1,
        "connect_timeout_s": 1.0,
        "first_byte_timeout_s": 1.0,
        "stream_idle_timeout_s": 1.0,
        "total_timeout_s": 5.0,
    }
    values.update(overrides)
    return DeploymentInfo(**values)


class Upstream:
    """A MockTransport that records requests and answers with `respond`."""

    def __init__(self, respond: Callable[[httpx.Request], httpx.Response]) -> None:
        self.requests: list[httpx.Request] = []
        self._respond = respond

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self._respond(request)

    def provider(self, dep: DeploymentInfo) -> Provider:
        client = httpx.AsyncClient(transport=httpx.MockTransport(self))
        return PROVIDERS[dep.kind](dep, client)

    @property
    def last_json(self) -> Any:
        return orjson.loads(self.requests[-1].content)


def answer(payload: Any, status: int = 200, **headers: str) -> Callable[..., httpx.Response]:
    return lambda request: httpx.Response(status, json=payload, headers=headers)


def sse(*events: str, headers: dict[str, str] | None = None) -> Callable[..., httpx.Response]:
    body = "".join(f"{e}\n\n" for e in events).encode()
    return lambda request: httpx.Response(
        200, content=body, headers={"content-type": "text/event-stream", **(headers or {})}
    )


def chunk(content: str) -> str:
    delta = {"choices": [{"index": 0, "delta": {"content": content}, "finish_reason": None}]}
    return "data: " + orjson.dumps(delta).decode()


# ---------------------------------------------------------------------------- OpenAI


async def test_openai_chat_posts_to_base_url_with_bearer_secret_and_upstream_model():
    upstream = Upstream(answer(COMPLETION))
    provider = upstream.provider(deployment("openai", options={"organization": "org-1"}))
    forwarded = {"openai-beta": "assistants=v2", "anthropic-beta": "x"}
    result = await provider.chat({**CHAT_BODY, "stream": False, "seed": 3}, forwarded)
    request = upstream.requests[0]
    assert result == COMPLETION
    assert str(request.url) == "https://api.upstream.test/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {SECRET}"
    assert request.headers["openai-organization"] == "org-1"
    assert request.headers["openai-beta"] == "assistants=v2"
    assert "anthropic-beta" not in request.headers
    assert upstream.last_json == {**CHAT_BODY, "model": "upstream", "seed": 3}


async def test_openai_stream_always_asks_for_usage_and_keeps_other_stream_options():
    upstream = Upstream(sse(chunk("a"), chunk("b"), "data: [DONE]"))
    provider = upstream.provider(deployment("openai"))
    body = {**CHAT_BODY, "stream": True, "stream_options": {"include_obfuscation": False}}
    stream = await provider.open_chat_stream(body, {})
    chunks = [c async for c in stream]
    await stream.aclose()
    assert [c["choices"][0]["delta"]["content"] for c in chunks] == ["a", "b"]
    assert upstream.last_json["stream"] is True
    assert upstream.last_json["stream_options"] == {
        "include_obfuscation": False,
        "include_usage": True,
    }


async def test_openai_stream_usage_can_be_turned_off_for_servers_without_it():
    upstream = Upstream(sse("data: [DONE]"))
    provider = upstream.provider(deployment("openai_compatible", options={"stream_usage": False}))
    stream = await provider.open_chat_stream({**CHAT_BODY, "stream": True}, {})
    assert [c async for c in stream] == []
    assert "stream_options" not in upstream.last_json


async def test_openai_embeddings_url_and_model():
    upstream = Upstream(answer({"object": "list", "data": [], "model": "upstream"}))
    provider = upstream.provider(deployment("openai"))
    await provider.embeddings({"model": "client-name", "input": "x"}, {})
    assert upstream.requests[0].url.path == "/v1/embeddings"
    assert upstream.last_json == {"model": "upstream", "input": "x"}


async def test_openai_compatible_without_a_key_sends_no_authorization():
    upstream = Upstream(answer(COMPLETION))
    provider = upstream.provider(
        deployment("openai_compatible", secret="", base_url="http://127.0.0.1:8080/v1")
    )
    await provider.chat(CHAT_BODY, {})
    assert "authorization" not in upstream.requests[0].headers
    assert str(upstream.requests[0].url) == "http://127.0.0.1:8080/v1/chat/completions"


@pytest.mark.parametrize("kind", ["openai", "azure_openai", "anthropic"])
async def test_kinds_that_need_a_key_refuse_to_call_without_one(kind):
    upstream = Upstream(answer(COMPLETION))
    provider = upstream.provider(deployment(kind, secret=""))
    with pytest.raises(ProviderError) as caught:
        await provider.chat(CHAT_BODY, {})
    assert caught.value.kind == "refused"
    assert upstream.requests == []


# ---------------------------------------------------------------------------- Azure


async def test_azure_uses_the_deployment_url_api_version_and_api_key_header():
    upstream = Upstream(answer(COMPLETION))
    dep = deployment("azure_openai", base_url="https://res.openai.azure.test/")
    provider = upstream.provider(dep)
    await provider.chat(CHAT_BODY, {"openai-beta": "x"})
    request = upstream.requests[0]
    assert request.url.path == "/openai/deployments/upstream/chat/completions"
    assert request.url.params["api-version"] == "2024-10-21"
    assert request.headers["api-key"] == SECRET
    assert "authorization" not in request.headers
    assert "openai-beta" not in request.headers
    assert "model" not in upstream.last_json


async def test_azure_api_version_option_and_embeddings_url():
    upstream = Upstream(answer({"object": "list", "data": []}))
    dep = deployment(
        "azure_openai", base_url="https://res.test", options={"api_version": "2025-01-01"}
    )
    await upstream.provider(dep).embeddings({"model": "m", "input": "x"}, {})
    url = upstream.requests[0].url
    assert (url.path, url.params["api-version"]) == (
        "/openai/deployments/upstream/embeddings",
        "2025-01-01",
    )


# ---------------------------------------------------------------------------- Anthropic


@pytest.mark.parametrize(
    "base_url", ["https://api.anthropic.test", "https://api.anthropic.test/v1/"]
)
async def test_anthropic_native_messages_url_headers_and_model(base_url):
    upstream = Upstream(answer(MESSAGE))
    provider = upstream.provider(deployment("anthropic", base_url=base_url))
    forwarded = {"anthropic-beta": "b1", "openai-beta": "o1"}
    result = await provider.messages({**MESSAGES_BODY, "stream": False}, forwarded)
    request = upstream.requests[0]
    assert result == MESSAGE
    assert str(request.url) == "https://api.anthropic.test/v1/messages"
    assert request.headers["x-api-key"] == SECRET
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert request.headers["anthropic-beta"] == "b1"
    assert "openai-beta" not in request.headers
    assert "authorization" not in request.headers
    assert upstream.last_json == {**MESSAGES_BODY, "model": "upstream"}


async def test_anthropic_forwards_the_clients_anthropic_version():
    upstream = Upstream(answer(MESSAGE))
    provider = upstream.provider(deployment("anthropic"))
    await provider.messages(MESSAGES_BODY, {"anthropic-version": "2099-01-01"})
    assert upstream.requests[0].headers["anthropic-version"] == "2099-01-01"


async def test_anthropic_translates_chat_with_default_max_tokens():
    upstream = Upstream(answer(MESSAGE))
    dep = deployment("anthropic", options={"default_max_tokens": 512})
    result = await upstream.provider(dep).chat(CHAT_BODY, {})
    assert upstream.last_json["model"] == "upstream"
    assert upstream.last_json["max_tokens"] == 512
    assert "stream" not in upstream.last_json
    assert result["choices"][0]["message"]["content"] == "hi"
    assert result["model"] == "client-name"


async def test_anthropic_mid_stream_error_event_raises():
    events = [
        'event: message_start\ndata: {"type":"message_start","message":{"id":"m","type":"message",'
        '"role":"assistant","model":"x","content":[],"usage":{"input_tokens":1,"output_tokens":1}}}',
        'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"x"}}',
    ]
    upstream = Upstream(sse(*events))
    stream = await upstream.provider(deployment("anthropic")).open_messages_stream(
        MESSAGES_BODY, {}
    )
    with pytest.raises(UpstreamStreamError) as caught:
        _ = [e async for e in stream]
    assert caught.value.error_type == "overloaded_error"


# ---------------------------------------------------------------------------- upstream errors


@pytest.mark.parametrize(
    ("status", "retryable", "fallback"),
    [(429, True, True), (500, True, True), (503, True, True), (529, True, True),
     (401, False, True), (404, False, True), (400, False, False), (422, False, False)],
)  # fmt: skip
async def test_status_errors_classify_and_drop_the_upstream_body(status, retryable, fallback):
    leaky = {"error": {"message": "bad key sk-leaked-canary"}}
    upstream = Upstream(answer(leaky, status, **{"retry-after": "2"}))
    with pytest.raises(ProviderError) as caught:
        await upstream.provider(deployment("openai")).chat(CHAT_BODY, {})
    error = caught.value
    assert (error.kind, error.status) == ("status", status)
    assert (error.retryable, error.fallback) == (retryable, fallback)
    assert error.retry_after == 2.0
    assert "canary" not in str(error)


async def test_retry_after_ms_wins_over_retry_after():
    upstream = Upstream(answer({}, 429, **{"retry-after-ms": "150", "retry-after": "9"}))
    with pytest.raises(ProviderError) as caught:
        await upstream.provider(deployment("openai")).chat(CHAT_BODY, {})
    assert caught.value.retry_after == pytest.approx(0.15)


async def test_redirects_are_not_followed():
    upstream = Upstream(answer({}, 307, location="http://169.254.169.254/latest/meta-data"))
    with pytest.raises(ProviderError) as caught:
        await upstream.provider(deployment("openai")).chat(CHAT_BODY, {})
    assert caught.value.status == 307
    assert len(upstream.requests) == 1


@pytest.mark.parametrize(
    ("exc", "kind"),
    [(httpx.ReadTimeout("slow"), "timeout"), (httpx.ConnectError("refused"), "connection")],
)
async def test_transport_failures_are_retryable(exc, kind):
    def fail(request: httpx.Request) -> httpx.Response:
        raise exc

    with pytest.raises(ProviderError) as caught:
        await Upstream(fail).provider(deployment("openai")).chat(CHAT_BODY, {})
    assert (caught.value.kind, caught.value.retryable) == (kind, True)


@pytest.mark.parametrize(
    "base_url",
    ["http://169.254.169.254/v1", "http://[::ffff:169.254.169.254]/v1", "http://10.0.0.8/v1"],
)
async def test_refused_literal_addresses_are_never_contacted(base_url):
    upstream = Upstream(answer(COMPLETION))
    with pytest.raises(ProviderError) as caught:
        await upstream.provider(deployment("openai", base_url=base_url)).chat(CHAT_BODY, {})
    assert caught.value.kind == "refused"
    assert upstream.requests == []


async def test_invalid_json_answer_is_a_protocol_error():
    upstream = Upstream(lambda request: httpx.Response(200, content=b"<html>oops"))
    with pytest.raises(ProviderError) as caught:
        await upstream.provider(deployment("openai")).chat(CHAT_BODY, {})
    assert caught.value.kind == "protocol"


async def test_response_over_the_cap_is_refused(settings):
    settings.GATEWAY_UPSTREAM_MAX_RESPONSE_BYTES = 100
    upstream = Upstream(answer({**COMPLETION, "padding": "x" * 200}))
    with pytest.raises(ProviderError) as caught:
        await upstream.provider(deployment("openai")).chat(CHAT_BODY, {})
    assert caught.value.kind == "protocol"


class Chunks(httpx.AsyncByteStream):
    """A response body arriving in pieces, as from a real socket."""

    def __init__(self, *parts: bytes, stall_s: float = 0.0) -> None:
        self.parts = parts
        self.stall_s = stall_s

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            yield part
        await asyncio.sleep(self.stall_s)


def streamed(body: Chunks, **headers: str) -> Callable[..., httpx.Response]:
    headers = {"content-type": "text/event-stream", **headers}
    return lambda request: httpx.Response(200, stream=body, headers=headers)


async def test_compressed_event_stream_is_decoded():
    body = gzip.compress(f"{chunk('a')}\n\n{chunk('b')}\n\ndata: [DONE]\n\n".encode())
    parts = Chunks(body[:20], body[20:])
    upstream = Upstream(streamed(parts, **{"content-encoding": "gzip"}))
    stream = await upstream.provider(deployment("openai")).open_chat_stream(CHAT_BODY, {})
    assert [c["choices"][0]["delta"]["content"] async for c in stream] == ["a", "b"]


async def test_stalled_stream_raises_after_the_idle_timeout():
    upstream = Upstream(streamed(Chunks((chunk("a") + "\n\n").encode(), stall_s=5)))
    dep = deployment("openai", stream_idle_timeout_s=0.05)
    stream = await upstream.provider(dep).open_chat_stream(CHAT_BODY, {})
    received = []
    with pytest.raises(UpstreamStreamError) as caught:
        async for c in stream:
            received.append(c)
    await stream.aclose()
    assert len(received) == 1
    assert caught.value.error_type == "timeout_error"


# ---------------------------------------------------------------------------- mock


async def test_mock_provider_echoes_without_any_request():
    upstream = Upstream(answer({}))
    provider = upstream.provider(deployment("mock", base_url="", secret=""))
    result = await provider.chat(CHAT_BODY, {})
    stream = await provider.open_chat_stream(CHAT_BODY, {})
    chunks = [c async for c in stream]
    embeddings = await provider.embeddings({"model": "m", "input": ["a", "b"]}, {})
    assert result["choices"][0]["message"]["content"] == "echo: hi"
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "echo: hi"
    assert chunks[-1]["usage"]["completion_tokens"] == 2
    assert [len(d["embedding"]) for d in embeddings["data"]] == [8, 8]
    assert upstream.requests == []


async def test_messages_are_translated_for_openai_format_providers():
    upstream = Upstream(answer(COMPLETION))
    result = await upstream.provider(deployment("openai")).messages(MESSAGES_BODY, {})
    assert upstream.last_json["model"] == "upstream"
    assert upstream.last_json["max_completion_tokens"] == 20
    assert result["type"] == "message"
    assert result["content"] == [{"type": "text", "text": "hi"}]
    assert result["model"] == "client-name"


def test_every_kind_has_a_provider():
    assert set(PROVIDERS) == {"openai", "openai_compatible", "azure_openai", "anthropic", "mock"}
    assert replace(deployment("mock"), secret="x").secret == "x"
    assert "sk-provider-secret" not in repr(deployment("openai"))
