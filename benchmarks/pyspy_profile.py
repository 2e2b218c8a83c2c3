"""Profile one gateway worker under load with py-spy: flame graph + top functions by CPU.

Run: make bench-profile   (or .venv/bin/python -m benchmarks.pyspy_profile --seconds 20)

The gateway runs with one worker (every feature on, as in the benchmark); wrk drives it at
concurrency 16 while py-spy samples the worker without pausing it (--nonblocking), twice:
  cpu  (--gil): only samples of the thread holding the GIL, i.e. Python code running. This is the
       CPU profile (C code that releases the GIL, such as waiting on a socket, is not in it).
  wall (default): every thread py-spy does not consider idle, including threads blocked in
       psycopg waiting for PostgreSQL: where a request's time goes.
Outputs in benchmarks/results/<timestamp>-profile/: {cpu,wall}.svg flame graphs,
{cpu,wall}-stacks.txt (collapsed stacks), report.md.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import threading
from collections import Counter
from pathlib import Path

from benchmarks import common, loadgen, procstat, targets

PY_SPY = targets.ROOT / ".venv" / "bin" / "py-spy"
_LINE = re.compile(r":\d+\)$")  # "func (file.py:123)" -> "func (file.py)"
# Entry-point frames that contain everything; left out of the inclusive table.
_BOILERPLATE = (
    "(threading.py)", "(concurrent/futures/thread.py)", "runpy>)", "(click/core.py)",
    "(uvicorn/main.py)", "(uvicorn/__main__.py)", "(uvicorn/_compat.py)", "(uvicorn/server.py)", "(asyncio/runners.py)",
)  # fmt: skip


def _py_spy(pid: int, seconds: float, fmt: str, output: Path, rate: int, gil: bool) -> None:
    cmd = [
        str(PY_SPY), "record", "--pid", str(pid), "--duration", str(int(seconds)),
        "--rate", str(rate), "--nonblocking", "--format", fmt, "--output", str(output),
        *(["--gil"] if gil else []),
    ]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, timeout=seconds + 60)


def _frame(raw: str) -> str:
    name = _LINE.sub(")", raw.strip())
    return name.replace(str(targets.ROOT) + "/", "").replace(".venv/lib/python3.11/", "")


def _module(frame: str) -> str:
    """A coarse owner for a frame: first path component after site-packages, or the app."""
    match = re.search(r"\(([^)]*)\)", frame)
    path = match.group(1) if match else frame
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1].split("/", 1)[0]
    if path.startswith("<") or "/python3.11/" in path or path.startswith("/root/.pyenv"):
        return "stdlib"
    return path.split("/", 1)[0]


def summarise(stacks: Path, top: int = 25) -> str:
    """Self and inclusive CPU shares per function, and self shares per package."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    modules: Counter[str] = Counter()
    samples = 0
    for line in stacks.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame(f) for f in stack.split(";") if f and not f.startswith("process ")]
        if not frames:
            continue
        samples += count
        own[frames[-1]] += count
        modules[_module(frames[-1])] += count
        for frame in set(frames):
            if not frame.endswith(_BOILERPLATE):
                total[frame] += count
    if not samples:
        return "no samples\n"

    def table(counter: Counter[str], title: str) -> str:
        rows = [f"| {title} | share of samples | samples |", "|---|---:|---:|"]
        rows += [
            f"| `{name}` | {100 * n / samples:.1f}% | {n} |" for name, n in counter.most_common(top)
        ]
        return "\n".join(rows)

    return "\n\n".join([
        f"{samples} samples.",
        "### Top functions by self time\n\n" + table(own, "function"),
        "### Top functions by inclusive time (including callees)\n\n" + table(total, "function"),
        "### Self time by package\n\n" + table(modules, "package"),
    ]) + "\n"  # fmt: skip


def profile(seconds: float, rate: int, concurrency: int) -> str:
    if not PY_SPY.exists():
        raise SystemExit(f"{PY_SPY} is missing: run benchmarks/setup.sh --profile")
    out = common.run_dir("profile")
    body_file = out / "chat.json"
    body_file.write_bytes(common.chat_body(stream=False))
    mock = targets.start_mock(out, 20, 2.0)
    gateway = None
    try:
        cfg = targets.prepare_gateway(mock, "gateway_bench_profile", out)
        gateway = targets.start_gateway(cfg, 1, out)
        targets.smoke(gateway, body_file.read_bytes())
        worker = procstat.workers(gateway.pid)[0]
        svg_seconds = max(8.0, seconds / 2)
        load_seconds = 3 + 2 * (seconds + svg_seconds) + 5
        results: list[loadgen.LoadResult] = []
        load = threading.Thread(
            target=lambda: results.append(
                loadgen.run_wrk(gateway.url, body_file, gateway.key, concurrency, load_seconds)
            )
        )
        load.start()
        threading.Event().wait(3)  # warm-up
        for kind, gil in (("cpu", True), ("wall", False)):
            _py_spy(worker, seconds, "raw", out / f"{kind}-stacks.txt", rate, gil)
            _py_spy(worker, svg_seconds, "flamegraph", out / f"{kind}.svg", rate, gil)
        load.join()
    finally:
        if gateway is not None:
            gateway.stop()
        mock.stop()
    result = results[0] if results else None
    load_note = (
        f"- load during sampling: wrk, concurrency {concurrency}, "
        f"{result.rps:,.0f} req/s, p50 {result.p50_ms:.1f} ms, errors {result.errors}\n"
        if result
        else ""
    )
    text = (
        f"# Profile: one gateway worker at concurrency {concurrency} (py-spy, {rate} Hz)\n\n"
        + common.machine()
        + load_note
        + f"- files in {out}: cpu.svg, wall.svg, cpu-stacks.txt, wall-stacks.txt\n\n"
        + "## CPU (samples holding the GIL)\n\n"
        + summarise(out / "cpu-stacks.txt")
        + "\n## Wall time of busy threads (includes waiting on PostgreSQL)\n\n"
        + summarise(out / "wall-stacks.txt", top=15)
    )
    (out / "report.md").write_text(text)
    print(text)
    print(f"written to {out / 'report.md'}")
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0, help="sampling time")
    parser.add_argument("--rate", type=int, default=200, help="samples per second")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--stacks", type=Path, help="only summarise an existing stacks.txt")
    args = parser.parse_args()
    if args.stacks:
        print(summarise(args.stacks))
    else:
        profile(args.seconds, args.rate, args.concurrency)


if __name__ == "__main__":
    main()
