"""The official SDKs talk to the real gateway, which talks to fake upstreams of every kind."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from tests.fakes import FakeProvider
from tests.proxy.e2e.support import ANTHROPIC_KEY, AZURE_KEY, OPENAI_KEY, Tenant, user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ECHO = "echo: hello there"
WEATHER_TOOL = {
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
# What the gateway's own HTTP client sends; anything else upstream came from the client.
TRANSPORT_HEADERS = {
    "host", "accept", "accept-encoding", "connection", "user-agent", "content-type",
    "content-length",
}  # fmt: skip


def _streamed_text(stream: Any) -> tuple[str, list[Any]]:
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    return text, chunks


def _route_for(kind: str, tenant: Tenant, fake: FakeProvider) -> str:
    """A route named `m` on an upstream of `kind`; returns the upstream path family."""
    if kind == "openai":
        tenant.route("m", tenant.provider("openai", fake.openai_base, OPENAI_KEY), "gpt-4o-mini")
    elif kind == "azure_openai":
        tenant.route("m", tenant.provider("azure_openai", fake.azure_base, AZURE_KEY), "my-dep")
    elif kind == "anthropic":
        provider = tenant.provider("anthropic", fake.anthropic_base, ANTHROPIC_KEY)
        tenant.route("m", provider, "claude-haiku-4-5")
    elif kind == "mock":
        tenant.route("m", tenant.provider("mock"), "mock-echo")
    else:
        raise AssertionError(kind)
    return kind.split("_")[0]


CHAT_KINDS = ["openai", "azure_openai", "anthropic", "mock"]


# ---------------------------------------------------------------------------- chat completions


@pytest.mark.parametrize("kind", CHAT_KINDS)
def test_chat_round_trip_returns_the_upstream_answer(kind, tenant, fake):
    _route_for(kind, tenant, fake)
    reply = tenant.openai().chat.completions.create(model="m", messages=user("hello there"))
    assert reply.choices[0].message.content == ECHO
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None and reply.usage.total_tokens > 0


@pytest.mark.parametrize("kind", CHAT_KINDS)
def test_chat_stream_assembles_the_upstream_answer(kind, tenant, fake):
    _route_for(kind, tenant, fake)
    stream = tenant.openai().chat.completions.create(
        model="m", messages=user("hello there"), stream=True
    )
    text, chunks = _streamed_text(stream)
    assert text == ECHO
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert all(c.usage is None for c in chunks)


@pytest.mark.parametrize("kind", CHAT_KINDS)
def test_stream_usage_chunk_is_present_only_when_the_client_asks(kind, tenant, fake):
    family = _route_for(kind, tenant, fake)
    client = tenant.openai()
    _, plain = _streamed_text(
        client.chat.completions.create(model="m", messages=user("hello there"), stream=True)
    )
    _, with_usage = _streamed_text(
        client.chat.completions.create(
            model="m",
            messages=user("hello there"),
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert not any(c.usage for c in plain)
    usage_chunks = [c for c in with_usage if c.usage is not None]
    assert len(usage_chunks) == 1 and usage_chunks[0] is with_usage[-1]
    assert usage_chunks[0].choices == []
    assert usage_chunks[0].usage.completion_tokens == 3
    if family in ("openai", "azure"):
        # The gateway always asks for usage (spend must be known), whatever the client said.
        sent = [r.json for r in fake.requests_to(family)]
        assert len(sent) == 2
        assert all(body["stream_options"] == {"include_usage": True} for body in sent)


@pytest.mark.parametrize("kind", ["openai", "azure_openai", "anthropic"])
def test_tool_calls_keep_their_ids_and_arguments(kind, tenant, fake):
    family = _route_for(kind, tenant, fake)
    client = tenant.openai()
    expected_id = "toolu_fake_1" if family == "anthropic" else "call_fake_1"
    messages = user("What is the weather in Paris?")

    reply = client.chat.completions.create(model="m", messages=messages, tools=[WEATHER_TOOL])
    call = reply.choices[0].message.tool_calls[0]
    assert reply.choices[0].finish_reason == "tool_calls"
    assert (call.id, call.function.name) == (expected_id, "get_weather")
    assert json.loads(call.function.arguments) == {"city": "Paris"}

    stream = client.chat.completions.create(
        model="m", messages=messages, tools=[WEATHER_TOOL], stream=True
    )
    deltas = [d for c in stream if c.choices for d in c.choices[0].delta.tool_calls or ()]
    assert deltas[0].id == expected_id
    assert json.loads("".join(d.function.arguments or "" for d in deltas)) == {"city": "Paris"}

    # The tool result goes back under the same id and the model answers it.
    follow_up = [
        *messages,
        reply.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "18C and sunny"},
    ]
    answer = client.chat.completions.create(model="m", messages=follow_up, tools=[WEATHER_TOOL])
    assert answer.choices[0].message.content == "echo: 18C and sunny"


def test_openai_compatible_upstream_without_a_key_gets_no_authorization(tenant, keyless_fake):
    provider = tenant.provider("openai_compatible", keyless_fake.openai_base)
    tenant.route("local", provider, "llama-3")
    client = tenant.openai()
    reply = client.chat.completions.create(model="local", messages=user("hello there"))
    text, _ = _streamed_text(
        client.chat.completions.create(model="local", messages=user("hello there"), stream=True)
    )
    assert reply.choices[0].message.content == ECHO and text == ECHO
    assert [r.json["model"] for r in keyless_fake.requests] == ["llama-3", "llama-3"]
    assert keyless_fake.keyless_requests == 2


@pytest.mark.parametrize("kind", ["openai", "azure_openai", "mock"])
def test_embeddings_round_trip(kind, tenant, fake):
    family = _route_for(kind, tenant, fake)
    result = tenant.openai().embeddings.create(model="m", input=["one", "two"], dimensions=8)
    assert [d.index for d in result.data] == [0, 1]
    assert all(len(d.embedding) == 8 for d in result.data)
    assert result.usage.prompt_tokens > 0
    if family != "mock":
        (sent,) = fake.requests_to(f"{family}.embeddings")
        assert sent.json["input"] == ["one", "two"]


def test_models_lists_only_the_allowed_models(tenant, fake):
    allowed = [tenant.openai_route(fake, name) for name in ("alpha", "beta")]
    tenant.openai_route(fake, "gamma")
    tenant.team.allowed_models.set(allowed)
    models = tenant.openai().models.list()
    assert [m.id for m in models.data] == ["alpha", "beta"]
    assert fake.requests == []


# ---------------------------------------------------------------------------- /v1/messages


def test_messages_pass_through_natively_to_anthropic(tenant, fake):
    tenant.anthropic_route(fake)
    message = tenant.anthropic().messages.create(
        model="claude", max_tokens=100, messages=user("hello there"), metadata={"user_id": "u1"}
    )
    assert message.content[0].text == ECHO
    assert message.stop_reason == "end_turn"
    (sent,) = fake.requests_to("anthropic.messages")
    assert sent.json["model"] == "claude-haiku-4-5"
    assert sent.json["metadata"] == {"user_id": "u1"}
    assert "stream" not in sent.json


def test_messages_translate_to_an_openai_upstream(tenant, fake):
    tenant.openai_route(fake, "gpt")
    message = tenant.anthropic().messages.create(
        model="gpt", max_tokens=100, system="Be brief.", messages=user("hello there")
    )
    assert message.content[0].text == ECHO
    assert message.stop_reason == "end_turn"
    assert message.usage.output_tokens == 3
    (sent,) = fake.requests_to("openai.chat")
    assert sent.json["model"] == "gpt-4o-mini"
    assert sent.json["messages"][0] == {"role": "system", "content": "Be brief."}


@pytest.mark.parametrize("upstream", ["anthropic", "openai"])
def test_messages_stream_final_message(upstream, tenant, fake):
    if upstream == "anthropic":
        tenant.anthropic_route(fake, "m")
    else:
        tenant.openai_route(fake, "m")
    with tenant.anthropic().messages.stream(
        model="m", max_tokens=100, messages=user("hello there")
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == ECHO
    assert final.content[0].text == ECHO
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 3
    assert len(fake.requests) == 1 and fake.requests[0].json["stream"] is True


@pytest.mark.parametrize("upstream", ["anthropic", "openai"])
@pytest.mark.parametrize("streaming", [False, True])
def test_messages_tool_use_turn(upstream, streaming, tenant, fake):
    if upstream == "anthropic":
        tenant.anthropic_route(fake, "m")
    else:
        tenant.openai_route(fake, "m")
    client = tenant.anthropic()
    question = user("What is the weather in Paris?")
    kwargs: dict[str, Any] = {"model": "m", "max_tokens": 100, "tools": [WEATHER_TOOL_ANTHROPIC]}
    if streaming:
        with client.messages.stream(messages=question, **kwargs) as stream:
            first = stream.get_final_message()
    else:
        first = client.messages.create(messages=question, **kwargs)
    assert first.stop_reason == "tool_use"
    (tool_use,) = [b for b in first.content if b.type == "tool_use"]
    assert tool_use.id == ("toolu_fake_1" if upstream == "anthropic" else "call_fake_1")
    assert (tool_use.name, tool_use.input) == ("get_weather", {"city": "Paris"})

    result = {"type": "tool_result", "tool_use_id": tool_use.id, "content": "18C and sunny"}
    conversation = [
        *question,
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {"role": "user", "content": [result]},
    ]
    answer = client.messages.create(messages=conversation, **kwargs)
    assert answer.content[0].text == "echo: 18C and sunny"
    if upstream == "openai":
        tool_message = fake.requests[-1].json["messages"][-1]
        assert tool_message == {
            "role": "tool",
            "tool_call_id": "call_fake_1",
            "content": "18C and sunny",
        }


# ---------------------------------------------------------------------------- what goes upstream


def test_unknown_but_valid_fields_reach_the_openai_upstream_unchanged(tenant, fake):
    tenant.openai_route(fake)
    fields: dict[str, Any] = {
        "response_format": {
            "type": "json_schema",
            "json_schema": {
                "name": "answer",
                "schema": {"type": "object", "properties": {"text": {"type": "string"}}},
            },
        },
        "tools": [WEATHER_TOOL],
        "tool_choice": "auto",
        "seed": 7,
        "user": "end-user-42",
        "parallel_tool_calls": False,
        "logit_bias": {"50256": -100},
    }
    tenant.openai().chat.completions.create(
        model="gpt",
        messages=user("hello there"),
        extra_body={"brand_new_feature": {"level": 3}},
        **fields,
    )
    (sent,) = fake.requests_to("openai.chat")
    for name, value in fields.items():
        assert sent.json[name] == value, name
    assert sent.json["brand_new_feature"] == {"level": 3}


def test_upstream_gets_the_deployment_model_and_provider_key_never_the_gateway_key(tenant, fake):
    tenant.route("m", tenant.provider("openai", fake.openai_base, OPENAI_KEY), "gpt-4o-mini")
    tenant.openai().chat.completions.create(
        model="m",
        messages=user("hello there"),
        extra_headers={
            "openai-beta": "assistants=v2",
            "anthropic-beta": "not-for-openai",
            "x-internal-secret": "do-not-forward",
            "cookie": "session=abc",
            "x-request-id": "client-chosen",
            "x-forwarded-for": "10.1.2.3",
        },
    )
    (sent,) = fake.requests
    assert sent.json["model"] == "gpt-4o-mini"
    assert sent.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert sent.headers["openai-beta"] == "assistants=v2"
    assert set(sent.headers) - TRANSPORT_HEADERS == {"authorization", "openai-beta"}
    _assert_no_gateway_key(sent, tenant.key)


def test_azure_upstream_gets_its_deployment_url_api_version_and_api_key(tenant, fake):
    tenant.route("m", tenant.provider("azure_openai", fake.azure_base, AZURE_KEY), "my-dep")
    tenant.openai().chat.completions.create(
        model="m", messages=user("hello there"), extra_headers={"openai-beta": "x"}
    )
    (sent,) = fake.requests
    assert sent.path == "/openai/deployments/my-dep/chat/completions"
    assert sent.query == {"api-version": "2024-10-21"}
    assert sent.headers["api-key"] == AZURE_KEY
    assert set(sent.headers) - TRANSPORT_HEADERS == {"api-key"}
    assert "model" not in sent.json
    _assert_no_gateway_key(sent, tenant.key)


def test_anthropic_upstream_gets_x_api_key_and_the_anthropic_headers_only(tenant, fake):
    tenant.anthropic_route(fake)
    tenant.anthropic().messages.create(
        model="claude",
        max_tokens=50,
        messages=user("hello there"),
        extra_headers={
            "anthropic-version": "2023-06-01",
            "anthropic-beta": "prompt-caching-2024-07-31",
            "openai-beta": "not-for-anthropic",
            "x-internal-secret": "do-not-forward",
        },
    )
    (sent,) = fake.requests
    assert sent.headers["x-api-key"] == ANTHROPIC_KEY
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert sent.headers["anthropic-beta"] == "prompt-caching-2024-07-31"
    assert set(sent.headers) - TRANSPORT_HEADERS == {
        "x-api-key",
        "anthropic-version",
        "anthropic-beta",
    }
    _assert_no_gateway_key(sent, tenant.key)


def _assert_no_gateway_key(sent: Any, key: str) -> None:
    assert key not in sent.raw.decode()
    assert all(key not in value for value in sent.headers.values())


# ---------------------------------------------------------------------------- response headers

REQUEST_ID = re.compile(r"^req_[0-9a-f]{24}$")


def _assert_gateway_headers(headers: httpx.Headers, overhead: bool = True) -> None:
    assert REQUEST_ID.match(headers["x-request-id"]), headers.get("x-request-id")
    if overhead:
        assert float(headers["x-gateway-overhead-ms"]) >= 0


def test_responses_carry_request_id_client_request_id_and_overhead(tenant, fake):
    tenant.openai_route(fake)
    tenant.anthropic_route(fake)
    client = tenant.openai()
    raw = client.chat.completions.with_raw_response.create(
        model="gpt", messages=user("hello there"), extra_headers={"x-request-id": "my-trace-1"}
    )
    _assert_gateway_headers(raw.headers)
    assert raw.headers["x-request-id"] != "my-trace-1"
    assert raw.headers["x-client-request-id"] == "my-trace-1"

    other = client.chat.completions.with_raw_response.create(
        model="gpt", messages=user("hello there")
    )
    assert other.headers["x-request-id"] != raw.headers["x-request-id"]
    assert "x-client-request-id" not in other.headers

    with client.chat.completions.with_streaming_response.create(
        model="gpt", messages=user("hello there"), stream=True
    ) as streamed:
        _assert_gateway_headers(streamed.headers)
    _assert_gateway_headers(
        client.embeddings.with_raw_response.create(model="gpt", input="x").headers
    )
    _assert_gateway_headers(client.models.with_raw_response.list().headers)
    _assert_gateway_headers(
        tenant.anthropic()
        .messages.with_raw_response.create(model="claude", max_tokens=10, messages=user("hi"))
        .headers
    )


def test_error_responses_carry_a_request_id_too(tenant):
    response = httpx.post(
        f"{tenant.gateway_url}/v1/chat/completions",
        json={"model": "nope", "messages": user("hi")},
        headers={**tenant.auth, "x-request-id": "trace-2"},
    )
    assert response.status_code == 404
    _assert_gateway_headers(response.headers, overhead=False)
    assert response.headers["x-client-request-id"] == "trace-2"
    unknown = httpx.get(f"{tenant.gateway_url}/v1/nowhere", headers=tenant.auth)
    assert unknown.status_code == 404
    _assert_gateway_headers(unknown.headers, overhead=False)
