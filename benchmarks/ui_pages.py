"""Page-speed benchmark of the web UI on PostgreSQL: overview and monthly report from rollups.

Seeds 1,000,000 usage rows for 100 teams (300 keys, 4 models) over the current and previous
month with set-based INSERT ... SELECT (generate_series), builds hour/day/month Rollup rows from
them the same way, then renders the pages through Django's test client as an org admin.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gw_ui_bench .venv/bin/python -m benchmarks.ui_pages

The database named in DATABASE_URL is dropped and recreated. Target: every page < 1 s.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/gw_ui_bench"
USAGE_ROWS = int(os.environ.get("UI_BENCH_ROWS", "1000000"))
TEAMS, KEYS_PER_TEAM, MODELS = 100, 3, ["gpt-4o", "gpt-4o-mini", "claude-sonnet", "llama-70b"]
RUNS = 5
LIMIT_S = 1.0


def _environment() -> str:
    url = os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
    for name, value in {
        "DJANGO_SETTINGS_MODULE": "gateway_project.settings", "DEBUG": "true",
        "SECURE_HTTPS": "false", "STATIC_MANIFEST": "false", "LOG_LEVEL": "WARNING",
    }.items():  # fmt: skip
        os.environ.setdefault(name, value)
    return url


def _recreate_database(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _seed() -> tuple[Any, Any]:
    from django.contrib.auth import get_user_model
    from django.db import connection

    from tenants.models import ApiKey, Membership, Organization, Role, Team

    org = Organization.objects.create(slug="bench", name="Bench Corp")
    teams = Team.objects.bulk_create(
        Team(org=org, slug=f"team-{i:03d}", name=f"Team {i:03d}", cost_center=f"CC-{i % 17}")
        for i in range(TEAMS)
    )
    for team in teams:
        for k in range(KEYS_PER_TEAM):
            ApiKey.objects.issue(team=team, name=f"{team.slug}-app-{k}")
    admin = get_user_model().objects.create_user("bench-admin", password="bench-password-1")
    Membership.objects.create(user=admin, org=org, role=Role.ORG_ADMIN)
    models = "ARRAY[" + ",".join(f"'{m}'" for m in MODELS) + "]"
    with connection.cursor() as cur:
        # Spread over ~60 days ending now: the current and the previous month both have data.
        cur.execute(
            f"""
            WITH k AS (SELECT row_number() OVER (ORDER BY id) - 1 AS n, id, team_id, lookup_id
                       FROM tenants_apikey WHERE team_id IN (SELECT id FROM tenants_team
                                                             WHERE org_id = %(org)s)),
                 g AS (SELECT i, (i * 7919) %% (SELECT count(*) FROM k) AS kn FROM
                       generate_series(1::bigint, %(rows)s) AS i)
            INSERT INTO billing_usagerecord (request_id, created_at, org_id, team_id, key_id,
                key_prefix, end_user, endpoint, model_requested, model_served, provider,
                prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens,
                reasoning_tokens, usage_estimated, cost_usd, status, stream, latency_ms)
            SELECT 'bench-' || g.i, now() - (g.i * interval '5.184 seconds'), %(org)s,
                k.team_id, k.id, 'sgw-' || left(k.lookup_id, 8), '', 'chat',
                ({models})[1 + g.i %% 4], ({models})[1 + g.i %% 4], 'mock',
                100 + g.i %% 900, 20 + g.i %% 300, 0, 0, 0, false,
                ((100 + g.i %% 900) * 0.0000025 + (20 + g.i %% 300) * 0.00001)::numeric(20, 10),
                CASE WHEN g.i %% 97 = 0 THEN 502 ELSE 200 END, false, 250
            FROM g JOIN k ON k.n = g.kn
            """,
            {"org": org.pk, "rows": USAGE_ROWS},
        )
        for granularity in ("hour", "day", "month"):
            cur.execute(
                f"""
                INSERT INTO billing_rollup (granularity, period_start, org_id, team_id, key_id,
                    model, requests, blocked, errors, upstream_errors, prompt_tokens,
                    completion_tokens, cost_usd)
                SELECT '{granularity}', date_trunc('{granularity}', created_at AT TIME ZONE 'UTC')
                       AT TIME ZONE 'UTC', org_id, team_id, key_id, model_requested, count(*),
                    count(*) FILTER (WHERE status = 400), count(*) FILTER (WHERE status >= 400),
                    count(*) FILTER (WHERE status IN (502, 503, 504)), sum(prompt_tokens),
                    sum(completion_tokens), sum(cost_usd)
                FROM billing_usagerecord WHERE org_id = %s GROUP BY 2, 3, 4, 5, 6
                """,
                [org.pk],
            )
        cur.execute("ANALYZE")
    return org, admin


def _time(client: Any, url: str) -> dict[str, Any]:
    timings = []
    for _ in range(RUNS + 1):  # the first run warms caches and is not counted
        started = time.perf_counter()
        response = client.get(url)
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
    runs = timings[1:]
    return {"url": url, "median_s": statistics.median(runs), "max_s": max(runs),
            "first_s": timings[0], "bytes": len(response.content)}  # fmt: skip


def main() -> int:
    url = _environment()
    _recreate_database(url)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment

    from billing.models import Rollup, UsageRecord
    from billing.reports import current_month, previous_month

    setup_test_environment()
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    org, admin = _seed()
    seed_s = time.perf_counter() - started
    counts = {"usage_rows": UsageRecord.objects.count(), "rollup_rows": Rollup.objects.count()}
    client = Client()
    client.force_login(admin)
    this, last = current_month(org), previous_month(current_month(org))
    pages = ["/", "/?range=24h", "/?range=7d", "/?range=90d", f"/reports/{this:%Y-%m}/",
             f"/reports/{last:%Y-%m}/", f"/reports/{last:%Y-%m}/prices/",
             f"/reports/{last:%Y-%m}.csv", f"/reports/{last:%Y-%m}.pdf"]  # fmt: skip
    results = [_time(client, page) for page in pages]
    print(f"seeded {counts['usage_rows']:,} usage rows, {counts['rollup_rows']:,} rollup rows, "
          f"{TEAMS} teams in {seed_s:.1f} s")  # fmt: skip
    print(f"{'page':40} {'median':>9} {'max':>9} {'first':>9} {'bytes':>9}")
    for r in results:
        print(f"{r['url']:40} {r['median_s'] * 1000:7.0f}ms {r['max_s'] * 1000:7.0f}ms "
              f"{r['first_s'] * 1000:7.0f}ms {r['bytes']:9,}")  # fmt: skip
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    summary = {"seed_s": seed_s, **counts, "teams": TEAMS, "pages": results}
    (out / "ui_pages.json").write_text(json.dumps(summary, indent=2))
    slow = [r["url"] for r in results if r["max_s"] >= LIMIT_S]
    if slow:
        print(f"SLOWER THAN {LIMIT_S} s: {slow}")
    return 1 if slow else 0


if __name__ == "__main__":
    raise SystemExit(main())
