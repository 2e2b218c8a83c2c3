"""Side-by-side benchmark: the mock directly, this gateway (every feature on), LiteLLM Proxy.

Run: make bench   (BENCH_QUICK=1 for a short smoke; BENCH_WORKERS="1 2" to choose worker counts)
Or:  .venv/bin/python -m benchmarks.run [--quick] [--workers 1 2]

Each target gets a warm-up, then closed-loop non-streaming load at each concurrency level and
streams at each stream level, all bounded in time. CPU is read from /proc for the server's whole
process tree before and after each level. The markdown report is printed and written to
benchmarks/results/<timestamp>-bench/report.md.
"""

from __future__ import annotations

import argparse
import os
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from benchmarks import common, loadgen, procstat, report, targets
from benchmarks.report import Row


@dataclass(frozen=True)
class Plan:
    levels: tuple[int, ...] = (1, 16, 64)
    stream_levels: tuple[int, ...] = (1, 16)
    seconds: float = 10.0
    stream_seconds: float = 8.0
    warmup: float = 3.0
    workers: tuple[int, ...] = (1, 2)
    chunks: int = 20
    chunk_interval_ms: float = 2.0


QUICK = Plan(seconds=2.0, stream_seconds=2.0, warmup=1.0, workers=(1,))


DATABASE = "gateway_bench"


def _backing_cpu() -> float:
    """CPU seconds of Redis and of PostgreSQL backends serving the benchmark database."""
    pids = procstat.pids_named("redis-server") + procstat.pg_backends(DATABASE)
    return procstat.cpu_seconds(pids)


def _our_cpu(server: targets.Server, mock: targets.Server) -> float:
    mock_cpu = procstat.tree_cpu(mock.pid) if mock.pid != server.pid else 0.0
    return procstat.tree_cpu(server.pid) + mock_cpu + _backing_cpu() + procstat.own_cpu()


def measure(
    server: targets.Server, mock: targets.Server, target: str, workers: int, plan: Plan, out: Path
) -> list[Row]:
    body_file = out / "chat.json"
    stream_body = common.chat_body(stream=True)
    targets.smoke(server, body_file.read_bytes())
    loadgen.run_wrk(server.url, body_file, server.key, 16, plan.warmup)
    loadgen.run_streams(server.url, stream_body, server.key, 4, plan.warmup / 2)
    rows = []
    for mode, levels in (("chat", plan.levels), ("stream", plan.stream_levels)):
        for concurrency in levels:
            procstat.wait_idle(server.pid)  # the previous level's tail must not count here
            cpu0, back0 = procstat.tree_cpu(server.pid), _backing_cpu()
            busy0, ours0 = procstat.system_busy(), _our_cpu(server, mock)
            if mode == "chat":
                result = loadgen.run_wrk(
                    server.url, body_file, server.key, concurrency, plan.seconds
                )
            else:
                result = loadgen.run_streams(
                    server.url, stream_body, server.key, concurrency, plan.stream_seconds
                )
            cpu = procstat.tree_cpu(server.pid) - cpu0
            back = max(0.0, _backing_cpu() - back0)
            other = procstat.system_busy() - busy0 - (_our_cpu(server, mock) - ours0)
            served = max(result.requests, 1)
            row = Row(target, workers, mode, concurrency, result, cpu * 1000 / served,
                      back * 1000 / served, other_cores=max(0.0, other / result.seconds))  # fmt: skip
            print(report.progress(row), flush=True)
            rows.append(row)
    peak = max(procstat.peak_rss_mb(pid) for pid in procstat.workers(server.pid))
    for row in rows:
        row.peak_rss_mb = peak
    return rows


def wait_for_quiet_machine(limit_s: float = 60.0, threshold: float = 0.3) -> None:
    """Give other work on the machine up to `limit_s` to finish; numbers need an idle box."""
    deadline = time.monotonic() + limit_s
    while True:
        before = procstat.system_busy()
        time.sleep(3)
        busy = (procstat.system_busy() - before) / 3
        if busy < threshold or time.monotonic() > deadline:
            break
        print(f"machine busy ({busy:.2f} cores) before the benchmark; waiting", flush=True)
    if busy >= threshold:
        print(f"WARNING: machine still busy ({busy:.2f} cores); see 'other load'", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", default=bool(os.environ.get("BENCH_QUICK")))
    parser.add_argument("--workers", type=int, nargs="+")
    args = parser.parse_args()
    plan = QUICK if args.quick else Plan()
    env_workers = os.environ.get("BENCH_WORKERS", "").split()
    workers = tuple(args.workers or [int(w) for w in env_workers] or plan.workers)
    wait_for_quiet_machine()
    out = common.run_dir("bench")
    (out / "chat.json").write_bytes(common.chat_body(stream=False))
    rows: list[Row] = []
    with ExitStack() as stack:
        mock = targets.start_mock(out, plan.chunks, plan.chunk_interval_ms)
        stack.callback(mock.stop)
        print(f"mock upstream at {mock.base}; results in {out}", flush=True)
        rows += measure(mock, mock, "direct", 1, plan, out)
        gateway_cfg = targets.prepare_gateway(mock, DATABASE, out)
        for n in workers:
            gateway = targets.start_gateway(gateway_cfg, n, out)
            try:
                rows += measure(gateway, mock, "gateway", n, plan, out)
            finally:
                gateway.stop()
        for n in workers:
            litellm = targets.start_litellm(mock, n, out)
            try:
                rows += measure(litellm, mock, "litellm", n, plan, out)
            finally:
                litellm.stop()
    text = report.render(rows, common.machine(), plan_note(plan))
    (out / "report.md").write_text(text)
    print()
    print(text)
    print(f"written to {out / 'report.md'}")


def plan_note(plan: Plan) -> str:
    return (
        f"- load: closed loop, wrk for non-streaming ({plan.seconds:g} s per level, "
        f"concurrency {', '.join(map(str, plan.levels))}), an asyncio client for streams "
        f"({plan.stream_seconds:g} s per level, concurrency "
        f"{', '.join(map(str, plan.stream_levels))}); {plan.warmup:g} s warm-up per server\n"
        f"- request: {len(common.chat_body(stream=False))} B chat completion (~1 KB prompt); "
        f"streams: {plan.chunks} content chunks {plan.chunk_interval_ms:g} ms apart + usage\n"
    )


if __name__ == "__main__":
    main()
