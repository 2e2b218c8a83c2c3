"""Run the real gateway (uvicorn + gateway_project.asgi) in subprocesses against the test database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_database_url() -> str:
    """A DATABASE_URL naming the database the test run actually uses (test_<name>)."""
    cfg = connection.settings_dict
    if cfg["ENGINE"].endswith("sqlite3"):
        return ""
    user = cfg.get("USER") or "postgres"
    host = cfg.get("HOST") or "127.0.0.1"
    port = cfg.get("PORT") or 5432
    password = f":{cfg['PASSWORD']}" if cfg.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{host}:{port}/{cfg['NAME']}"


@dataclass
class GatewayServer:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def start_gateway(
    tmp_path: Path, *, workers: int = 1, env: dict[str, str] | None = None
) -> GatewayServer:
    """Start uvicorn on a free loopback port and wait until /healthz answers."""
    port = free_port()
    full_env = dict(os.environ)
    full_env["DATABASE_URL"] = test_database_url()
    if connection.settings_dict["ENGINE"].endswith("sqlite3"):
        full_env["SQLITE_PATH"] = str(connection.settings_dict["NAME"])
        full_env.pop("DATABASE_URL")
    full_env["WEB_CONCURRENCY"] = str(workers)
    full_env.update(env or {})
    log_path = tmp_path / f"gateway-{port}.log"
    cmd = [
        sys.executable, "-m", "uvicorn", "gateway_project.asgi:application",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--no-access-log", "--loop", "uvloop", "--http", "httptools",
        # X-Forwarded-For is judged by GATEWAY_TRUSTED_PROXIES alone, not by uvicorn.
        "--no-proxy-headers",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT)
    server = GatewayServer(f"http://127.0.0.1:{port}", proc, log_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gateway exited early:\n{server.log()}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"gateway did not start:\n{server.log()}")


def wait_for_gateway_bookkeeping(timeout: float = 5.0) -> None:
    """Let gateways finish what they do after a response (settlement, audit) before the test
    tables are flushed: on PostgreSQL a TRUNCATE racing those writes can deadlock."""
    time.sleep(0.05)  # accounting starts right after the last byte went out
    if connection.vendor != "postgresql":
        return
    busy = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND state <> 'idle'"
    )
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(busy)
            row = cursor.fetchone()
            if row is None or row[0] == 0:
                return
            time.sleep(0.02)
