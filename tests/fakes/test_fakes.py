"""The fake providers speak the real protocols: the official SDKs are their clients here."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from .core import Fault, split_chunks
from .openai_fake import embedding_vector
from .providers import FakeProvider, fake_provider

OPENAI_KEY = "sk-fake-test-openai"
ANTHROPIC_KEY = "sk-ant-fake-test"
AZURE_KEY = "azure-fake-test"
AZURE_VERSION = "2024-10-21"
CLAUDE = "claude-haiku-4-5"
WEATHER_TOOL_OPENAI = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
WEATHER_TOOL_ANTHROPIC = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}


@pytest.fixture
def fake() -> Iterator[FakeProvider]:
    """A fresh fake server per test."""
    yield from fake_provider(api_key=OPENAI_KEY, anthropic_key=ANTHROPIC_KEY, azure_key=AZURE_KEY)


def oai(fake: FakeProvider, **kwargs: object) -> openai.OpenAI:
    """An OpenAI SDK client pointed at the fake, without retries."""
    return openai.OpenAI(
        base_url=fake.openai_base, api_key=OPENAI_KEY, **{"max_retries": 0, **kwargs}
    )


def azure(fake: FakeProvider, **kwargs: object) -> openai.AzureOpenAI:
    """An Azure OpenAI SDK client pointed at the fake, without retries."""
    return openai.AzureOpenAI(
        azure_endpoint=fake.azure_base,
        api_version=AZURE_VERSION,
        api_key=AZURE_KEY,
        **{"max_retries": 0, **kwargs},
    )


def claude(fake: FakeProvider, **kwargs: object) -> anthropic.Anthropic:
    """An Anthropic SDK client pointed at the fake, without retries."""
    return anthropic.Anthropic(
        base_url=fake.anthropic_base, api_key=ANTHROPIC_KEY, **{"max_retries": 0, **kwargs}
    )


def user(text: str) -> list[dict[str, str]]:
    """A one-message conversation."""
    return [{"role": "user", "content": text}]


# ---------------------------------------------------------------------------- server basics


def test_urls_and_lifecycle() -> None:
    fake = FakeProvider().start()
    try:
        assert fake.url.startswith("http://127.0.0.1:")
        assert fake.port > 0
        assert fake.openai_base == f"{fake.url}/v1"
        assert fake.anthropic_base == fake.azure_base == fake.url
        response = httpx.get(f"{fake.openai_base}/models", headers={"Authorization": "Bearer x"})
        assert response.status_code == 401
    finally:
        fake.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{fake.url}/v1/models")
    # A stopped fake comes back on the same port (an outage and recovery), keeping its records.
    port = fake.port
    with fake:
        assert fake.port == port
        assert httpx.get(f"{fake.url}/v1/models").status_code == 401
        assert len(fake.requests) == 2


def test_two_fakes_are_independent() -> None:
    with FakeProvider() as one, FakeProvider() as two:
        assert one.port != two.port
        httpx.get(f"{one.url}/v1/models")
        assert len(one.requests) == 1
        assert two.requests == []


def test_split_chunks_keeps_text() -> None:
    assert split_chunks("echo: a b c d", 3) == ["echo: a", " b c", " d"]
    assert "".join(split_chunks("echo:  x  ", 4)) == "echo:  x  "
    assert split_chunks("", 3) == []


# ---------------------------------------------------------------------------- OpenAI


def test_openai_chat_echo_and_usage(fake: FakeProvider) -> None:
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "an answer"},
        {"role": "user", "content": [{"type": "text", "text": "hello there"}]},
    ]
    result = oai(fake).chat.completions.create(model="gpt-4o-mini", messages=messages)
    assert result.object == "chat.completion"
    assert result.model == "gpt-4o-mini"
    assert result.choices[0].message.content == "echo: hello there"
    assert result.choices[0].finish_reason == "stop"
    assert result.usage is not None
    assert result.usage.prompt_tokens == 8 + 1
    assert result.usage.completion_tokens == 3
    assert result.usage.total_tokens == 12
    record = fake.requests[-1]
    assert record.method == "POST"
    assert record.path == "/v1/chat/completions"
    assert record.route == "openai.chat"
    assert record.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert record.json["model"] == "gpt-4o-mini"
    assert json.loads(record.raw) == record.json


def test_openai_stream_chunks_and_usage(fake: FakeProvider) -> None:
    fake.chunks = 4
    stream = oai(fake).chat.completions.create(
        model="gpt-4o",
        messages=user("one two three four five"),
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(c.object == "chat.completion.chunk" and c.model == "gpt-4o" for c in chunks)
    content = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert len(content) == 4
    assert "".join(content) == "echo: one two three four five"
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (6, 6)
    assert all(c.usage is None for c in chunks[:-1])


def test_openai_stream_wire_format(fake: FakeProvider) -> None:
    body = {"model": "gpt-4o", "messages": user("hi"), "stream": True}
    headers = {"Authorization": f"Bearer {OPENAI_KEY}"}
    response = httpx.post(f"{fake.openai_base}/chat/completions", json=body, headers=headers)
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.text.endswith("data: [DONE]\n\n")
    frames = response.text.split("\n\n")[:-1]
    assert all(frame.startswith("data: ") for frame in frames)
    assert "usage" not in json.loads(frames[0][6:])  # only with include_usage


def test_openai_tool_call(fake: FakeProvider) -> None:
    client = oai(fake)
    messages: list[dict[str, object]] = [
        {"role": "user", "content": "What's the weather in Paris?"}
    ]
    result = client.chat.completions.create(
        model="gpt-4o", messages=messages, tools=[WEATHER_TOOL_OPENAI]
    )
    choice = result.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    call = choice.message.tool_calls[0]
    assert call.id == "call_fake_1"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    # Answering with the tool result ends the loop with an echo of the result.
    messages += [
        choice.message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "18C and sunny"},
    ]
    follow_up = client.chat.completions.create(
        model="gpt-4o", messages=messages, tools=[WEATHER_TOOL_OPENAI]
    )
    assert follow_up.choices[0].message.content == "echo: 18C and sunny"
    assert follow_up.choices[0].finish_reason == "stop"


def test_openai_tool_call_streamed_as_argument_deltas(fake: FakeProvider) -> None:
    stream = oai(fake).chat.completions.create(
        model="gpt-4o",
        messages=user("weather please"),
        tools=[WEATHER_TOOL_OPENAI],
        stream=True,
    )
    chunks = list(stream)
    deltas = [c.choices[0].delta.tool_calls for c in chunks if c.choices[0].delta.tool_calls]
    assert deltas[0][0].id == "call_fake_1"
    assert deltas[0][0].function.name == "get_weather"
    arguments = [d[0].function.arguments for d in deltas]
    assert len([a for a in arguments if a]) > 1
    assert json.loads("".join(arguments)) == {"city": "Paris"}
    assert all(d[0].index == 0 for d in deltas)
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_openai_stop_and_max_tokens(fake: FakeProvider) -> None:
    client = oai(fake)
    stopped = client.chat.completions.create(
        model="gpt-4o", messages=user("alpha beta gamma"), stop=["gamma", " beta"]
    )
    assert stopped.choices[0].message.content == "echo: alpha"
    assert stopped.choices[0].finish_reason == "stop"
    cut = client.chat.completions.create(
        model="gpt-4o", messages=user("alpha beta gamma"), max_completion_tokens=2
    )
    assert cut.choices[0].message.content == "echo: alpha"
    assert cut.choices[0].finish_reason == "length"


def test_openai_embeddings(fake: FakeProvider) -> None:
    client = oai(fake)
    # The SDK asks for base64 unless told otherwise and decodes it itself.
    default = client.embeddings.create(model="text-embedding-3-small", input=["a b", "c"])
    assert fake.requests[-1].json["encoding_format"] == "base64"
    assert [d.index for d in default.data] == [0, 1]
    assert len(default.data[0].embedding) == 1536
    assert default.usage.prompt_tokens == 3
    floats = client.embeddings.create(
        model="text-embedding-3-small", input="a b", encoding_format="float"
    )
    assert floats.data[0].embedding == default.data[0].embedding == embedding_vector("a b", 1536)
    assert default.data[0].embedding != default.data[1].embedding
    small = client.embeddings.create(model="text-embedding-3-large", input="x", dimensions=8)
    assert len(small.data[0].embedding) == 8
    assert sum(v * v for v in small.data[0].embedding) == pytest.approx(1.0, abs=1e-5)
    assert small.model == "text-embedding-3-large"


def test_openai_models(fake: FakeProvider) -> None:
    client = oai(fake)
    ids = [m.id for m in client.models.list()]
    assert "gpt-4o" in ids
    assert client.models.retrieve("gpt-4o").owned_by == "system"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("no-such-model")


def test_openai_auth(fake: FakeProvider) -> None:
    wrong = openai.OpenAI(base_url=fake.openai_base, api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as info:
        wrong.chat.completions.create(model="gpt-4o", messages=user("hi"))
    assert info.value.code == "invalid_api_key"
    assert info.value.type == "invalid_request_error"
    response = httpx.post(f"{fake.openai_base}/chat/completions", json={})
    assert response.status_code == 401
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}


def test_openai_bad_request_and_unknown_route(fake: FakeProvider) -> None:
    with pytest.raises(openai.BadRequestError, match="Missing required parameter: 'messages'"):
        oai(fake).post("/chat/completions", body={"model": "gpt-4o"}, cast_to=object)
    response = httpx.post(f"{fake.url}/v1/nope", json={})
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Invalid URL (POST /v1/nope)"
    assert fake.requests[-1].route == "unknown"


async def test_async_openai_stream(fake: FakeProvider) -> None:
    client = openai.AsyncOpenAI(base_url=fake.openai_base, api_key=OPENAI_KEY, max_retries=0)
    stream = await client.chat.completions.create(
        model="gpt-4o", messages=user("async hello"), stream=True
    )
    text = "".join([c.choices[0].delta.content or "" async for c in stream])
    assert text == "echo: async hello"
    await client.close()


# ---------------------------------------------------------------------------- Azure


def test_azure_chat_and_stream(fake: FakeProvider) -> None:
    client = azure(fake)
    result = client.chat.completions.create(model="my-gpt4o", messages=user("hi azure"))
    assert result.choices[0].message.content == "echo: hi azure"
    record = fake.requests[-1]
    assert record.path == "/openai/deployments/my-gpt4o/chat/completions"
    assert record.query == {"api-version": AZURE_VERSION}
    assert record.headers["api-key"] == AZURE_KEY
    assert "authorization" not in record.headers
    assert result.model_extra is not None and "prompt_filter_results" in result.model_extra
    chunks = list(
        client.chat.completions.create(model="my-gpt4o", messages=user("a b c"), stream=True)
    )
    # Like real Azure: a first chunk without choices that only carries prompt filter results.
    assert chunks[0].choices == []
    assert "".join(c.choices[0].delta.content or "" for c in chunks[1:]) == "echo: a b c"


def test_azure_embeddings_and_tools(fake: FakeProvider) -> None:
    client = azure(fake)
    vectors = client.embeddings.create(model="emb-deploy", input="x y", dimensions=4)
    assert fake.requests[-1].path == "/openai/deployments/emb-deploy/embeddings"
    assert len(vectors.data[0].embedding) == 4
    result = client.chat.completions.create(
        model="my-gpt4o", messages=user("weather?"), tools=[WEATHER_TOOL_OPENAI]
    )
    assert result.choices[0].message.tool_calls[0].id == "call_fake_1"


def test_azure_auth_and_api_version(fake: FakeProvider) -> None:
    wrong = openai.AzureOpenAI(
        azure_endpoint=fake.azure_base, api_version=AZURE_VERSION, api_key="bad", max_retries=0
    )
    with pytest.raises(openai.AuthenticationError) as info:
        wrong.chat.completions.create(model="d", messages=user("hi"))
    assert info.value.code == "401"
    url = f"{fake.azure_base}/openai/deployments/d/chat/completions"
    response = httpx.post(url, json={"messages": user("hi")}, headers={"api-key": AZURE_KEY})
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "404", "message": "Resource not found"}}


# ---------------------------------------------------------------------------- Anthropic


def test_anthropic_create(fake: FakeProvider) -> None:
    message = claude(fake).messages.create(
        model=CLAUDE,
        max_tokens=100,
        system="you are terse",
        messages=[
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": [{"type": "text", "text": "hello claude"}]},
        ],
    )
    assert message.type == "message"
    assert message.model == CLAUDE
    assert message.content[0].type == "text"
    assert message.content[0].text == "echo: hello claude"
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens == 3 + 1 + 1 + 2 + 1
    assert message.usage.output_tokens == 3
    record = fake.requests[-1]
    assert record.path == "/v1/messages"
    assert record.headers["anthropic-version"]


def test_anthropic_stream_event_sequence(fake: FakeProvider) -> None:
    fake.chunks = 3
    with claude(fake).messages.stream(
        model=CLAUDE, max_tokens=100, messages=user("one two three four")
    ) as stream:
        texts = list(stream.text_stream)
        final = stream.get_final_message()
    assert len(texts) == 3
    assert final.content[0].text == "echo: one two three four" == "".join(texts)
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 5
    fake.chunks = 1
    body = {"model": CLAUDE, "max_tokens": 10, "messages": user("hi"), "stream": True}
    headers = {"x-api-key": ANTHROPIC_KEY, "anthropic-version": "2023-06-01"}
    raw = httpx.post(f"{fake.url}/v1/messages", json=body, headers=headers).text
    events = [frame.split("\n")[0] for frame in raw.split("\n\n") if frame]
    assert events == [
        "event: message_start",
        "event: content_block_start",
        "event: ping",
        "event: content_block_delta",
        "event: content_block_stop",
        "event: message_delta",
        "event: message_stop",
    ]
    for frame in raw.split("\n\n")[:-1]:
        name, data = frame.split("\n")
        assert json.loads(data.removeprefix("data: "))["type"] == name.removeprefix("event: ")


def test_anthropic_tool_use_turn(fake: FakeProvider) -> None:
    client = claude(fake)
    messages: list[dict[str, object]] = [{"role": "user", "content": "weather in Paris?"}]
    with client.messages.stream(
        model=CLAUDE, max_tokens=100, messages=messages, tools=[WEATHER_TOOL_ANTHROPIC]
    ) as stream:
        partial = [e.partial_json for e in stream if e.type == "input_json"]
        final = stream.get_final_message()
    assert len([p for p in partial if p]) > 1
    assert final.stop_reason == "tool_use"
    block = final.content[0]
    assert block.type == "tool_use"
    assert (block.id, block.name, block.input) == ("toolu_fake_1", "get_weather", {"city": "Paris"})
    messages += [
        {"role": "assistant", "content": [block.model_dump(exclude_none=True)]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": block.id, "content": "sunny"}],
        },
    ]
    answer = client.messages.create(
        model=CLAUDE, max_tokens=100, messages=messages, tools=[WEATHER_TOOL_ANTHROPIC]
    )
    assert answer.content[0].text == "echo: sunny"
    assert answer.stop_reason == "end_turn"
    unstreamed = client.messages.create(
        model=CLAUDE, max_tokens=100, messages=messages[:1], tools=[WEATHER_TOOL_ANTHROPIC]
    )
    assert unstreamed.content[0].input == {"city": "Paris"}


def test_anthropic_stop_sequences_and_max_tokens(fake: FakeProvider) -> None:
    client = claude(fake)
    stopped = client.messages.create(
        model=CLAUDE, max_tokens=100, messages=user("alpha STOP beta"), stop_sequences=["STOP"]
    )
    assert stopped.content[0].text == "echo: alpha "
    assert (stopped.stop_reason, stopped.stop_sequence) == ("stop_sequence", "STOP")
    with client.messages.stream(
        model=CLAUDE, max_tokens=100, messages=user("alpha STOP beta"), stop_sequences=["STOP"]
    ) as stream:
        final = stream.get_final_message()
    assert final.stop_sequence == "STOP"
    cut = client.messages.create(model=CLAUDE, max_tokens=2, messages=user("a b c d"))
    assert cut.content[0].text == "echo: a"
    assert cut.stop_reason == "max_tokens"


def test_anthropic_auth_version_and_validation(fake: FakeProvider) -> None:
    wrong = anthropic.Anthropic(base_url=fake.anthropic_base, api_key="nope", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as info:
        wrong.messages.create(model=CLAUDE, max_tokens=5, messages=user("hi"))
    assert info.value.body["error"]["type"] == "authentication_error"
    url = f"{fake.url}/v1/messages"
    body = {"model": CLAUDE, "max_tokens": 5, "messages": user("hi")}
    ok = httpx.post(url, json=body, headers={"x-api-key": ANTHROPIC_KEY, "anthropic-version": "1"})
    assert ok.status_code == 200
    no_version = httpx.post(url, json=body, headers={"x-api-key": ANTHROPIC_KEY})
    assert no_version.status_code == 400
    assert no_version.json()["type"] == "error"
    assert no_version.json()["error"] == {
        "type": "invalid_request_error",
        "message": "anthropic-version: header is required",
    }
    with pytest.raises(anthropic.BadRequestError, match="max_tokens: Field required"):
        claude(fake).post("/v1/messages", body={"model": CLAUDE, "messages": []}, cast_to=object)
    models = httpx.get(
        f"{fake.url}/v1/models", headers={"x-api-key": ANTHROPIC_KEY, "anthropic-version": "1"}
    )
    assert models.json()["data"][0]["type"] == "model"


async def test_async_anthropic_stream(fake: FakeProvider) -> None:
    client = anthropic.AsyncAnthropic(
        base_url=fake.anthropic_base, api_key=ANTHROPIC_KEY, max_retries=0
    )
    async with client.messages.stream(
        model=CLAUDE, max_tokens=50, messages=user("async claude")
    ) as stream:
        final = await stream.get_final_message()
    assert final.content[0].text == "echo: async claude"
    await client.close()


# ---------------------------------------------------------------------------- faults


def test_status_fault_with_retry_after(fake: FakeProvider) -> None:
    fake.enqueue(Fault(status=429, headers={"retry-after": "1"}))
    with pytest.raises(openai.RateLimitError) as info:
        oai(fake).chat.completions.create(model="gpt-4o", messages=user("hi"))
    assert info.value.response.headers["retry-after"] == "1"
    assert info.value.code == "rate_limit_exceeded"
    fake.enqueue(Fault(status=503))
    with pytest.raises(openai.InternalServerError):
        oai(fake).chat.completions.create(model="gpt-4o", messages=user("hi"))
    fake.enqueue(Fault(status=529, headers={"retry-after": "1"}))
    with pytest.raises(anthropic.OverloadedError) as overloaded:
        claude(fake).messages.create(model=CLAUDE, max_tokens=5, messages=user("hi"))
    assert overloaded.value.body["error"]["type"] == "overloaded_error"
    fake.enqueue(Fault(status=503, body={"custom": True}))
    with pytest.raises(openai.InternalServerError) as custom:
        oai(fake).chat.completions.create(model="gpt-4o", messages=user("hi"))
    assert custom.value.body == {"custom": True}
    assert fake.pending_faults == []


def test_sdk_retry_honours_retry_after(fake: FakeProvider) -> None:
    fake.enqueue(Fault(status=503, headers={"retry-after": "0"}))
    result = oai(fake, max_retries=1).chat.completions.create(model="gpt-4o", messages=user("x"))
    assert result.choices[0].message.content == "echo: x"
    assert len(fake.requests) == 2


def test_faults_are_fifo_and_route_filtered(fake: FakeProvider) -> None:
    fake.enqueue(Fault(status=500, route="anthropic"), Fault(status=502), Fault(status=503))
    with pytest.raises(openai.InternalServerError) as first:
        oai(fake).chat.completions.create(model="gpt-4o", messages=user("x"))
    assert first.value.status_code == 502
    with pytest.raises(anthropic.InternalServerError) as second:
        claude(fake).messages.create(model=CLAUDE, max_tokens=5, messages=user("x"))
    assert second.value.status_code == 500
    fake.enqueue(Fault(status=400, route="/v1/embeddings"))
    with pytest.raises(openai.InternalServerError) as third:
        oai(fake).chat.completions.create(model="gpt-4o", messages=user("x"))
    assert third.value.status_code == 503
    assert oai(fake).chat.completions.create(model="gpt-4o", messages=user("x"))
    assert len(fake.pending_faults) == 1
    fake.reset()
    assert fake.pending_faults == [] and fake.requests == []


def test_default_fault_is_persistent(fake: FakeProvider) -> None:
    fake.set_default_fault(Fault(status=500, route="openai.chat"))
    for _ in range(3):
        with pytest.raises(openai.InternalServerError):
            oai(fake).chat.completions.create(model="gpt-4o", messages=user("x"))
    assert oai(fake).embeddings.create(model="text-embedding-3-small", input="x").data
    fake.set_default_fault(None)
    assert oai(fake).chat.completions.create(model="gpt-4o", messages=user("x"))


def test_delay_headers_causes_client_timeout(fake: FakeProvider) -> None:
    fake.enqueue(Fault(delay_headers=2.0))
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        oai(fake, timeout=0.3).chat.completions.create(model="gpt-4o", messages=user("x"))
    assert time.monotonic() - started < 1.5
    # The fake notices the client giving up while it was still "thinking".
    gone = fake.wait_for(lambda: fake.disconnects, timeout=2)
    assert gone[0].path == "/v1/chat/completions"


def test_delay_chunks(fake: FakeProvider) -> None:
    fake.enqueue(Fault(delay_chunks=0.1))
    started = time.monotonic()
    with claude(fake).messages.stream(model=CLAUDE, max_tokens=9, messages=user("a b")) as stream:
        stream.get_final_message()
    # 9 events (start, block start, ping, 3 deltas, block stop, delta, stop): 8 gaps.
    assert time.monotonic() - started >= 0.8
    fake.chunk_delay = 0.05
    started = time.monotonic()
    list(oai(fake).chat.completions.create(model="gpt-4o", messages=user("a"), stream=True))
    assert time.monotonic() - started >= 0.2


def test_cut_stream(fake: FakeProvider) -> None:
    fake.enqueue(Fault(cut_after_chunks=2))
    received = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in oai(fake).chat.completions.create(
            model="gpt-4o", messages=user("a b c d"), stream=True
        ):
            received.append(chunk)
    assert len(received) == 2
    fake.enqueue(Fault(cut_after_chunks=4))
    # The Anthropic SDK lets the transport error through unwrapped from a broken stream.
    with (
        pytest.raises(Exception, match="incomplete chunked read"),
        claude(fake).messages.stream(model=CLAUDE, max_tokens=9, messages=user("a b")) as stream,
    ):
        stream.get_final_message()
    fake.enqueue(Fault(cut_after_chunks=1))
    with pytest.raises(openai.APIConnectionError):
        oai(fake).chat.completions.create(model="gpt-4o", messages=user("non-streaming"))
    assert fake.disconnects == []  # deliberate cuts are not client disconnects


def test_error_event_mid_stream(fake: FakeProvider) -> None:
    fake.enqueue(Fault(error_after_chunks=3))
    with (
        pytest.raises(anthropic.APIStatusError, match="overloaded_error"),
        claude(fake).messages.stream(model=CLAUDE, max_tokens=9, messages=user("a b")) as stream,
    ):
        stream.get_final_message()
    fake.enqueue(Fault(error_after_chunks=2))
    with pytest.raises(openai.APIError, match="stream interrupted"):
        list(oai(fake).chat.completions.create(model="gpt-4o", messages=user("a"), stream=True))


def test_close_connection(fake: FakeProvider) -> None:
    fake.enqueue(Fault(close_connection=True), Fault(close_connection=True))
    with pytest.raises(openai.APIConnectionError):
        oai(fake).chat.completions.create(model="gpt-4o", messages=user("x"))
    with pytest.raises(anthropic.APIConnectionError):
        claude(fake).messages.create(model=CLAUDE, max_tokens=5, messages=user("x"))
    assert len(fake.requests) == 2


def test_raw_body_override(fake: FakeProvider) -> None:
    fake.enqueue(Fault(body="this is not json", headers={"content-type": "text/plain"}))
    response = httpx.post(
        f"{fake.openai_base}/chat/completions", json={}, headers={"Authorization": "Bearer x"}
    )
    assert (response.status_code, response.text) == (200, "this is not json")
    assert response.headers["content-type"] == "text/plain"


# ---------------------------------------------------------------------------- records


def test_connection_counter(fake: FakeProvider) -> None:
    headers = {"Authorization": f"Bearer {OPENAI_KEY}"}
    with httpx.Client(base_url=fake.openai_base, headers=headers) as client:
        for _ in range(3):
            client.get("/models")  # keep-alive: one connection
    assert fake.connections_accepted == 1
    for _ in range(2):
        httpx.get(f"{fake.openai_base}/models", headers=headers)
    assert fake.connections_accepted == 3
    with socket.create_connection(("127.0.0.1", fake.port)):
        fake.wait_for(lambda: fake.connections_accepted == 4, timeout=2)
    fake.reset()
    assert fake.connections_accepted == 0


def test_disconnect_recorded_mid_stream(fake: FakeProvider) -> None:
    fake.enqueue(Fault(delay_chunks=0.5))
    stream = oai(fake).chat.completions.create(
        model="gpt-4o", messages=user("a b c d e f"), stream=True
    )
    next(iter(stream))
    closed_at = time.monotonic()
    stream.close()
    gone = fake.wait_for(lambda: fake.disconnects, timeout=1.0)
    assert gone[0].path == "/v1/chat/completions"
    assert gone[0].time - closed_at < 1.0


async def test_disconnect_recorded_from_async_client(fake: FakeProvider) -> None:
    fake.chunk_delay = 0.3
    client = anthropic.AsyncAnthropic(
        base_url=fake.anthropic_base, api_key=ANTHROPIC_KEY, max_retries=0
    )
    async with client.messages.stream(model=CLAUDE, max_tokens=9, messages=user("a b c")) as s:
        async for _event in s:
            break
    path, _when = (await fake.wait_for_async(lambda: fake.disconnects, timeout=1.0))[0]
    assert path == "/v1/messages"
    await client.close()


def test_wait_for_times_out(fake: FakeProvider) -> None:
    with pytest.raises(TimeoutError):
        fake.wait_for(lambda: fake.requests, timeout=0.05)


def test_runs_standalone() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.providers", "--port", str(port)],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert "OpenAI" in process.stdout.readline()
        models = httpx.get(
            f"http://127.0.0.1:{port}/v1/models",
            headers={"Authorization": "Bearer sk-fake-openai-key"},
        )
        assert models.status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
