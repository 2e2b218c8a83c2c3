"""Verification: recompute every block and row digest, walk the chain, compare with the seal.

Stops at the first problem per chain and names it: a block whose hash, signature or link is
wrong, a block missing without a purge recording it, a row altered, deleted, moved to another
id (reordered) or inserted below the sealed watermark, and newest blocks missing compared to
an exported seal (truncation). Rows above the watermark, or still pending, are "not sealed yet".
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from audit import sealing
from audit.models import SealBlock


@dataclass
class Finding:
    chain: str
    problem: str  # altered | deleted | inserted | reordered | block-* | truncated | ...
    detail: str
    record_id: int | None = None
    label: str = ""
    seq: int | None = None

    def __str__(self) -> str:
        where = f"record id={self.record_id} ({self.label or '?'})" if self.record_id else ""
        block = f"block #{self.seq}" if self.seq is not None else ""
        place = ", ".join(p for p in (where, block) if p)
        head = f"{self.chain}: {self.problem.upper()}" + (f" {place}" if place else "")
        return f"{head}: {self.detail}"


@dataclass
class ChainReport:
    chain: str
    blocks: int = 0
    records: int = 0
    unsealed: int = 0
    head_seq: int = 0
    head_hash: str = sealing.GENESIS
    purges: list[str] = field(default_factory=list)
    finding: Finding | None = None

    def summary(self) -> str:
        purges = f"; purges: {', '.join(self.purges)}" if self.purges else ""
        return (
            f"{self.chain}: OK, {self.blocks} blocks, {self.records} rows sealed, "
            f"{self.unsealed} not sealed yet, head #{self.head_seq} {self.head_hash[:16]}{purges}"
        )


@dataclass
class _Purges:
    seqs: set[int] = field(default_factory=set)
    boundary: dict[int, str] = field(default_factory=dict)


def _purges(chain: str) -> _Purges:
    """What signed purge blocks say was removed (checked themselves in the walk)."""
    found = _Purges()
    for text in SealBlock.objects.filter(chain=chain, kind="purge").values_list(
        "header", flat=True
    ):
        header = orjson.loads(text)
        for low, high in header.get("purged_seqs", []):
            found.seqs.update(range(low, high + 1))
        found.boundary.update({int(s): h for s, h in header.get("boundary", {}).items()})
    return found


def _expected_prev(report: ChainReport, seq: int, purges: _Purges) -> str | Finding:
    """The hash block `seq` must point to, or the finding that the link is gone."""
    gap = range(report.head_seq + 1, seq)
    missing = [s for s in gap if s not in purges.seqs]
    if missing:
        return Finding(report.chain, "block-deleted", "missing and no purge records it", None,
                       "", missing[0])  # fmt: skip
    if seq - 1 == report.head_seq:
        return report.head_hash if seq > 1 else sealing.GENESIS
    if seq - 1 in purges.boundary:
        return purges.boundary[seq - 1]
    return Finding(report.chain, "block-deleted", "no purge records its hash", None, "", seq - 1)


def _check_block(
    report: ChainReport, block: SealBlock, purges: _Purges, key: bytes
) -> Finding | None:
    """Hash, signature, link and the columns that repeat the header."""
    bad = Finding(report.chain, "block-altered", "", seq=block.seq)
    header = orjson.loads(block.header)
    if sealing.block_hash(block.header) != block.block_hash:
        bad.detail = "header does not match its hash"
    elif not hmac.compare_digest(sealing.sign(block.block_hash, key), block.signature):
        bad.problem, bad.detail = (
            "bad-signature",
            (
                f"signature invalid (block key id {header.get('key_id')}, "
                f"verifying key id {sealing.key_id(key)})"
            ),
        )
    elif (header["chain"], header["seq"], header["kind"], header["prev"]) != (
        report.chain, block.seq, block.kind, block.prev_hash,
    ):  # fmt: skip
        bad.detail = "columns disagree with the signed header"
    elif hashlib.sha256(block.entries.encode()).hexdigest() != header["entries_sha256"]:
        bad.detail = "row list does not match the signed header"
    else:
        expected = _expected_prev(report, block.seq, purges)
        if isinstance(expected, Finding):
            return expected
        if expected != block.prev_hash:
            bad.problem, bad.detail = "block-reordered", "does not follow its predecessor"
        else:
            return None
    return bad


def _check_rows(report: ChainReport, chain: sealing.Chain, block: SealBlock) -> Finding | None:
    """Recompute each listed row's digest: deleted, altered or reordered (moved to another id)."""
    header: dict[str, Any] = orjson.loads(block.header)
    entries: list[list[Any]] = orjson.loads(block.entries)
    columns: list[str] = header["columns"]
    rows = chain.model._default_manager.filter(pk__in=[e[0] for e in entries])
    by_id = {int(row[0]): row for row in rows.values_list(*columns)}
    digests = []
    for ident, label, short in entries:
        row = by_id.get(int(ident))
        if row is None:
            return Finding(chain.name, "deleted", "row is gone", ident, label, block.seq)
        digest = sealing.row_digest(chain.name, row)
        if digest.hex()[: sealing.DIGEST_CHARS] != short:
            moved = _moved_from(chain, row, entries, ident, columns.index(chain.label))
            if moved is not None:
                detail = f"now holds the content of record id={moved[0]} ({moved[1]})"
                return Finding(chain.name, "reordered", detail, ident, label, block.seq)
            return Finding(chain.name, "altered", "content changed", ident, label, block.seq)
        digests.append(digest)
    if hashlib.sha256(b"".join(digests)).hexdigest() != header["records_sha256"]:
        return Finding(chain.name, "altered", "rows do not match the block hash", seq=block.seq)
    return None


def _moved_from(chain: sealing.Chain, row: tuple[Any, ...], entries: list[list[Any]],
                ident: int, label_at: int) -> list[Any] | None:  # fmt: skip
    """The entry whose sealed content this row now holds under another id, if any."""
    for entry in entries:
        if entry[1] == row[label_at] and entry[0] != ident:
            digest = sealing.row_digest(chain.name, (entry[0], *row[1:]))
            if digest.hex()[: sealing.DIGEST_CHARS] == entry[2]:
                return entry
    return None


def _check_inserted(report: ChainReport, chain: sealing.Chain, sealed: set[int],
                    header: dict[str, Any] | None) -> Finding | None:  # fmt: skip
    """Rows nobody sealed: fine above the watermark or pending, inserted below it."""
    high = header["id_high"] if header else None
    pending = {int(i) for i, _ in header["pending"]} if header else set()
    rows = chain.model._default_manager.order_by("pk").values_list("pk", chain.label)
    for ident, label in rows.iterator(chunk_size=sealing.BLOCK_SIZE):
        if ident in sealed:
            continue
        if high is None or ident > high or ident in pending:
            report.unsealed += 1
            continue
        detail = f"not in any block although below the sealed watermark (id_high={high})"
        return Finding(chain.name, "inserted", detail, ident, str(label))
    return None


def _check_seal(report: ChainReport, seal: dict[str, Any] | None,
                purges: _Purges) -> Finding | None:  # fmt: skip
    """The database must still hold (at least) the newest block the external seal names."""
    if seal is None:
        return None
    seq, digest = int(seal["seq"]), seal["hash"]
    if seq > report.head_seq:
        detail = f"blocks #{report.head_seq + 1}..#{seq} missing: the exported seal has #{seq}"
        return Finding(report.chain, "truncated", detail, seq=report.head_seq + 1)
    if seq in purges.seqs:
        return None  # an old seal of a block purged since; the purge block vouches for it
    stored = SealBlock.objects.filter(chain=report.chain, seq=seq).first()
    if stored is None or stored.block_hash != digest:
        detail = "differs from the exported seal (chain rewritten)"
        return Finding(report.chain, "block-rewritten", detail, seq=seq)
    return None


def verify_chain(name: str, *, seal: dict[str, Any] | None = None,
                 key: bytes | None = None) -> ChainReport:  # fmt: skip
    """Check one chain end to end; report.finding is the first problem, if any."""
    chain, key = sealing.chains()[name], key or sealing.signing_key()
    report, purges = ChainReport(name), _purges(name)
    sealed: set[int] = set()
    header: dict[str, Any] | None = None
    for block in SealBlock.objects.filter(chain=name).order_by("seq").iterator(chunk_size=20):
        report.finding = _check_block(report, block, purges, key)
        if report.finding is None and block.kind == "records":
            report.finding = _check_rows(report, chain, block)
        if report.finding is not None:
            return report
        header = orjson.loads(block.header)
        if block.kind == "records":
            sealed.update(int(e[0]) for e in orjson.loads(block.entries))
        else:
            report.purges.append(_describe_purge(block.seq, header))
        report.blocks, report.head_seq, report.head_hash = (
            report.blocks + 1, block.seq, block.block_hash,
        )  # fmt: skip
    report.records = len(sealed)
    report.finding = _check_inserted(report, chain, sealed, header) or _check_seal(
        report, seal, purges
    )
    return report


def _describe_purge(seq: int, header: dict[str, Any]) -> str:
    blocks = ",".join(f"#{a}-#{b}" if a != b else f"#{a}" for a, b in header["purged_seqs"])
    return f"#{seq} removed blocks {blocks} ({header['count']} rows before {header['cutoff']})"


def verify_all(*, seal_path: Path | None = None, key: bytes | None = None) -> list[ChainReport]:
    """Verify every chain, against the exported seal when given."""
    heads = sealing.read_seal(seal_path) if seal_path is not None else {}
    return [verify_chain(name, seal=heads.get(name), key=key) for name in sealing.chains()]
