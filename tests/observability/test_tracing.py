"""OpenTelemetry: one span per /v1 request with GenAI attributes; no SDK at all when off."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from gateway_project import tracing
from proxy.asgi import ProxyApp
from proxy.finalize import finalize
from proxy.state import GatewayState
from tests.observability.outcomes import PROVIDER_SECRET, bare, served
from tests.server import ROOT


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    tracing.configure(exporter, batch=False)
    yield exporter
    tracing.shutdown()


def test_a_span_carries_the_genai_and_gateway_attributes(spans):
    outcome = served()
    tracing.record(outcome, 0.125)
    [span] = spans.get_finished_spans()
    attrs = dict(span.attributes)
    assert span.name == "chat gpt-test" and span.kind is SpanKind.SERVER
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.system"] == "openai"
    assert attrs["gen_ai.request.model"] == "gpt-test"
    assert attrs["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"
    assert attrs["gen_ai.usage.input_tokens"] == 12
    assert attrs["gen_ai.usage.output_tokens"] == 30
    assert attrs["gen_ai.request.max_tokens"] == 100
    assert attrs["gateway.org"] == "acme" and attrs["gateway.team"] == "search"
    assert attrs["gateway.request_id"] == "req_test" and attrs["gateway.attempts"] == 2
    assert attrs["gateway.cost_usd"] == 0.125 and attrs["gateway.policy.action"] == "redact"
    assert attrs["http.response.status_code"] == 200
    # The span covers the request: it started about 250 ms before it was recorded.
    assert 0.2 < (span.end_time - span.start_time) / 1e9 < 5
    assert span.status.status_code is StatusCode.UNSET
    assert PROVIDER_SECRET not in str(attrs) and "PROMPT-CANARY" not in str(attrs)


def test_embeddings_and_failed_requests_are_named_and_marked(spans):
    tracing.record(served("/v1/embeddings", model="emb"), 0.0)
    tracing.record(bare("/v1/chat/completions", 502, "upstream_unavailable"), 0.0)
    embedding, failed = spans.get_finished_spans()
    assert embedding.attributes["gen_ai.operation.name"] == "embeddings"
    assert embedding.name == "embeddings emb"
    assert failed.attributes["error.type"] == "upstream_unavailable"
    assert failed.status.status_code is StatusCode.ERROR


async def test_finalize_exports_the_span_for_an_unauthenticated_request(spans):
    await finalize(bare("/v1/chat/completions", 401, "invalid_api_key"))
    [span] = spans.get_finished_spans()
    assert span.attributes["error.type"] == "invalid_api_key"
    assert "gateway.org" not in span.attributes


@pytest.mark.django_db(transaction=True)
async def test_a_real_request_through_the_pipeline_produces_one_span(world, spans):
    state = GatewayState()
    app = ProxyApp(state)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        response = await client.post(
            "/v1/chat/completions",
            json={"model": "demo", "messages": [{"role": "user", "content": "hello there"}]},
            headers={"Authorization": f"Bearer {world.acme_key_plain}"},
        )
    await state.aclose()  # accounting runs after the response: wait for it, as shutdown does
    # The pipeline's database work ran in asgiref's sync thread: hand its connection back.
    await sync_to_async(connections.close_all)()
    assert response.status_code == 200
    [span] = spans.get_finished_spans()
    attrs = span.attributes
    assert attrs["gateway.request_id"] == response.headers["x-request-id"]
    assert attrs["gen_ai.system"] == "mock" and attrs["gen_ai.request.model"] == "demo"
    assert attrs["gen_ai.response.model"] == "mock-echo"
    usage = response.json()["usage"]
    assert attrs["gen_ai.usage.input_tokens"] == usage["prompt_tokens"]
    assert attrs["gen_ai.usage.output_tokens"] == usage["completion_tokens"]
    assert "hello there" not in str(dict(attrs))


def test_without_an_otlp_endpoint_the_sdk_is_never_imported():
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    code = (
        "import sys; import gateway_project.asgi as a; from gateway_project import tracing;"
        "print(tracing.configure(), 'opentelemetry.sdk' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["False", "False"]
