"""Retention: the only path that deletes audit rows, and it leaves a sealed purge block behind.

The append-only triggers (audit/migrations/0003) let DELETE through only inside
`purge_allowed()`: on PostgreSQL a transaction-local `sgw.audit_purge` setting, on SQLite a
connection-local flag read by the SQL function `sgw_audit_purge()`. A purge removes whole
sealed blocks (oldest first, all rows older than the cutoff) with their rows, then appends a
"purge" block recording what went and the hash of every removed block a survivor points to, so
verification can tell a purge from a deletion.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import orjson
from django.conf import settings
from django.db import DatabaseError, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from audit import sealing
from audit.models import SealBlock

_ALLOWED: weakref.WeakSet[BaseDatabaseWrapper] = weakref.WeakSet()


def install_sqlite_function(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """connection_created receiver: the SQLite triggers ask this function whether to allow."""
    if connection.vendor != "sqlite":
        return
    ref = weakref.ref(connection)

    def allowed() -> int:
        wrapper = ref()
        return int(wrapper is not None and wrapper in _ALLOWED)

    connection.connection.create_function("sgw_audit_purge", 0, allowed)


@contextmanager
def purge_allowed(using: str = "default", *, session: bool = False) -> Iterator[None]:
    """Let this transaction (or, with session, this connection: `flush`) delete audit rows."""
    conn = connections[using]
    if conn.vendor == "postgresql":
        if not session and not conn.in_atomic_block:
            raise RuntimeError("purge_allowed() needs a transaction (SET LOCAL)")
        with conn.cursor() as cur:
            cur.execute("SELECT set_config('sgw.audit_purge', 'on', %s)", [not session])
        try:
            yield
        finally:
            _reset_pg_allowance(conn, local=not session)
        return
    conn.ensure_connection()
    _ALLOWED.add(conn)
    try:
        yield
    finally:
        _ALLOWED.discard(conn)


def _reset_pg_allowance(conn: BaseDatabaseWrapper, *, local: bool) -> None:
    """End the allowance with the block, also when nested in a larger transaction."""
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT set_config('sgw.audit_purge', '', %s)", [local])
    except DatabaseError:
        pass  # the transaction failed: its rollback reverts the local setting anyway


def _victims(chain: str, cutoff: datetime) -> list[SealBlock]:
    """The oldest record blocks whose rows are all older than the cutoff (purge blocks stay)."""
    victims = []
    blocks = SealBlock.objects.filter(chain=chain, kind="records").order_by("seq")
    for block in blocks.only("seq", "last_at", "block_hash", "entries", "count").iterator():
        if block.last_at is None or block.last_at >= cutoff:
            break
        victims.append(block)
    return victims


def _ranges(values: list[int]) -> list[list[int]]:
    """[1, 2, 3, 7] -> [[1, 3], [7, 7]]."""
    ranges: list[list[int]] = []
    for value in values:
        if ranges and value == ranges[-1][1] + 1:
            ranges[-1][1] = value
        else:
            ranges.append([value, value])
    return ranges


def _delete_rows(chain: sealing.Chain, victims: list[SealBlock]) -> list[int]:
    ids = [int(e[0]) for block in victims for e in orjson.loads(block.entries)]
    manager = chain.model._default_manager
    for start in range(0, len(ids), sealing.BLOCK_SIZE):
        manager.filter(pk__in=ids[start : start + sealing.BLOCK_SIZE]).delete()
    SealBlock.objects.filter(pk__in=[b.pk for b in victims]).delete()
    return ids


def purge_chain(name: str, cutoff: datetime) -> SealBlock | None:
    """Delete the sealed rows of one chain older than cutoff; returns the purge block."""
    chain = sealing.chains()[name]
    with transaction.atomic():
        sealing.lock(name)
        victims = _victims(name, cutoff)
        if not victims:
            return None
        state = sealing.state_of(name)
        with purge_allowed():
            ids = _delete_rows(chain, victims)
        seqs = {b.seq for b in victims}
        header = {
            "kind": "purge", "cutoff": sealing.iso(cutoff), "count": len(ids),
            "purged_seqs": _ranges(sorted(seqs)), "purged_blocks": len(victims),
            "first_id": min(ids, default=None), "last_id": max(ids, default=None),
            "first_at": None, "last_at": None,
            "last_purged_seq": victims[-1].seq, "last_purged_hash": victims[-1].block_hash,
            # Hashes survivors (or this block) point back to: the chain stays checkable.
            "boundary": {str(b.seq): b.block_hash for b in victims if b.seq + 1 not in seqs},
            "id_high": state.id_high, "pending": sorted([i, d] for i, d in state.pending.items()),
        }  # fmt: skip
        return sealing.append_block(name, state, header, "[]")


def purge_before(cutoff: datetime) -> dict[str, int]:
    """Seal what is pending, then purge both chains; returns rows deleted per chain."""
    sealing.seal_all()
    result = {}
    for name in sealing.chains():
        block = purge_chain(name, cutoff)
        result[name] = block.count if block is not None else 0
    return result


def purge_expired() -> dict[str, int]:
    """Apply GATEWAY_AUDIT_RETENTION_DAYS (0 keeps everything)."""
    days = settings.GATEWAY_AUDIT_RETENTION_DAYS
    if days <= 0:
        return {}
    return purge_before(timezone.now() - timedelta(days=days))
