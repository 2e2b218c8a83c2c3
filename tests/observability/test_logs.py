"""Structured logs: the access line's fields, and secrets scrubbed from every event."""

from __future__ import annotations

import io
import logging
import time

import orjson
import pytest
import structlog

from gateway_project import logs
from tests.observability.outcomes import PROVIDER_SECRET, served

GATEWAY_KEY = "sgw-" + "Q" * 43
PERSONAL_TOKEN = "sgwp-" + "T" * 43
ANTHROPIC_KEY = "sk-ant-api03-" + "a1B2" * 10


@pytest.fixture
def captured(monkeypatch):
    """The access log and the root logger (configured formatter) write to one buffer."""
    buffer = io.StringIO()
    monkeypatch.setattr(logs, "_access", logs.access_logger("json", True, buffer))
    config = logs.logging_config("json", "INFO")["formatters"]["structured"]
    factory = config.pop("()")
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(factory(**config))
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    root.handlers, root.level = [handler], logging.INFO
    yield lambda: [orjson.loads(line) for line in buffer.getvalue().splitlines()]
    root.handlers, root.level = saved


def test_the_access_line_names_the_request_but_holds_no_key_secret_or_prompt(captured):
    logs.access(served(), 0.125)
    [line] = captured()
    assert line["event"] == "request" and line["logger"] == "gateway.access"
    assert line["request_id"] == "req_test" and line["route"] == "/v1/chat/completions"
    assert (line["org"], line["team"], line["key_prefix"]) == ("acme", "search", "sgw-AbCdEfGh")
    assert (line["model"], line["upstream_model"]) == ("gpt-test", "gpt-4o-mini-2024-07-18")
    assert (line["status"], line["error_code"]) == (200, None)
    assert (line["prompt_tokens"], line["completion_tokens"], line["cost_usd"]) == (12, 30, 0.125)
    assert line["latency_ms"] >= 250 and 0 < line["overhead_ms"] < line["latency_ms"]
    assert line["attempts"] == 2 and line["policy"] == "redact"
    text = orjson.dumps(line).decode()
    assert PROVIDER_SECRET not in text and "PROMPT-CANARY" not in text


def test_secrets_are_scrubbed_from_messages_extras_and_tracebacks_of_any_logger(captured):
    log = logging.getLogger("some.library")
    log.warning("calling with %s", f"Authorization: Bearer {GATEWAY_KEY}")
    log.info("config", extra={"headers": {"x-api-key": "plain-value"}, "key": ANTHROPIC_KEY})
    try:
        raise ValueError(f"upstream refused {PROVIDER_SECRET}")
    except ValueError:
        log.exception("failed")
    structlog.get_logger("gateway.test").info("token", value=PERSONAL_TOKEN, token="x")
    logs._access.info("direct", note=f"Bearer {GATEWAY_KEY}")
    text = "\n".join(orjson.dumps(line).decode() for line in captured())
    for secret in (GATEWAY_KEY, PERSONAL_TOKEN, ANTHROPIC_KEY, PROVIDER_SECRET, "plain-value"):
        assert secret not in text
    assert text.count(logs.REDACTED) >= 7
    assert "upstream refused" in text and "Traceback" in text  # the rest of the event survives


def test_the_display_prefix_of_a_key_is_not_mistaken_for_a_secret():
    event = logs.scrub_secrets(None, "info", {"key_prefix": "sgw-AbCdEfGh", "n": 3})
    assert event == {"key_prefix": "sgw-AbCdEfGh", "n": 3}


def test_console_format_renders_without_json():
    config = logs.logging_config("console", "INFO")["formatters"]["structured"]
    factory = config.pop("()")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "key %s", (GATEWAY_KEY,), None)
    text = factory(**config).format(record)
    assert "key [REDACTED]" in text and not text.startswith("{")


def test_the_access_line_costs_tens_of_microseconds():
    logs_to_nowhere = logs.access_logger("json", True, io.StringIO())
    outcome = served()
    n = 2000
    best = float("inf")
    for _ in range(3):
        logs._access, saved = logs_to_nowhere, logs._access
        try:
            started = time.perf_counter()
            for _ in range(n):
                logs.access(outcome, 0.01)
            best = min(best, (time.perf_counter() - started) / n * 1e6)
        finally:
            logs._access = saved
    print(f"\naccess log line: {best:.1f} us per request")
    assert best < 300  # generous for slow CI machines; typically ~15 us


def test_the_access_log_can_be_switched_off():
    buffer = io.StringIO()
    logs.access_logger("json", False, buffer).info("request", status=200)
    logs.access_logger("json", False, buffer).error("request", status=502)
    assert buffer.getvalue() == ""
