"""Process accounting from /proc: CPU time of a process tree, RSS, peak RSS, open fds."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
PROC = Path("/proc")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may contain spaces: split after the last ')'.
    return raw[raw.rindex(")") + 2 :].split()


def _all_pids() -> list[int]:
    return [int(p.name) for p in PROC.iterdir() if p.name.isdigit()]


def tree(root: int) -> list[int]:
    """`root` and all its descendants that are alive now."""
    children: dict[int, list[int]] = {}
    for pid in _all_pids():
        fields = _stat_fields(pid)
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(pid)  # fields[1] is the ppid
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def cpu_seconds(pids: Iterable[int]) -> float:
    """user + system CPU seconds consumed so far by these processes (not their dead children)."""
    total = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def tree_cpu(root: int) -> float:
    return cpu_seconds(tree(root))


def wait_idle(root: int, *, below: float = 0.05, timeout: float = 15.0) -> None:
    """Wait until the process tree uses less than `below` of a core (queued work drained)."""
    deadline = time.monotonic() + timeout
    quiet = 0
    last = tree_cpu(root)
    while time.monotonic() < deadline and quiet < 2:
        time.sleep(0.25)
        now = tree_cpu(root)
        quiet = quiet + 1 if (now - last) / 0.25 < below else 0
        last = now


def pg_backends(database: str) -> list[int]:
    """PostgreSQL backend processes serving `database` ("postgres: user db host state")."""
    return [pid for pid in pids_named("postgres") if f" {database} " in cmdline(pid) + " "]


def system_busy() -> float:
    """CPU seconds all cores spent busy since boot (everything but idle and iowait)."""
    fields = [int(x) for x in (PROC / "stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / TICKS


def own_cpu() -> float:
    """CPU seconds of this process and its waited-for children (wrk)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def pids_named(*names: str) -> list[int]:
    """Processes whose command name is one of `names` (e.g. postgres, redis-server)."""
    out = []
    for pid in _all_pids():
        try:
            comm = (PROC / str(pid) / "comm").read_text().strip()
        except OSError:
            continue
        if comm in names:
            out.append(pid)
    return out


def cmdline(pid: int) -> str:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def workers(root: int) -> list[int]:
    """Worker processes of a server: multiprocessing-spawned children, else the root itself."""
    spawned = [p for p in tree(root) if p != root and "spawn_main" in cmdline(p)]
    return spawned or [root]


def _status_kb(pid: int, field: str) -> int:
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_mb(pid: int) -> float:
    return _status_kb(pid, "VmRSS") / 1024


def peak_rss_mb(pid: int) -> float:
    """High-water mark of resident memory since the process started."""
    return _status_kb(pid, "VmHWM") / 1024


def fd_count(pid: int) -> int:
    try:
        return len(os.listdir(PROC / str(pid) / "fd"))
    except OSError:
        return 0
