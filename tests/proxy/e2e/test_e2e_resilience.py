"""Retries, fallbacks, the circuit breaker, timeouts, cut streams and client disconnects."""

from __future__ import annotations

import time
from collections.abc import Iterator

import anthropic
import httpx
import openai
import pytest

from tests.fakes import FakeProvider, Fault
from tests.proxy.e2e.support import OPENAI_KEY, Tenant, user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

COOLDOWN_S = 1.0
GATEWAY_ENV = {"GATEWAY_BREAKER_FAILURES": "2", "GATEWAY_BREAKER_COOLDOWN_S": str(COOLDOWN_S)}
ECHO = "echo: hello there"
FAIL_FAST = Fault(status=500, headers={"retry-after-ms": "1"})
# Chunks spaced out so the gateway has relayed the first ones before the connection drops
# (aiohttp discards unread buffered bytes once it sees the broken connection).
CUT = Fault(cut_after_chunks=3, delay_chunks=0.05)


def _ask(tenant: Tenant, model: str = "gpt") -> str | None:
    reply = tenant.openai().chat.completions.create(model=model, messages=user("hello there"))
    return reply.choices[0].message.content


def _two_upstreams(tenant: Tenant, first: FakeProvider, second: FakeProvider) -> None:
    """Route `gpt`: `first` (priority 0), then `second` (priority 1) as the fallback."""
    route = tenant.openai_route(first, "gpt", priority=0)
    tenant.deploy(route, tenant.provider("openai", second.openai_base, OPENAI_KEY), priority=1)


# ---------------------------------------------------------------------------- retries


@pytest.mark.parametrize(
    ("status", "headers", "wait_s"),
    [(429, {"retry-after": "0.3"}, 0.3), (503, {"retry-after-ms": "300"}, 0.3)],
)
def test_retry_honours_retry_after_and_a_later_attempt_succeeds(
    status, headers, wait_s, tenant, fake
):
    tenant.openai_route(fake)
    fake.enqueue(Fault(status=status, headers=headers))
    assert _ask(tenant) == ECHO
    first, second = fake.requests
    assert second.time - first.time >= wait_s * 0.9


def test_stream_is_retried_while_nothing_was_sent_yet(tenant, fake):
    tenant.openai_route(fake)
    fake.enqueue(FAIL_FAST)
    stream = tenant.openai().chat.completions.create(
        model="gpt", messages=user("hello there"), stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == ECHO
    assert len(fake.requests) == 2


# ---------------------------------------------------------------------------- fallbacks


def test_fallback_to_the_next_deployment_when_the_first_keeps_failing(tenant, fake, fake2):
    _two_upstreams(tenant, fake, fake2)
    fake.set_default_fault(FAIL_FAST)
    assert _ask(tenant) == ECHO
    assert len(fake.requests) == 2  # retried once, then the fallback
    assert len(fake2.requests) == 1


def test_fallback_when_the_first_upstream_rejects_its_key(tenant, fake, fake2):
    route = tenant.route("gpt", tenant.provider("openai", fake.openai_base, "sk-wrong"))
    tenant.deploy(route, tenant.provider("openai", fake2.openai_base, OPENAI_KEY), priority=1)
    stream = tenant.openai().chat.completions.create(
        model="gpt", messages=user("hello there"), stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == ECHO
    assert (len(fake.requests), len(fake2.requests)) == (1, 1)


# ---------------------------------------------------------------------------- circuit breaker


def test_open_circuit_skips_the_deployment_then_a_probe_closes_it(tenant, fake, fake2):
    _two_upstreams(tenant, fake, fake2)
    fake.set_default_fault(FAIL_FAST)
    assert _ask(tenant) == ECHO  # two failures open the circuit
    assert len(fake.requests) == 2

    connections = fake.connections_accepted
    opened_at = time.monotonic()
    assert _ask(tenant) == ECHO
    assert len(fake.requests) == 2  # skipped without a request ...
    assert fake.connections_accepted == connections  # ... or a connection
    assert len(fake2.requests) == 2

    fake.set_default_fault(None)  # the upstream recovers
    time.sleep(max(0.0, COOLDOWN_S + 0.1 - (time.monotonic() - opened_at)))
    assert _ask(tenant) == ECHO
    assert len(fake.requests) == 3  # the half-open probe went to the recovered upstream
    assert _ask(tenant) == ECHO
    assert len(fake.requests) == 4  # closed again: the primary serves
    assert len(fake2.requests) == 2


def test_failed_probe_opens_the_circuit_again(tenant, fake, fake2):
    _two_upstreams(tenant, fake, fake2)
    fake.set_default_fault(FAIL_FAST)
    _ask(tenant)
    time.sleep(COOLDOWN_S + 0.1)
    assert _ask(tenant) == ECHO
    assert len(fake.requests) == 3  # one probe, no retry on a failed probe
    assert _ask(tenant) == ECHO
    assert len(fake.requests) == 3  # open again


def test_probe_answered_with_a_client_error_does_not_wedge_the_circuit(tenant, fake, fake2):
    _two_upstreams(tenant, fake, fake2)
    fake.set_default_fault(FAIL_FAST)
    _ask(tenant)
    time.sleep(COOLDOWN_S + 0.1)
    fake.set_default_fault(Fault(status=400))
    with pytest.raises(openai.BadRequestError):
        _ask(tenant)  # the probe reached a live upstream that refused this request
    fake.set_default_fault(None)
    probes = len(fake.requests)
    assert _ask(tenant) == ECHO
    assert len(fake.requests) == probes + 1, "the deployment is never tried again"


# ---------------------------------------------------------------------------- timeouts


def test_stream_that_never_starts_is_a_504(tenant, fake):
    tenant.openai_route(fake, first_byte_timeout_s=0.2)
    fake.set_default_fault(Fault(delay_headers=3))
    with pytest.raises(openai.InternalServerError) as caught:
        tenant.openai().chat.completions.create(model="gpt", messages=user("hi"), stream=True)
    assert caught.value.status_code == 504


def test_stalled_stream_ends_with_an_error_event(tenant, fake):
    tenant.openai_route(fake, stream_idle_timeout_s=0.3)
    fake.enqueue(Fault(delay_chunks=2.0))
    stream = tenant.openai().chat.completions.create(
        model="gpt", messages=user("hello there"), stream=True
    )
    received = []
    with pytest.raises(openai.APIError) as caught:
        received.extend(stream)
    assert received  # the first chunk came before the stall
    assert caught.value.body["code"] == "upstream_stream_error"
    assert len(fake.requests) == 1


# ---------------------------------------------------------------------------- cut streams


def test_stream_cut_mid_way_ends_with_an_error_event_and_no_retry(tenant, fake):
    tenant.openai_route(fake)
    fake.enqueue(CUT)
    stream = tenant.openai().chat.completions.create(
        model="gpt", messages=user("hello there"), stream=True
    )
    text = []
    with pytest.raises(openai.APIError) as caught:
        for chunk in stream:
            text.append(chunk.choices[0].delta.content or "")
    assert "incomplete" in caught.value.message
    received = "".join(text)  # bytes reached the client, so no retry was possible
    assert received.startswith("echo:") and ECHO.startswith(received)
    assert len(fake.requests) == 1


def test_cut_stream_wire_format_is_an_error_event_without_done(tenant, fake):
    tenant.openai_route(fake)
    fake.enqueue(Fault(cut_after_chunks=2))
    response = httpx.post(
        f"{tenant.gateway_url}/v1/chat/completions",
        json={"model": "gpt", "messages": user("hello there"), "stream": True},
        headers=tenant.auth,
    )
    assert response.status_code == 200
    events = [e for e in response.text.split("\n\n") if e]
    assert events[-1].startswith('data: {"error":')
    assert "upstream_stream_error" in events[-1]
    assert "[DONE]" not in response.text


def test_provider_error_event_mid_stream_is_relayed_as_an_error(tenant, fake):
    tenant.openai_route(fake)
    fake.enqueue(Fault(error_after_chunks=2))
    stream = tenant.openai().chat.completions.create(
        model="gpt", messages=user("hello there"), stream=True
    )
    with pytest.raises(openai.APIError):
        list(stream)
    assert len(fake.requests) == 1


@pytest.mark.parametrize("upstream", ["anthropic", "openai"])
def test_cut_messages_stream_makes_the_anthropic_sdk_raise(upstream, tenant, fake):
    if upstream == "anthropic":
        tenant.anthropic_route(fake, "m")
    else:
        tenant.openai_route(fake, "m")
    fake.enqueue(CUT)
    with (
        pytest.raises(anthropic.APIError) as caught,
        tenant.anthropic().messages.stream(
            model="m", max_tokens=50, messages=user("hello there")
        ) as stream,
    ):
        for _ in stream.text_stream:
            pass
    assert "incomplete" in str(caught.value)
    assert len(fake.requests) == 1


def test_cut_anthropic_stream_translated_for_the_openai_sdk_raises(tenant, fake):
    tenant.anthropic_route(fake)
    fake.enqueue(CUT)
    stream = tenant.openai().chat.completions.create(
        model="claude", messages=user("hello there"), stream=True
    )
    with pytest.raises(openai.APIError):
        list(stream)
    assert len(fake.requests) == 1


# ---------------------------------------------------------------------------- client disconnect


@pytest.fixture
def many_chunks(fake: FakeProvider) -> Iterator[None]:
    before = fake.chunks
    fake.chunks = 20
    yield
    fake.chunks = before


@pytest.mark.usefixtures("many_chunks")
@pytest.mark.parametrize("endpoint", ["chat", "messages"])
def test_client_disconnect_cancels_the_upstream_request(endpoint, tenant, fake):
    tenant.openai_route(fake)
    fake.set_default_fault(Fault(delay_chunks=0.5))
    text = "hello there " * 10
    if endpoint == "chat":
        stream = tenant.openai().chat.completions.create(
            model="gpt", messages=user(text), stream=True
        )
        next(iter(stream))
    else:
        stream = tenant.anthropic().messages.create(
            model="gpt", max_tokens=500, messages=user(text), stream=True
        )
        next(iter(stream))
    stream.close()
    closed_at = time.monotonic()
    (disconnect,) = fake.wait_for(lambda: fake.disconnects, timeout=5)
    assert disconnect.path == "/v1/chat/completions"
    assert disconnect.time - closed_at < 1.0
