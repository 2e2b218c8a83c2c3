"""Shared pieces of the benchmark: request bodies, result files, machine description."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from importlib import metadata
from pathlib import Path

import orjson

from benchmarks.targets import LITELLM_VENV, MODEL, ROOT

RESULTS = ROOT / "benchmarks" / "results"

# ~1 KB of benign text: nothing the `recommended` policy redacts or blocks.
PROMPT = (
    "I am planning a small vegetable garden behind our house this spring and would like "
    "some practical advice. The plot gets about six hours of direct sunlight in the morning "
    "and is shaded by a large oak tree in the late afternoon. The soil is heavy clay that "
    "stays wet for several days after rain, so I am thinking about building raised beds "
    "filled with a mix of compost and topsoil. I would like to grow tomatoes, peppers, "
    "lettuce, carrots, green beans and a few herbs such as basil, parsley and thyme. "
    "Could you suggest a sensible layout for three beds, explain which plants grow well "
    "next to each other, and tell me when to sow each crop in a temperate climate with the "
    "last frost expected in the middle of April? I would also appreciate tips on watering "
    "during a dry summer, natural ways to keep slugs and aphids away, and how to rotate "
    "the crops next year so the soil stays healthy. Please keep the answer short and "
    "organised as a list."
)


def chat_body(*, stream: bool) -> bytes:
    body: dict[str, object] = {
        "model": MODEL,
        "messages": [{"role": "user", "content": PROMPT}],
        "max_tokens": 200,
    }
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return orjson.dumps(body)


def run_dir(kind: str) -> Path:
    """benchmarks/results/<timestamp>-<kind>/ for logs and artefacts of one run."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = RESULTS / f"{stamp}-{kind}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _mem_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


def _litellm_version() -> str:
    python = LITELLM_VENV / "bin" / "python"
    if not python.exists():
        return "not installed"
    code = "import importlib.metadata as m; print(m.version('litellm'))"
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=60)
    return done.stdout.strip() or "unknown"


def _commit() -> str:
    """The commit under test (BENCH_COMMIT names it when running from an exported tree)."""
    if os.environ.get("BENCH_COMMIT"):
        return os.environ["BENCH_COMMIT"]
    git = ["git", "--no-optional-locks"]  # read-only: never refresh the index
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True)
    dirty = subprocess.run(
        [*git, "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True
    )
    commit = head.stdout.decode().strip() or "unknown"
    return commit + (" (with uncommitted changes)" if dirty.stdout.strip() else "")


def machine() -> str:
    """A markdown description of where the numbers come from."""
    versions = ", ".join(
        f"{name} {metadata.version(name)}" for name in ("django", "uvicorn", "uvloop", "httptools")
    )
    return (
        f"- machine: {os.cpu_count()} CPUs (`nproc`), {_cpu_model()}, {_mem_gib():.1f} GiB RAM, "
        f"Linux {platform.release()}\n"
        f"- Python {platform.python_version()}; {versions}; LiteLLM {_litellm_version()}\n"
        f"- commit {_commit()}; report written {time.strftime('%Y-%m-%d %H:%M:%S %Z')}\n"
    )
