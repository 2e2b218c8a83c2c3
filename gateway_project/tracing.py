"""OpenTelemetry spans for /v1 requests, built after the response from what the Outcome recorded.

Off unless OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set: then the
SDK is never imported and `record()` is one global check. When on, the span is created with the
request's start and end times at finalize, so the request path itself is untouched. Attributes
follow the OpenTelemetry GenAI semantic conventions plus `gateway.*` ones; never prompt text.
"""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from proxy.outcome import Outcome

log = logging.getLogger(__name__)

SERVICE_NAME = "secure-gpt-gateway"
OPERATIONS = {
    "/v1/chat/completions": "chat",
    "/v1/messages": "chat",
    "/v1/embeddings": "embeddings",
}
# Provider kinds whose well-known gen_ai.system value differs from the kind's name.
SYSTEMS = {"azure_openai": "az.ai.openai", "openai_compatible": "openai"}

_tracer: Any = None
_provider: Any = None


def enabled() -> bool:
    return _tracer is not None


def configure(exporter: Any = None, *, batch: bool = True) -> bool:
    """Install a tracer: OTLP/HTTP from the environment, or the exporter given (tests)."""
    global _tracer, _provider
    if exporter is None:
        if not (
            os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
            or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        ):
            return False
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError:
            log.warning(
                "OTEL_EXPORTER_OTLP_ENDPOINT is set but opentelemetry-exporter-otlp-proto-http "
                "is not installed: tracing stays off"
            )
            return False
        exporter = OTLPSpanExporter()  # endpoint, headers and timeout from OTEL_* variables
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    shutdown()
    name = os.environ.get("OTEL_SERVICE_NAME") or SERVICE_NAME
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    # Batching exports from a background thread: the event loop never waits on the collector.
    processor = BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter)
    provider.add_span_processor(processor)
    _provider = provider
    _tracer = provider.get_tracer("secure_gpt_gateway")
    return True


def shutdown() -> None:
    """Flush and stop the exporter (process shutdown, tests)."""
    global _tracer, _provider
    if _provider is not None:
        _provider.shutdown()
    _tracer = _provider = None


def record(outcome: Outcome, cost: float) -> None:
    """Export one span for a finished /v1 request, if tracing is on."""
    if _tracer is not None:
        _span(outcome, cost)


def _span(outcome: Outcome, cost: float) -> None:
    from opentelemetry.trace import SpanKind, Status, StatusCode

    end = time.time_ns()
    start = end - int(outcome.latency_ms * 1_000_000)
    status = outcome.status or 200
    operation = OPERATIONS.get(outcome.route)
    attributes: dict[str, Any] = {
        "http.route": outcome.route,
        "http.response.status_code": status,
        "gateway.request_id": outcome.request_id,
        "gateway.stream": outcome.stream,
        "gateway.attempts": len(outcome.attempts),
        "gateway.overhead_ms": round(outcome.overhead_ms, 3),
        "gateway.upstream_ms": round(outcome.upstream_s * 1000, 3),
        "gateway.cost_usd": cost,
    }
    if operation is not None:
        attributes["gen_ai.operation.name"] = operation
    if outcome.model:
        attributes["gen_ai.request.model"] = outcome.model[:128]
    if outcome.max_output_tokens is not None:
        attributes["gen_ai.request.max_tokens"] = outcome.max_output_tokens
    dep = outcome.deployment
    if dep is not None:
        attributes["gen_ai.system"] = SYSTEMS.get(dep.kind, dep.kind)
        attributes["gen_ai.response.model"] = dep.upstream_model
        attributes["gateway.provider"] = dep.provider_name
    if outcome.usage is not None:
        attributes["gen_ai.usage.input_tokens"] = outcome.usage.prompt_tokens
        attributes["gen_ai.usage.output_tokens"] = outcome.usage.completion_tokens
    ctx = outcome.ctx
    if ctx is not None:
        attributes["gateway.org"] = ctx.org_slug
        attributes["gateway.team"] = ctx.team_slug
        attributes["gateway.key_prefix"] = ctx.key_prefix
    if outcome.decision is not None:
        attributes["gateway.policy.action"] = outcome.decision.action
    if outcome.error_code:
        attributes["error.type"] = outcome.error_code
    name = f"{operation} {outcome.model[:128]}" if operation and outcome.model else outcome.route
    span = _tracer.start_span(name, kind=SpanKind.SERVER, attributes=attributes, start_time=start)
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR, outcome.error_code or None))
    span.end(end_time=end)
