"""What auditing adds to a request: the settlement round trip with and without the audit INSERT.

Runs against PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/gateway_bench_audit,
created and migrated here) through the same async pool and SQL the gateway uses, and prints
the median wall time and CPU time per request for both variants.

    .venv/bin/python -m benchmarks.audit_cost [N]
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid
from decimal import Decimal

DB = "gateway_bench_audit"
os.environ.setdefault("DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{DB}")
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway_project.settings")


def _prepare() -> None:
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"DROP DATABASE IF EXISTS {DB}"],
        check=True,
    )
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {DB}"], check=True
    )
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], check=True)


def _rows(world: dict[str, int]) -> tuple[dict[str, object], dict[str, object]]:
    usage = {
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
        "org_id": world["org"], "team_id": world["team"], "key_id": world["key"],
        "key_prefix": "sgw-bench", "end_user": "", "endpoint": "/v1/chat/completions",
        "model_requested": "m", "model_served": "m-up", "provider": "mock", "deployment_id": None,
        "prompt_tokens": 250, "completion_tokens": 50, "cached_tokens": 0, "cache_write_tokens": 0,
        "reasoning_tokens": 0, "usage_estimated": False, "cost_usd": Decimal("0.001"),
        "price_id": None, "status": 200, "stream": False, "latency_ms": 12.5,
    }  # fmt: skip
    audit = {
        "created_at": usage["created_at"], "org_id": world["org"], "org_slug": "bench",
        "team_id": world["team"], "team_slug": "t", "key_id": world["key"], "key_prefix": "sgw-bench",
        "end_user": "", "client_ip": "127.0.0.1", "endpoint": "/v1/chat/completions",
        "model_requested": "m", "model_served": "m-up", "provider": "mock", "deployment_id": None,
        "policy_version": "f" * 64, "decision": "allow", "output_decision": "allow", "rule_ids": [],
        "risk_score": 0, "prompt_tokens": 250, "completion_tokens": 50, "cost_usd": Decimal("0.001"),
        "status": 200, "error_code": "", "stream": False, "latency_ms": 12.5,
        "attempts": [{"deployment": 1, "provider": "mock", "outcome": "ok", "status": 200, "ms": 10.0}],
        "prompt_hmac": "a" * 64, "captured": "",
    }  # fmt: skip
    return usage, audit


async def _measure(n: int, with_audit: bool, world: dict[str, int]) -> tuple[float, float]:
    from billing.ledger import _insert
    from gateway_project.pgpool import get_pool

    pool = await get_pool()
    walls, cpus = [], []
    for _ in range(n):
        rid = "req_" + uuid.uuid4().hex[:24]
        usage, audit = _rows(world)
        w0, c0 = time.perf_counter(), time.process_time()
        async with pool.connection() as conn, conn.pipeline(), conn.transaction():
            await conn.execute(*_insert("billing_usagerecord", {"request_id": rid, **usage}))
            if with_audit:
                await conn.execute(*_insert("audit_auditrecord", {"request_id": rid, **audit}))
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls) * 1000, statistics.median(cpus) * 1000


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    _prepare()
    import django

    django.setup()
    from tenants.models import ApiKey, Organization, Team

    org = Organization.objects.create(slug="bench", name="bench")
    team = Team.objects.create(org=org, slug="t", name="t")
    key, _ = ApiKey.objects.issue(team=team, name="k")
    world = {"org": org.pk, "team": team.pk, "key": key.pk}
    results = {}
    for label, with_audit in (("warm-up", True), ("without audit", False), ("with audit", True)):
        results[label] = asyncio.run(_measure(n, with_audit, world))
    base, audited = results["without audit"], results["with audit"]
    print(f"settlement transaction, median of {n} (one pipelined round trip):")
    print(f"  without audit insert: {base[0]:.3f} ms wall, {base[1]:.3f} ms CPU")
    print(f"  with audit insert:    {audited[0]:.3f} ms wall, {audited[1]:.3f} ms CPU")
    print(
        f"  audit adds:           {audited[0] - base[0]:+.3f} ms wall, {audited[1] - base[1]:+.3f} ms CPU"
    )


if __name__ == "__main__":
    main()
