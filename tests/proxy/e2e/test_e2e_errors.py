"""Client errors, upstream failures and smuggled overrides, as the official SDKs see them."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.fakes import FakeProvider, Fault
from tests.proxy.e2e.support import Tenant, user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

MAX_BODY = 64 * 1024
GATEWAY_ENV = {"GATEWAY_MAX_BODY_BYTES": str(MAX_BODY)}
CANARY = "sk-leaked-canary"
# An upstream error whose body echoes a secret; none of it may reach the client.
LEAKY_BODY = {"error": {"message": f"upstream exploded, key {CANARY}", "type": "server_error"}}
FAST_RETRY = {"retry-after-ms": "1"}


def _assert_clean(response: httpx.Response) -> None:
    text = response.text
    assert CANARY not in text
    assert "Traceback" not in text and 'File "' not in text
    assert all(CANARY not in value for value in response.headers.values())


# ---------------------------------------------------------------------------- invalid input


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": [{"role": "wizard", "content": "hi"}]}, "messages[0].role"),
        ({}, "messages"),
        ({"messages": []}, "messages"),
        ({"messages": user("hi"), "temperature": 3}, "temperature"),
        ({"messages": [{"role": "user", "content": [{"text": "no type"}]}]}, "messages[0].content[0].type"),
        ({"messages": user("hi"), "max_tokens": 0}, "max_tokens"),
    ],
)  # fmt: skip
def test_invalid_chat_input_is_a_400_naming_the_param(body, param, tenant, fake):
    tenant.openai_route(fake)
    with pytest.raises(openai.BadRequestError) as caught:
        tenant.openai().post(
            "/chat/completions", body={"model": "gpt", **body}, cast_to=httpx.Response
        )
    assert caught.value.status_code == 400
    assert caught.value.param == param
    assert caught.value.code == "invalid_request"
    assert caught.value.body["type"] == "invalid_request_error"
    assert fake.requests == []


def test_invalid_messages_input_is_an_anthropic_shaped_400(tenant, fake):
    tenant.anthropic_route(fake)
    with pytest.raises(anthropic.BadRequestError) as caught:
        tenant.anthropic().messages.create(
            model="claude", max_tokens=10, messages=user("hi"), extra_body={"temperature": 1.5}
        )
    body = caught.value.body
    assert body["type"] == "error"
    assert body["error"]["type"] == "invalid_request_error"
    assert body["error"]["param"] == "temperature"
    assert set(body["error"]) >= {"type", "message", "code"}
    assert fake.requests == []


def test_invalid_json_is_a_400(tenant):
    response = httpx.post(
        f"{tenant.gateway_url}/v1/chat/completions",
        content=b'{"model": "gpt", "messages": [',
        headers={**tenant.auth, "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_wrong_content_type_is_a_415(tenant):
    response = httpx.post(
        f"{tenant.gateway_url}/v1/chat/completions",
        content=b'{"model": "gpt", "messages": []}',
        headers={**tenant.auth, "content-type": "text/plain"},
    )
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_body_over_the_limit_is_a_413(tenant, fake):
    tenant.openai_route(fake)
    with pytest.raises(openai.APIStatusError) as caught:
        tenant.openai().chat.completions.create(model="gpt", messages=user("x" * (MAX_BODY + 1)))
    assert caught.value.status_code == 413
    assert caught.value.code == "body_too_large"


def test_chunked_body_over_the_limit_is_a_413_too(tenant, fake):
    tenant.openai_route(fake)

    def chunks() -> Any:
        yield b'{"model": "gpt", "messages": [{"role": "user", "content": "'
        for _ in range(MAX_BODY // 1024 + 1):
            yield b"x" * 1024
        yield b'"}]}'

    response = httpx.post(
        f"{tenant.gateway_url}/v1/chat/completions",
        content=chunks(),
        headers={**tenant.auth, "content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"
    assert fake.requests == []


# ---------------------------------------------------------------------------- auth and models


def test_bad_key_is_a_401_in_both_sdks(tenant, fake):
    tenant.openai_route(fake)
    with pytest.raises(openai.AuthenticationError) as caught:
        tenant.openai(key="sgw-not-a-real-key").chat.completions.create(
            model="gpt", messages=user("hi")
        )
    assert caught.value.code == "invalid_api_key"
    with pytest.raises(anthropic.AuthenticationError) as caught_anthropic:
        tenant.anthropic(key="sgw-not-a-real-key").messages.create(
            model="gpt", max_tokens=10, messages=user("hi")
        )
    error = caught_anthropic.value.body["error"]
    assert (error["type"], error["code"]) == ("authentication_error", "invalid_api_key")
    assert fake.requests == []


def test_missing_key_is_a_401(tenant):
    response = httpx.get(f"{tenant.gateway_url}/v1/models")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


def test_unknown_and_not_allowed_models_are_the_same_404(tenant, fake):
    allowed = tenant.openai_route(fake, "allowed")
    tenant.openai_route(fake, "forbidden")
    tenant.team.allowed_models.set([allowed])
    client = tenant.openai()
    errors = []
    for model in ("no-such-model", "forbidden"):
        with pytest.raises(openai.NotFoundError) as caught:
            client.chat.completions.create(model=model, messages=user("hi"))
        assert (caught.value.code, caught.value.param) == ("model_not_found", "model")
        errors.append(caught.value.message.replace(model, "<model>"))
    assert errors[0] == errors[1]
    with pytest.raises(anthropic.NotFoundError) as caught_anthropic:
        tenant.anthropic().messages.create(model="forbidden", max_tokens=5, messages=user("hi"))
    assert caught_anthropic.value.body["error"]["type"] == "not_found_error"
    assert client.chat.completions.create(model="allowed", messages=user("hi")).choices
    assert len(fake.requests) == 1


# ---------------------------------------------------------------------------- upstream failures


def test_upstream_500_after_retries_is_a_502_without_upstream_details(tenant, fake):
    tenant.openai_route(fake)
    fake.set_default_fault(Fault(status=500, headers=FAST_RETRY, body=LEAKY_BODY))
    with pytest.raises(openai.InternalServerError) as caught:
        tenant.openai().chat.completions.create(model="gpt", messages=user("hi"))
    error = caught.value
    assert error.status_code == 502
    assert error.code == "upstream_error"
    assert error.response.headers["x-should-retry"] == "false"
    _assert_clean(error.response)
    assert len(fake.requests) == 4  # GATEWAY_MAX_ATTEMPTS


def test_upstream_503_is_a_503(tenant, fake):
    tenant.openai_route(fake)
    fake.set_default_fault(Fault(status=503, headers=FAST_RETRY, body=LEAKY_BODY))
    with pytest.raises(openai.InternalServerError) as caught:
        tenant.openai().embeddings.create(model="gpt", input="hi")
    assert caught.value.status_code == 503
    assert caught.value.code == "upstream_overloaded"
    assert caught.value.response.headers["x-should-retry"] == "false"
    _assert_clean(caught.value.response)


def test_upstream_slower_than_first_byte_timeout_is_a_504(tenant, fake):
    tenant.openai_route(fake, first_byte_timeout_s=0.2)
    fake.set_default_fault(Fault(delay_headers=3))
    with pytest.raises(openai.InternalServerError) as caught:
        tenant.openai().chat.completions.create(model="gpt", messages=user("hi"))
    assert caught.value.status_code == 504
    assert caught.value.code == "upstream_timeout"


def test_stream_opening_failure_is_a_plain_json_error(tenant, fake):
    tenant.openai_route(fake)
    fake.set_default_fault(Fault(status=500, headers=FAST_RETRY, body=LEAKY_BODY))
    with pytest.raises(openai.InternalServerError) as caught:
        tenant.openai().chat.completions.create(model="gpt", messages=user("hi"), stream=True)
    assert caught.value.status_code == 502
    assert caught.value.response.headers["content-type"] == "application/json"
    _assert_clean(caught.value.response)


def test_upstream_client_error_is_a_400_without_retries(tenant, fake):
    tenant.openai_route(fake)
    fake.set_default_fault(Fault(status=400, body=LEAKY_BODY))
    with pytest.raises(openai.BadRequestError) as caught:
        tenant.openai().chat.completions.create(model="gpt", messages=user("hi"))
    assert caught.value.code == "upstream_bad_request"
    _assert_clean(caught.value.response)
    assert len(fake.requests) == 1


def test_upstream_failure_on_messages_is_anthropic_shaped(tenant, fake):
    tenant.anthropic_route(fake)
    fake.set_default_fault(Fault(status=500, headers=FAST_RETRY, body=LEAKY_BODY))
    with pytest.raises(anthropic.InternalServerError) as caught:
        tenant.anthropic().messages.create(model="claude", max_tokens=10, messages=user("hi"))
    assert caught.value.status_code == 502
    body = caught.value.body
    assert body["type"] == "error"
    assert body["error"]["type"] == "api_error"
    assert body["error"]["code"] == "upstream_error"
    _assert_clean(caught.value.response)


def test_upstream_rejecting_the_provider_key_is_a_502_not_a_401(tenant, fake):
    provider = tenant.provider("openai", fake.openai_base, "sk-wrong-provider-key")
    tenant.route("gpt", provider)
    with pytest.raises(openai.InternalServerError) as caught:
        tenant.openai().chat.completions.create(model="gpt", messages=user("hi"))
    assert caught.value.status_code == 502
    _assert_clean(caught.value.response)


# ---------------------------------------------------------------------------- smuggled overrides


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"api_base": "http://169.254.169.254/v1"}, "api_base"),
        ({"base_url": "http://127.0.0.1:1/v1"}, "base_url"),
        ({"api_key": "sk-attacker"}, "api_key"),
        ({"metadata": {"api_key": "sk-attacker"}}, "metadata.api_key"),
        ({"extra_body": {"base_url": "http://evil.example"}}, "extra_body.base_url"),
        ({"messages": [{"role": "user", "content": "hi", "api_base": "x"}]}, "messages[0].api_base"),
    ],
)  # fmt: skip
def test_smuggled_upstream_overrides_are_refused_before_any_upstream_call(
    extra, param, tenant: Tenant, fake: FakeProvider
):
    tenant.openai_route(fake)
    connections = fake.connections_accepted
    with pytest.raises(openai.BadRequestError) as caught:
        tenant.openai().chat.completions.create(model="gpt", messages=user("hi"), extra_body=extra)
    assert caught.value.param == param
    assert caught.value.code == "forbidden_parameter"
    assert fake.requests == []
    assert fake.connections_accepted == connections


def test_smuggled_override_on_messages_and_embeddings_is_refused(tenant, fake):
    tenant.anthropic_route(fake)
    tenant.openai_route(fake)
    connections = fake.connections_accepted
    with pytest.raises(anthropic.BadRequestError) as caught:
        tenant.anthropic().messages.create(
            model="claude",
            max_tokens=10,
            messages=user("hi"),
            metadata={"user_id": "u", "api_base": "http://evil.example"},  # type: ignore[typeddict-unknown-key]
        )
    assert caught.value.body["error"]["param"] == "metadata.api_base"
    with pytest.raises(openai.BadRequestError) as caught_openai:
        tenant.openai().embeddings.create(
            model="gpt", input="hi", extra_body={"api_key": "sk-attacker"}
        )
    assert caught_openai.value.param == "api_key"
    assert fake.requests == []
    assert fake.connections_accepted == connections


def test_a_tool_schema_property_named_api_key_is_allowed(tenant, fake):
    tenant.openai_route(fake)
    tool = {
        "type": "function",
        "function": {
            "name": "login",
            "parameters": {
                "type": "object",
                "properties": {"api_key": {"type": "string"}, "base_url": {"type": "string"}},
            },
        },
    }
    reply = tenant.openai().chat.completions.create(
        model="gpt", messages=user("hello there"), tools=[tool]
    )
    assert reply.choices[0].message.content == "echo: hello there"
    (sent,) = fake.requests
    assert sent.json["tools"] == [tool]
