"""Audit rows for sealing tests, and tampering the way an owner of the tables could."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
from django.db import connection
from django.utils import timezone

from audit.models import AuditRecord, SealBlock

TABLES = ("audit_auditrecord", "audit_sealblock", "auditlog_logentry")


def make_record(request_id: str, *, at: datetime | None = None, **fields: Any) -> AuditRecord:
    values: dict[str, Any] = {
        "request_id": request_id, "created_at": at or timezone.now(), "org_id": 1,
        "org_slug": "acme", "team_slug": "search", "key_prefix": "sgw-abcdefgh",
        "endpoint": "/v1/chat/completions", "model_requested": "demo", "status": 200,
        "decision": "allow", "rule_ids": ["pii.email"], "cost_usd": Decimal("0.0012345"),
        "latency_ms": 12.5, "attempts": [{"deployment": 1, "outcome": "ok", "ms": 3.25}],
        "prompt_hmac": "ab" * 32,
    }  # fmt: skip
    values.update(fields)
    return AuditRecord.objects.create(**values)


def make_records(count: int, prefix: str = "req", *, start_id: int | None = None,
                 at: datetime | None = None) -> list[AuditRecord]:  # fmt: skip
    """`count` records, optionally with explicit ids from start_id (and a fixed time)."""
    records = []
    for i in range(count):
        extra = {"id": start_id + i} if start_id is not None else {}
        when = at + timedelta(seconds=i) if at is not None else None
        records.append(make_record(f"{prefix}-{i}", at=when, **extra))
    if start_id is not None and connection.vendor == "postgresql":
        with connection.cursor() as cur:  # later records continue above, as in production
            cur.execute("SELECT setval(pg_get_serial_sequence('audit_auditrecord', 'id'),"
                        " greatest(%s, (SELECT last_value FROM audit_auditrecord_id_seq)))",
                        [start_id + count])  # fmt: skip
    return records


@contextmanager
def tampering() -> Iterator[None]:
    """Append-only triggers off, as an attacker owning the tables could (SQLite: dropped)."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER refuses pending FK checks
            for table in TABLES:
                cur.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            yield
            for table in TABLES:
                cur.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
            return
        cur.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
                    " AND name LIKE 'sgw_%'")  # fmt: skip
        triggers = cur.fetchall()
        for name, _ in triggers:
            cur.execute(f'DROP TRIGGER "{name}"')
        yield
        for _, ddl in triggers:
            cur.execute(ddl)


def tamper(sql: str, params: list[Any] | None = None) -> None:
    """Run one SQL statement with the triggers off."""
    with tampering(), connection.cursor() as cur:
        cur.execute(sql, params)


def entries(block: SealBlock) -> list[list[Any]]:
    return list(orjson.loads(block.entries))


def ids_of(block: SealBlock) -> list[int]:
    return [int(e[0]) for e in entries(block)]
