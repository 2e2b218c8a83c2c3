"""Prometheus metrics for /v1, summed across uvicorn's worker processes (multiprocess mode).

Every process writes its samples to memory-mapped files in one directory per server
(PROMETHEUS_MULTIPROC_DIR); /metrics, whichever process serves it, reads all of them. When the
variable is unset the directory is chosen here, before prometheus_client is imported (it reads
the variable at import): var/metrics/<pid>-<start time> of uvicorn's supervisor process for its
workers, of this process otherwise. See docs/observability.md.

The hot path is `observe()`: labelled children are cached in dicts keyed by plain tuples, so a
request costs dict lookups and a few mmap writes, never a registry lookup or label formatting.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

ENV = "PROMETHEUS_MULTIPROC_DIR"
# Names the server whose processes chose the directory; a server started from such a process
# (tests start gateways from pytest) must not inherit that directory.
OWNER_ENV = "GATEWAY_METRICS_DIR_OWNER"
BASE_DIR = Path(__file__).resolve().parent.parent / "var" / "metrics"
_AUTO_NAME = re.compile(r"^(\d+)(?:-\d+)?$")

log = logging.getLogger(__name__)


def process_tag(pid: int) -> str:
    """`pid-starttime` on Linux (a reused pid never resurrects an old directory), else `pid`."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return str(pid)
    # Field 22 (start time in clock ticks); fields after the command name start at field 3.
    return f"{pid}-{stat.rsplit(')', 1)[1].split()[19]}"


def server_pid() -> int:
    """The process owning this server: uvicorn's supervisor for its workers, else this one."""
    parent = multiprocessing.parent_process()
    return parent.pid if parent is not None and parent.pid is not None else os.getpid()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale(base: Path) -> None:
    """Delete directories of servers that are gone; only names this module generates."""
    try:
        entries = list(base.iterdir())
    except OSError:
        return
    for entry in entries:
        match = _AUTO_NAME.match(entry.name)
        if match is None or not entry.is_dir():
            continue
        pid = int(match.group(1))
        if not _alive(pid) or process_tag(pid) != entry.name:
            shutil.rmtree(entry, ignore_errors=True)


def choose_directory() -> str:
    """The directory this server's processes share; created (and exported) if not configured."""
    configured = os.environ.get(ENV)
    owner = process_tag(server_pid())
    if configured and os.environ.get(OWNER_ENV) in (None, owner):
        Path(configured).mkdir(parents=True, exist_ok=True)
        return configured
    for base in (BASE_DIR, Path(tempfile.gettempdir()) / "secure-gpt-gateway-metrics"):
        try:
            base.mkdir(parents=True, exist_ok=True)
            _remove_stale(base)
            path = base / owner
            path.mkdir(exist_ok=True)
        except OSError:
            continue  # read-only checkout (containers): fall back to the temp directory
        os.environ[ENV] = str(path)
        os.environ[OWNER_ENV] = owner
        return str(path)
    raise RuntimeError("no writable directory for Prometheus multiprocess metrics")


DIRECTORY = choose_directory()

from prometheus_client import (  # noqa: E402  (the variable must be set before this import)
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4  # noqa: E402
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead  # noqa: E402

if TYPE_CHECKING:
    from proxy.outcome import Outcome

if values.ValueClass is values.MutexValue:
    # Something imported prometheus_client before the directory was set: switch our metrics
    # (values are created per child, from this module attribute) to the multiprocess kind.
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
M = TypeVar("M", Counter, Histogram)
# Beyond this many label combinations per metric, new ones share one "overflow" series: a bug
# or hostile input must not grow the exposition (and every process's files) without bound.
MAX_SERIES = 2000
MAX_MODELS = 500
OVERFLOW = "overflow"
LIMIT_CODES = frozenset({"rate_limit_exceeded", "concurrency_limit_exceeded", "budget_exceeded"})
AUTH_CODES = frozenset({"invalid_api_key", "too_many_auth_failures"})
# Errors raised only after the route was resolved: the requested model is a real route name.
_ROUTED_CODES = frozenset({"policy_violation", "budget_exceeded"})

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
_OVERHEAD_BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1)
_TEAM = ["org", "team"]


class _Children(Generic[M]):
    """Labelled children of one metric, created once per label tuple and cached."""

    __slots__ = ("_metric", "_cache", "_overflow")

    def __init__(self, metric: M) -> None:
        self._metric: M = metric
        self._cache: dict[tuple[object, ...], M] = {}
        self._overflow: M | None = None

    def __call__(self, key: tuple[object, ...]) -> M:
        child = self._cache.get(key)
        return child if child is not None else self._add(key)

    def _add(self, key: tuple[object, ...]) -> M:
        if len(self._cache) >= MAX_SERIES:
            if self._overflow is None:
                log.warning("metric %s exceeded %d series", self._metric._name, MAX_SERIES)
                overflow: M = self._metric.labels(*(OVERFLOW for _ in key))
                self._overflow = overflow
            return self._overflow
        child: M = self._metric.labels(*(str(part) for part in key))
        self._cache[key] = child
        return child


def _counter(name: str, doc: str, labels: list[str]) -> _Children[Counter]:
    return _Children(Counter(name, doc, labels, registry=None))


def _histogram(
    name: str, doc: str, labels: list[str], buckets: tuple[float, ...]
) -> _Children[Histogram]:
    return _Children(Histogram(name, doc, labels, buckets=buckets, registry=None))


REQUESTS = _counter(
    "gateway_requests", "Finished /v1 requests.", ["route", "status", "model", *_TEAM]
)
ERRORS = _counter("gateway_request_errors", "/v1 requests that failed, by code.", ["route", "code"])
DURATION = _histogram(
    "gateway_request_duration_seconds",
    "Whole /v1 request time, to the last byte sent.",
    ["route"],
    _LATENCY_BUCKETS,
)
OVERHEAD = _histogram(
    "gateway_overhead_seconds",
    "Time spent in the gateway itself (upstream time excluded); complete responses only.",
    ["route"],
    _OVERHEAD_BUCKETS,
)
UPSTREAM = _histogram(
    "gateway_upstream_duration_seconds",
    "Time in the provider call (retries and fallbacks included; streams: until opened).",
    ["provider", "model"],
    _LATENCY_BUCKETS,
)
UPSTREAM_ERRORS = _counter(
    "gateway_upstream_errors", "Failed upstream attempts.", ["provider", "kind"]
)
TOKENS = _counter("gateway_tokens", "Tokens used.", ["type", "model", *_TEAM])
COST = _counter("gateway_cost_usd", "Cost of the requests in USD.", ["model", *_TEAM])
DECISIONS = _counter("gateway_policy_decisions", "Policy decisions.", ["stage", "action"])
RULES = _counter(
    "gateway_policy_rule_matches", "Requests a policy rule matched.", ["stage", "rule"]
)
REJECTIONS = _counter(
    "gateway_limit_rejections", "Requests refused by a rate limit or budget.", ["reason", *_TEAM]
)
AUTH_FAILURES = _counter("gateway_auth_failures", "Failed /v1 authentications.", ["reason"])
WORKERS = Gauge(
    "gateway_worker_processes",
    "Live gateway processes sharing this metrics directory.",
    multiprocess_mode="livesum",
    registry=None,
)

_known_models: set[str] = set()


def _model_label(outcome: Outcome) -> str:
    """The requested model only once it is known to be a route: clients choose the string."""
    model = outcome.model
    if not model or model in _known_models:
        return model
    routed = (
        outcome.attempts
        or outcome.decision is not None
        or outcome.reserved is not None
        or outcome.error_code in _ROUTED_CODES
    )
    if not routed:
        return "unknown"
    if len(_known_models) >= MAX_MODELS:
        return OVERFLOW
    _known_models.add(model)
    return model


def observe(outcome: Outcome, cost: float = 0.0) -> None:
    """Count one finished /v1 request (called once per request, from finalize)."""
    ctx = outcome.ctx
    org, team = (ctx.org_slug, ctx.team_slug) if ctx is not None else ("", "")
    route = outcome.route
    model = _model_label(outcome)
    code = outcome.error_code
    REQUESTS((route, outcome.status or 200, model, org, team)).inc()
    latency_s = outcome.latency_ms / 1000
    DURATION((route,)).observe(latency_s)
    if not outcome.stream:
        # A stream's relay time is the upstream's: only complete responses isolate overhead.
        OVERHEAD((route,)).observe(max(0.0, latency_s - outcome.upstream_s))
    if outcome.attempts:
        dep = outcome.deployment
        provider = dep.provider_name if dep is not None else outcome.attempts[-1].provider
        UPSTREAM((provider, model)).observe(outcome.upstream_s)
        for attempt in outcome.attempts:
            if attempt.outcome != "ok":
                UPSTREAM_ERRORS((attempt.provider, attempt.outcome)).inc()
    usage = outcome.usage
    if usage is not None:
        if usage.prompt_tokens:
            TOKENS(("prompt", model, org, team)).inc(usage.prompt_tokens)
        if usage.completion_tokens:
            TOKENS(("completion", model, org, team)).inc(usage.completion_tokens)
    if cost:
        COST((model, org, team)).inc(cost)
    for stage, decision in (("input", outcome.decision), ("output", outcome.output_decision)):
        if decision is not None:
            DECISIONS((stage, decision.action)).inc()
            for rule in {finding.rule_id for finding in decision.findings}:
                RULES((stage, rule)).inc()
    if code:
        ERRORS((route, code)).inc()
        if code in LIMIT_CODES:
            REJECTIONS((code, org, team)).inc()
        elif code in AUTH_CODES:
            AUTH_FAILURES((code,)).inc()


def startup() -> None:
    """Per process at start: count this process as live, forget live gauges of dead ones."""
    for path in Path(DIRECTORY).glob("gauge_live*_*.db"):
        pid = path.stem.rsplit("_", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            mark_process_dead(int(pid), DIRECTORY)  # type: ignore[no-untyped-call]
    WORKERS.set(1)


def render() -> bytes:
    """The exposition of every process of this server (reads all their files; run off-loop)."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=DIRECTORY)  # type: ignore[no-untyped-call]
    return generate_latest(registry)
