"""Soak: sustained mixed load on the gateway; memory, fds and DB connections must stay bounded.

Run: make bench-soak   (or .venv/bin/python -m benchmarks.soak --seconds 300 --workers 2)

wrk sends non-streaming requests at concurrency 16 and the stream client keeps 4 streams open,
both for the whole soak; every few seconds RSS and open fds of each worker, the number of
PostgreSQL connections to the benchmark database and Redis clients are sampled.
"""

from __future__ import annotations

import argparse
import threading
import time
from dataclasses import dataclass

import psycopg
import redis

from benchmarks import common, loadgen, procstat, targets


@dataclass
class Sample:
    t: float
    rss_mb: list[float]
    fds: list[int]
    db_conns: int
    redis_clients: int


def _db_connections(database: str) -> int:
    with psycopg.connect(targets.PG_ADMIN, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (database,)
        ).fetchone()
    return int(row[0]) if row else 0


_DB_STATS = ("xact_commit", "tup_inserted", "tup_updated", "tup_fetched")


def _db_stats(database: str) -> dict[str, int]:
    """Cumulative transaction and row counters of the benchmark database."""
    with psycopg.connect(targets.PG_ADMIN, autocommit=True) as conn:
        row = conn.execute(
            f"SELECT {', '.join(_DB_STATS)} FROM pg_stat_database WHERE datname = %s",
            (database,),
        ).fetchone()
    return dict(zip(_DB_STATS, row or (0,) * len(_DB_STATS), strict=True))


def _redis_clients() -> int:
    info = redis.Redis(host="127.0.0.1", port=6379).info("clients")
    return int(info["connected_clients"])


def soak(seconds: float, workers: int, interval: float) -> str:
    out = common.run_dir("soak")
    body_file = out / "chat.json"
    body_file.write_bytes(common.chat_body(stream=False))
    database = "gateway_bench_soak"
    mock = targets.start_mock(out, 20, 2.0)
    gateway = None
    try:
        cfg = targets.prepare_gateway(mock, database, out)
        gateway = targets.start_gateway(cfg, workers, out)
        targets.smoke(gateway, body_file.read_bytes())
        streams: list[loadgen.LoadResult] = []
        stream_thread = threading.Thread(
            target=lambda: streams.append(
                loadgen.run_streams(
                    gateway.url, common.chat_body(stream=True), gateway.key, 4, seconds
                )
            ),
            daemon=True,
        )
        chat: list[loadgen.LoadResult] = []
        chat_thread = threading.Thread(
            target=lambda: chat.append(
                loadgen.run_wrk(gateway.url, body_file, gateway.key, 16, seconds)
            ),
            daemon=True,
        )
        started = time.monotonic()
        cpu0, db0 = procstat.tree_cpu(gateway.pid), _db_stats(database)
        chat_thread.start()
        stream_thread.start()
        samples: list[Sample] = []
        pids = procstat.workers(gateway.pid)
        while chat_thread.is_alive() or stream_thread.is_alive():
            samples.append(
                Sample(
                    t=time.monotonic() - started,
                    rss_mb=[procstat.rss_mb(p) for p in pids],
                    fds=[procstat.fd_count(p) for p in pids],
                    db_conns=_db_connections(database),
                    redis_clients=_redis_clients(),
                )
            )
            print(_line(samples[-1]), flush=True)
            next_at = time.monotonic() + interval
            while time.monotonic() < next_at and (
                chat_thread.is_alive() or stream_thread.is_alive()
            ):
                time.sleep(0.2)
        cpu = procstat.tree_cpu(gateway.pid) - cpu0
        time.sleep(1.5)  # PostgreSQL publishes backend statistics about once a second
        db = {k: v - db0[k] for k, v in _db_stats(database).items()}
        alive = [p for p in pids if procstat.rss_mb(p) > 0]
        text = _report(samples, chat, streams, cpu, db, workers, seconds, len(alive) == len(pids))
    finally:
        if gateway is not None:
            gateway.stop()
        mock.stop()
    (out / "report.md").write_text(text)
    print(text)
    print(f"written to {out / 'report.md'}")
    return text


def _line(s: Sample) -> str:
    rss = " ".join(f"{r:6.1f}" for r in s.rss_mb)
    return f"t={s.t:6.1f}s rss MB [{rss}] fds {s.fds} db conns {s.db_conns} redis {s.redis_clients}"


def _report(
    samples: list[Sample],
    chat: list[loadgen.LoadResult],
    streams: list[loadgen.LoadResult],
    cpu: float,
    db: dict[str, int],
    workers: int,
    seconds: float,
    all_alive: bool,
) -> str:
    # Compare the end with the state one minute in (after caches and pools have filled).
    warm = next((s for s in samples if s.t >= min(60.0, seconds / 5)), samples[0])
    last = samples[-1]
    served = sum(r.requests for r in chat + streams)
    errors = sum(r.errors for r in chat + streams)
    growth = [b - a for a, b in zip(warm.rss_mb, last.rss_mb, strict=True)]
    minutes = max((last.t - warm.t) / 60, 1e-9)
    lines = [
        f"# Soak: gateway, {workers} worker(s), {seconds:g} s of mixed load",
        common.machine().rstrip(),
        "- load: wrk non-streaming at concurrency 16 + 4 concurrent streams, the whole time",
        "",
        f"- requests served: {served:,} ({served / seconds:,.0f}/s), errors: {errors}, "
        f"gateway CPU {cpu * 1000 / max(served, 1):.2f} ms/request",
        "- PostgreSQL work per request: "
        + ", ".join(f"{k} {v / max(served, 1):.1f}" for k, v in db.items()),
        f"- workers alive at the end: {'yes' if all_alive else '**no**'}",
        f"- RSS per worker at t={warm.t:.0f}s: {_mb(warm.rss_mb)}; at the end: {_mb(last.rss_mb)}; "
        f"growth {', '.join(f'{g:+.1f} MB ({g / minutes:+.2f} MB/min)' for g in growth)}",
        f"- max RSS per worker during the soak: {max(max(s.rss_mb) for s in samples):.1f} MB "
        "(target <= 150 MB)",
        f"- open fds per worker: min {min(min(s.fds) for s in samples)}, "
        f"max {max(max(s.fds) for s in samples)}",
        f"- PostgreSQL connections to the benchmark database: "
        f"max {max(s.db_conns for s in samples)}, at the end {last.db_conns}",
        f"- Redis clients (whole server): max {max(s.redis_clients for s in samples)}, "
        f"at the end {last.redis_clients}",
        "",
        "| t s | RSS MB per worker | fds per worker | pg connections | redis clients |",
        "|---:|---|---|---:|---:|",
    ]
    lines += [
        f"| {s.t:.0f} | {_mb(s.rss_mb)} | {', '.join(map(str, s.fds))} | {s.db_conns} | "
        f"{s.redis_clients} |"
        for s in samples
    ]
    return "\n".join(lines) + "\n"


def _mb(values: list[float]) -> str:
    return ", ".join(f"{v:.1f}" for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--interval", type=float, default=5.0, help="sampling period (s)")
    args = parser.parse_args()
    soak(args.seconds, args.workers, args.interval)


if __name__ == "__main__":
    main()
