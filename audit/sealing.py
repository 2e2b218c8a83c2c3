"""Sealing: signed hash-chain blocks over committed audit rows (requests and admin changes).

Writers never touch a chain: they only INSERT rows, and a periodic sealer (one at a time per
chain, under a lock) appends blocks that list the rows they cover and hash every column of
each. Ids come from a sequence, and on PostgreSQL a transaction holding a lower id may commit
after a higher one was sealed, so each block records the highest id it covered (`id_high`) and
the ids below it that were not visible yet (`pending`, each with an xid deadline). A pending id
that appears later is sealed by a later block; one still absent once every transaction that
could hold it has finished (snapshot xmin past the deadline) is dropped as rolled back. An id
at or below `id_high` that is neither sealed nor pending was therefore inserted afterwards.
SQLite has one writer at a time, so ids become visible in order and nothing is ever pending.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from audit.models import AuditRecord, SealBlock

GENESIS = "0" * 64
FORMAT = 1
BLOCK_SIZE = 5000
# Bounds one run's transaction (and, on SQLite, how long it holds the write lock).
MAX_ROWS_PER_RUN = 200_000
DIGEST_CHARS = 16  # per-row digest prefix kept in the block to name the altered row
# First seal on PostgreSQL: ids this far below the oldest visible one may still be in flight.
FIRST_RUN_WINDOW = 1000


@dataclass(frozen=True)
class Chain:
    name: str
    model: type[models.Model]
    label: str  # column naming a row in reports
    time: str  # column the retention cutoff applies to
    exclude: frozenset[str] = frozenset()

    def columns(self) -> list[str]:
        """Every column that is hashed, primary key first."""
        fields = self.model._meta.concrete_fields
        return [f.attname for f in fields if f.attname not in self.exclude]


def chains() -> dict[str, Chain]:
    """The sealed tables; auditlog's actor_id is left out because deleting a user clears it."""
    from auditlog.models import LogEntry

    return {
        "requests": Chain("requests", AuditRecord, "request_id", "created_at"),
        "changes": Chain("changes", LogEntry, "object_repr", "timestamp", frozenset({"actor_id"})),
    }


# --- canonical form, hashing and signatures ----------------------------------------------------


def _plain(value: Any) -> Any:
    """A backend-independent JSON value for one column."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    return value


_NATIVE = frozenset({str, int, float, bool, type(None), list, dict})


def row_digest(chain: str, row: Iterable[Any]) -> bytes:
    """SHA-256 of one row's canonical serialisation (values in the block's column order)."""
    values = [v if type(v) in _NATIVE else _plain(v) for v in row]  # fast path: most columns
    payload = orjson.dumps([chain, *values], option=orjson.OPT_SORT_KEYS, default=str)
    return hashlib.sha256(payload).digest()


def signing_key() -> bytes:
    """A sealing-only key derived from GATEWAY_AUDIT_KEY (not reused for prompt HMACs)."""
    secret = settings.GATEWAY_AUDIT_KEY.encode()
    return hmac.new(secret, b"sgw-audit-seal-v1", hashlib.sha256).digest()


def key_id(key: bytes) -> str:
    """A short public fingerprint of the key, so a wrong key is reported as such."""
    return hashlib.sha256(b"sgw-audit-key-id" + key).hexdigest()[:12]


def block_hash(header_text: str) -> str:
    return hashlib.sha256(b"sgw-audit-block\n" + header_text.encode()).hexdigest()


def sign(digest: str, key: bytes) -> str:
    return hmac.new(key, digest.encode(), hashlib.sha256).hexdigest()


def dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


# --- chain state and locking -------------------------------------------------------------------


@dataclass
class ChainState:
    seq: int = 0
    head: str = GENESIS
    id_high: int | None = None
    pending: dict[int, int | None] = field(default_factory=dict)


def lock(chain: str) -> None:
    """Serialise sealers and purges of one chain (SQLite: the IMMEDIATE transaction does)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"sgw-audit:{chain}"])


def head_block(chain: str) -> SealBlock | None:
    return SealBlock.objects.filter(chain=chain).order_by("-seq").first()


def state_of(chain: str) -> ChainState:
    head = head_block(chain)
    if head is None:
        return ChainState()
    header = orjson.loads(head.header)
    pending = {int(i): d for i, d in header["pending"]}
    return ChainState(head.seq, head.block_hash, header["id_high"], pending)


def snapshot() -> tuple[int | None, int | None]:
    """(xmin, xmax) of the current PostgreSQL snapshot; (None, None) elsewhere."""
    if connection.vendor != "postgresql":
        return None, None
    with connection.cursor() as cur:
        cur.execute(
            "SELECT pg_snapshot_xmin(s)::text::bigint, pg_snapshot_xmax(s)::text::bigint"
            " FROM pg_current_snapshot() AS s"
        )
        xmin, xmax = cur.fetchone()
    return int(xmin), int(xmax)


# --- appending blocks --------------------------------------------------------------------------


def append_block(chain: str, state: ChainState, header: dict[str, Any], entries: str) -> SealBlock:
    """Hash, sign and insert the next block after `state`, and advance `state`."""
    key = signing_key()
    now = timezone.now()
    header.update(
        v=FORMAT, chain=chain, seq=state.seq + 1, prev=state.head, created_at=iso(now),
        key_id=key_id(key), entries_sha256=hashlib.sha256(entries.encode()).hexdigest(),
    )  # fmt: skip
    text = dumps(header)
    digest = block_hash(text)
    block = SealBlock.objects.create(
        chain=chain, seq=state.seq + 1, kind=header["kind"], created_at=now,
        first_at=_parse(header.get("first_at")), last_at=_parse(header.get("last_at")),
        count=header["count"], prev_hash=state.head, block_hash=digest,
        signature=sign(digest, key), header=text, entries=entries,
    )  # fmt: skip
    state.seq, state.head = block.seq, digest
    return block


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _chunks(ids: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


@dataclass
class _Run:
    """One sealing pass over a chain, inside the chain lock."""

    chain: Chain
    state: ChainState
    xmin: int | None
    xmax: int | None
    carried: dict[int, int | None] = field(default_factory=dict)

    def candidates(self) -> list[int]:
        """Visible ids not sealed yet: above id_high, or pending from an earlier block."""
        pk = self.chain.model._meta.pk
        assert pk is not None
        ids = self.chain.model._default_manager.order_by(pk.attname).values_list(pk.attname)
        if self.state.id_high is not None:
            ids = ids.filter(**{f"{pk.attname}__gt": self.state.id_high})
        new = [int(i) for (i,) in ids]
        pending = sorted(self.state.pending)
        visible = {int(i) for (i,) in self._rows_of(pending, [pk.attname])}
        self.carried = self._aged({i: self.state.pending[i] for i in pending if i not in visible})
        if self.state.id_high is None and new and self.xmin is not None:
            low = max(1, new[0] - FIRST_RUN_WINDOW)
            self.carried.update(dict.fromkeys(range(low, new[0])))
        return sorted(visible) + new

    def _aged(self, pending: dict[int, int | None]) -> dict[int, int | None]:
        """Give new gaps a deadline; drop gaps whose possible writers have all finished."""
        if self.xmin is None:
            return {}
        aged: dict[int, int | None] = {}
        for ident, deadline in pending.items():
            if deadline is None:
                aged[ident] = self.xmax
            elif self.xmin < deadline:
                aged[ident] = deadline
        return aged

    def _rows_of(self, ids: list[int], columns: list[str]) -> list[tuple[Any, ...]]:
        pk = self.chain.model._meta.pk
        assert pk is not None
        rows: list[tuple[Any, ...]] = []
        for part in _chunks(ids, BLOCK_SIZE):
            query = self.chain.model._default_manager.filter(**{f"{pk.attname}__in": part})
            rows.extend(query.order_by(pk.attname).values_list(*columns))
        return rows

    def seal(self, ids: list[int]) -> SealBlock:
        """Seal `ids` (sorted, visible) as one block."""
        columns = self.chain.columns()
        rows = self._rows_of(ids, columns)
        label, when = columns.index(self.chain.label), columns.index(self.chain.time)
        digests = [row_digest(self.chain.name, row) for row in rows]
        entries = [
            [row[0], row[label], d.hex()[:DIGEST_CHARS]]
            for row, d in zip(rows, digests, strict=True)
        ]
        times = [row[when] for row in rows]
        self._track_gaps(ids)
        header = {
            "kind": "records", "columns": columns, "count": len(rows),
            "first_id": ids[0], "last_id": ids[-1], "first_at": iso(min(times)),
            "last_at": iso(max(times)),
            "records_sha256": hashlib.sha256(b"".join(digests)).hexdigest(),
            "id_high": self.state.id_high, "xmin": self.xmin, "xmax": self.xmax,
            "pending": sorted([i, d] for i, d in self.carried.items()),
        }  # fmt: skip
        return append_block(self.chain.name, self.state, header, dumps(entries))

    def _track_gaps(self, ids: list[int]) -> None:
        """Advance id_high over `ids` (sorted); ids skipped on the way become pending."""
        for ident in ids:
            self.carried.pop(ident, None)
        high = self.state.id_high if self.state.id_high is not None else ids[0] - 1
        for ident in ids:
            if ident > high + 1 and self.xmin is not None:
                self.carried.update(dict.fromkeys(range(high + 1, ident)))
            high = max(high, ident)
        self.state.id_high = high


def seal_chain(
    name: str, *, block_size: int = BLOCK_SIZE, max_rows: int = MAX_ROWS_PER_RUN
) -> list[SealBlock]:
    """Seal committed, unsealed rows of one chain (oldest first); safe to run at any time."""
    chain = chains()[name]
    with transaction.atomic():
        lock(name)
        xmin, xmax = snapshot()
        run = _Run(chain, state_of(name), xmin, xmax)
        ids = run.candidates()[:max_rows]  # a backlog is worked off over several runs
        blocks = [run.seal(part) for part in _chunks(ids, block_size)]
        if blocks and settings.GATEWAY_AUDIT_SEAL_FILE:
            path = Path(settings.GATEWAY_AUDIT_SEAL_FILE)
            transaction.on_commit(lambda: append_seal(path, [name]))
    return blocks


def seal_all(*, block_size: int = BLOCK_SIZE) -> dict[str, int]:
    """Seal both chains; returns the number of rows sealed per chain."""
    result = {}
    for name in chains():
        result[name] = sum(b.count for b in seal_chain(name, block_size=block_size))
    return result


# --- the seal exported outside the database ----------------------------------------------------


def current_seal(names: Iterable[str] | None = None) -> dict[str, Any]:
    """The newest block of each chain: what an external copy must remember."""
    heads = {}
    for name in names or chains():
        head = head_block(name)
        if head is not None:
            heads[name] = {
                "seq": head.seq, "kind": head.kind, "hash": head.block_hash,
                "signature": head.signature, "created_at": iso(head.created_at),
            }  # fmt: skip
    return {
        "format": "sgw-audit-seal/1",
        "exported_at": iso(timezone.now()),
        "key_id": key_id(signing_key()),
        "chains": heads,
    }


def write_seal(path: Path) -> dict[str, Any]:
    seal = current_seal()
    path.write_text(orjson.dumps(seal, option=orjson.OPT_INDENT_2).decode() + "\n")
    return seal


def append_seal(path: Path, names: Iterable[str] | None = None) -> None:
    """Append one JSON line with the new heads (the file is the external witness)."""
    with path.open("a") as out:
        out.write(dumps(current_seal(names)) + "\n")


def read_seal(path: Path) -> dict[str, dict[str, Any]]:
    """Newest head per chain from an exported seal (one JSON document or JSON lines)."""
    text = path.read_text()
    try:
        docs = [orjson.loads(text)]
    except orjson.JSONDecodeError:
        docs = [orjson.loads(line) for line in text.splitlines() if line.strip()]
    heads: dict[str, dict[str, Any]] = {}
    for doc in docs:
        for name, head in doc.get("chains", {}).items():
            if name not in heads or head["seq"] >= heads[name]["seq"]:
                heads[name] = head
    return heads
