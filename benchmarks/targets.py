"""The three servers under test: the mock upstream, this gateway (fully configured), LiteLLM."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import redis
from cryptography.fernet import Fernet

from benchmarks import procstat

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "benchmarks"
LITELLM_VENV = HERE / ".venv-litellm"
LITELLM_CONFIG = HERE / "litellm_config.yaml"
MODEL = "gpt-4o-mini"
CHAT_PATH = "/v1/chat/completions"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_DB = 7
BIG = 10**9  # limits that are enforced (counted in Redis) but never reached


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    name: str
    base: str  # http://127.0.0.1:PORT
    key: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return self.base + CHAT_PATH

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM the server (uvicorn stops its workers), then kill whatever is left."""
        family = {pid: procstat.cmdline(pid) for pid in procstat.tree(self.pid)[1:]}
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for pid, cmdline in family.items():  # stragglers; same pid and command line only
            if cmdline and procstat.cmdline(pid) == cmdline:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def _start(
    name: str, cmd: list[str], env: dict[str, str], log_dir: Path, health: str, port: int
) -> Server:
    log_path = log_dir / f"{name}.log"
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(name, f"http://127.0.0.1:{port}", "", proc, log_path)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited early:\n{server.log_tail()}")
        try:
            if httpx.get(server.base + health, timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    server.stop()
    raise RuntimeError(f"{name} did not become healthy:\n{server.log_tail()}")


def start_mock(log_dir: Path, chunks: int, interval_ms: float) -> Server:
    port = free_port()
    cmd = [
        sys.executable, str(HERE / "mock_upstream.py"), "--port", str(port),
        "--chunks", str(chunks), "--chunk-interval-ms", str(interval_ms),
    ]  # fmt: skip
    return _start("mock", cmd, dict(os.environ), log_dir, "/health", port)


# --- the gateway --------------------------------------------------------------------------


def gateway_yaml(mock: Server) -> str:
    """Every feature on: route, recommended policy, org+team rate limits and budgets."""
    limits = f"{{rpm: {BIG}, tpm: {BIG}, max_parallel: 100000}}"
    budget = '{period: monthly, limit_usd: "100000000.00", alert_at: [50, 80, 100]}'
    return f"""\
providers:
  - name: mock
    kind: openai_compatible
    base_url: {mock.base}/v1
models:
  - name: {MODEL}
    deployments: [{{provider: mock, model: {MODEL}}}]
    price: {{input_per_million: "0.15", output_per_million: "0.60"}}
organizations:
  - slug: bench
    name: Bench
    policy: recommended
    limits: {limits}
    budget: {budget}
    teams:
      - slug: load
        models: [{MODEL}]
        policy: recommended
        limits: {limits}
        budget: {budget}
"""


@dataclass
class GatewayConfig:
    database: str
    env: dict[str, str]
    key: str


def _manage(env: dict[str, str], *args: str) -> str:
    cmd = [sys.executable, "manage.py", *args]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def prepare_gateway(mock: Server, database: str, work_dir: Path) -> GatewayConfig:
    """A fresh database and Redis db, migrations, apply_config, and an API key."""
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')
    redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB).flushdb()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))},
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "GATEWAY_KEY_PEPPER": secrets.token_urlsafe(32),
        "GATEWAY_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "SECURE_HTTPS": "false",
        "STATIC_MANIFEST": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
        "REDIS_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
        "GATEWAY_ALLOWED_PRIVATE_NETWORKS": "127.0.0.0/8",
    }
    config = work_dir / "gateway.yaml"
    config.write_text(gateway_yaml(mock))
    _manage(env, "migrate", "--noinput", "-v0")
    _manage(env, "apply_config", str(config))
    key = _manage(env, "create_api_key", "--team", "bench/load", "--name", "bench")
    return GatewayConfig(database, env, key.strip().splitlines()[-1])


def start_gateway(cfg: GatewayConfig, workers: int, log_dir: Path) -> Server:
    port = free_port()
    cmd = [
        sys.executable, "-m", "uvicorn", "gateway_project.asgi:application",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--no-proxy-headers",
    ]  # fmt: skip
    env = {**cfg.env, "WEB_CONCURRENCY": str(workers)}
    server = _start(f"gateway-w{workers}", cmd, env, log_dir, "/healthz", port)
    server.key = cfg.key
    return server


# --- LiteLLM ------------------------------------------------------------------------------


def start_litellm(mock: Server, workers: int, log_dir: Path) -> Server:
    """LiteLLM Proxy, master key, no database, local cost map, telemetry off."""
    exe = LITELLM_VENV / "bin" / "litellm"
    if not exe.exists():
        raise RuntimeError(f"{exe} is missing: run benchmarks/setup.sh (make bench does)")
    port = free_port()
    key = "sk-bench-" + secrets.token_hex(16)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "REDIS_", "VIRTUAL_ENV", "DJANGO_"))
    }
    env.update(
        LITELLM_MASTER_KEY=key,
        BENCH_MOCK_API_BASE=f"{mock.base}/v1",
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        LITELLM_TELEMETRY="False",
        LITELLM_LOG="ERROR",
        LITELLM_MODE="PRODUCTION",
        DISABLE_ADMIN_UI="True",
        NO_DOCS="True",
        PATH=f"{LITELLM_VENV / 'bin'}:{os.environ.get('PATH', '')}",
    )
    cmd = [
        str(exe), "--config", str(LITELLM_CONFIG), "--host", "127.0.0.1", "--port", str(port),
        "--num_workers", str(workers),
    ]  # fmt: skip
    server = _start(f"litellm-w{workers}", cmd, env, log_dir, "/health/liveliness", port)
    server.key = key
    return server


def smoke(server: Server, body: bytes) -> None:
    """One request must succeed before any load is sent."""
    headers = {"content-type": "application/json"}
    if server.key:
        headers["authorization"] = f"Bearer {server.key}"
    response = httpx.post(server.url, content=body, headers=headers, timeout=60)
    if response.status_code != 200 or "choices" not in response.json():
        raise RuntimeError(
            f"{server.name}: smoke request failed with {response.status_code}: "
            f"{response.text[:500]}\n{server.log_tail()}"
        )
