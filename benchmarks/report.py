"""Markdown tables for benchmark rows, with ratios to LiteLLM and to the mock directly."""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.loadgen import LoadResult


@dataclass
class Row:
    target: str  # direct | gateway | litellm
    workers: int
    mode: str  # chat | stream
    concurrency: int
    result: LoadResult
    cpu_ms: float  # server process tree CPU per request served
    backing_ms: float  # PostgreSQL + Redis CPU per request served
    peak_rss_mb: float = 0.0  # highest VmHWM among the server's workers
    other_cores: float = 0.0  # CPU used meanwhile by processes outside the benchmark


def progress(row: Row) -> str:
    r = row.result
    ttft = f" ttft p50 {r.ttft_ms[0]:.2f} ms" if r.ttft_ms else ""
    return (
        f"{row.target:>8} w{row.workers} {row.mode:<6} c={row.concurrency:<3} "
        f"{r.rps:9.1f}/s p50 {r.p50_ms:7.2f} ms p99 {r.p99_ms:7.2f} ms{ttft} "
        f"cpu {row.cpu_ms:6.2f} ms/req errors {r.errors} other load {row.other_cores:.2f} cores"
    )


class Rows:
    def __init__(self, rows: list[Row]) -> None:
        self.rows = rows

    def get(self, target: str, workers: int, mode: str, concurrency: int) -> Row | None:
        for row in self.rows:
            key = (row.target, row.workers, row.mode, row.concurrency)
            if key == (target, workers, mode, concurrency):
                return row
        return None

    def direct(self, row: Row) -> Row | None:
        return self.get("direct", 1, row.mode, row.concurrency)

    def litellm(self, row: Row) -> Row | None:
        return self.get("litellm", row.workers, row.mode, row.concurrency)

    def of(self, mode: str) -> list[Row]:
        return [r for r in self.rows if r.mode == mode]


def _ratio(a: float, b: float | None) -> str:
    return f"{a / b:.1f}x" if b else "-"


def _delta(a: float, b: float | None) -> str:
    return f"{a - b:+.2f}" if b is not None else "-"


def _table(header: list[str], lines: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" for _ in header) + "|"]
    out += ["| " + " | ".join(line) + " |" for line in lines]
    out[1] = "|---" + out[1][5:]  # first column left-aligned
    return "\n".join(out)


def chat_table(rows: Rows) -> str:
    header = [
        "target", "workers", "conc.", "req/s", "p50 ms", "p95 ms", "p99 ms", "CPU ms/req",
        "pg+redis CPU ms/req", "peak RSS/worker MB", "errors", "req/s vs LiteLLM",
        "req/s % of direct", "added p50 / p99 ms vs direct", "other load (cores)",
    ]  # fmt: skip
    lines = []
    for row in rows.of("chat"):
        r, d, lite = row.result, rows.direct(row), rows.litellm(row)
        is_direct = row.target == "direct"
        lite_rps = lite.result.rps if lite and row.target == "gateway" else None
        lines.append([
            row.target, str(row.workers), str(row.concurrency), f"{r.rps:,.0f}",
            f"{r.p50_ms:.2f}", f"{r.p95_ms:.2f}", f"{r.p99_ms:.2f}", f"{row.cpu_ms:.2f}",
            f"{row.backing_ms:.2f}", f"{row.peak_rss_mb:.0f}", str(r.errors),
            _ratio(r.rps, lite_rps),
            "-" if is_direct or d is None else f"{100 * r.rps / d.result.rps:.1f}%",
            "-" if is_direct or d is None
            else f"{_delta(r.p50_ms, d.result.p50_ms)} / {_delta(r.p99_ms, d.result.p99_ms)}",
            f"{row.other_cores:.2f}",
        ])  # fmt: skip
    return _table(header, lines)


def stream_table(rows: Rows) -> str:
    header = [
        "target", "workers", "conc.", "streams/s", "TTFB p50 ms", "TTFT p50 ms", "TTFT p95 ms",
        "TTFT p99 ms", "stream p50 ms", "CPU ms/stream", "pg+redis CPU ms/stream", "errors",
        "added TTFT p50 / p99 ms vs direct", "TTFT p50 vs LiteLLM", "other load (cores)",
    ]  # fmt: skip
    lines = []
    for row in rows.of("stream"):
        r, d, lite = row.result, rows.direct(row), rows.litellm(row)
        assert r.ttfb_ms is not None and r.ttft_ms is not None
        d_ttft = d.result.ttft_ms if d and row.target != "direct" else None
        lite_ttft = lite.result.ttft_ms if lite and row.target == "gateway" else None
        lines.append([
            row.target, str(row.workers), str(row.concurrency), f"{r.rps:,.1f}",
            f"{r.ttfb_ms[0]:.2f}", f"{r.ttft_ms[0]:.2f}", f"{r.ttft_ms[1]:.2f}",
            f"{r.ttft_ms[2]:.2f}", f"{r.p50_ms:.2f}", f"{row.cpu_ms:.2f}", f"{row.backing_ms:.2f}",
            str(r.errors),
            f"{_delta(r.ttft_ms[0], d_ttft[0])} / {_delta(r.ttft_ms[2], d_ttft[2])}"
            if d_ttft else "-",
            f"{r.ttft_ms[0] / lite_ttft[0]:.2f}x" if lite_ttft and lite_ttft[0] else "-",
            f"{row.other_cores:.2f}",
        ])  # fmt: skip
    return _table(header, lines)


def _check(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "**not met**")


def targets_table(rows: Rows) -> str:
    lines: list[list[str]] = []

    def add(goal: str, measured: str, ok: bool | None) -> None:
        lines.append([goal, measured, _check(ok)])

    worker_counts = sorted({r.workers for r in rows.rows if r.target == "gateway"})
    for n in worker_counts:
        g, lite = rows.get("gateway", n, "chat", 16), rows.get("litellm", n, "chat", 16)
        if g and lite:
            ratio = g.result.rps / lite.result.rps if lite.result.rps else 0.0
            add(f"req/s at concurrency 16 >= 5x LiteLLM ({n} worker(s))",
                f"{ratio:.1f}x ({g.result.rps:,.0f} vs {lite.result.rps:,.0f})", ratio >= 5)  # fmt: skip
        if g:
            add(f"gateway CPU <= 2 ms per non-streaming request (c=16, {n} worker(s))",
                f"{g.cpu_ms:.2f} ms", g.cpu_ms <= 2)  # fmt: skip
    for n in worker_counts:
        g, d = rows.get("gateway", n, "chat", 1), rows.get("direct", 1, "chat", 1)
        if g and d:
            p50 = g.result.p50_ms - d.result.p50_ms
            p99 = g.result.p99_ms - d.result.p99_ms
            add(f"added latency at c=1: p50 <= 3 ms, p99 <= 10 ms ({n} worker(s))",
                f"p50 {p50:+.2f} ms, p99 {p99:+.2f} ms", p50 <= 3 and p99 <= 10)  # fmt: skip
        s, ds = rows.get("gateway", n, "stream", 1), rows.get("direct", 1, "stream", 1)
        if s and ds and s.result.ttft_ms and ds.result.ttft_ms:
            added = s.result.ttft_ms[0] - ds.result.ttft_ms[0]
            add(f"added TTFT p50 <= 3 ms (c=1, {n} worker(s))", f"{added:+.2f} ms", added <= 3)
    for c in (16, 64):
        one, two = rows.get("gateway", 1, "chat", c), rows.get("gateway", 2, "chat", c)
        if one and two:
            change = (two.cpu_ms - one.cpu_ms) / one.cpu_ms * 100
            add(f"CPU ms/req with 2 workers within 10% of 1 worker (c={c})",
                f"{two.cpu_ms:.2f} vs {one.cpu_ms:.2f} ms ({change:+.0f}%)", abs(change) <= 10)  # fmt: skip
    peaks = [r.peak_rss_mb for r in rows.rows if r.target == "gateway"]
    if peaks:
        add("RSS per worker <= 150 MB after the soak (`make bench-soak`)",
            f"peak during this run {max(peaks):.0f} MB", None)  # fmt: skip
    return _table(["target", "measured", "status"], lines)


def render(rows: list[Row], machine: str, plan: str) -> str:
    table = Rows(rows)
    return "\n\n".join([
        "# Benchmark: mock directly vs this gateway vs LiteLLM Proxy",
        machine + plan.rstrip(),
        "## Non-streaming chat completions\n\n" + chat_table(table),
        "## Streaming (time to first byte / first content token)\n\n" + stream_table(table),
        "## Product targets\n\n" + targets_table(table),
        NOTES,
    ]) + "\n"  # fmt: skip


NOTES = """\
Notes: CPU ms/req is user+system time of the server's whole process tree (uvicorn master and
workers) over the level divided by requests served; pg+redis is the CPU of the PostgreSQL
backends serving the benchmark database plus redis-server over the same window (the database
work the gateway causes).
"direct" is the mock upstream itself (one process). Load generator, mock, databases and servers
share the same machine, so absolute throughput is bounded by the cores they compete for.
"other load" is the machine's busy CPU during the level minus everything the benchmark runs
(server, mock, PostgreSQL, Redis, wrk, stream client): above ~0.1 cores, something else was
competing for the machine and the row is not trustworthy."""
