"""Sealing: incremental, idempotent blocks; late commits sealed later; the seal exported."""

from __future__ import annotations

import json
import threading
from io import StringIO

import orjson
import pytest
from django.core.management import call_command
from django.db import connection, transaction

from audit import sealing
from audit.models import AuditRecord, SealBlock
from audit.sealing import _Run
from audit.verify import verify_chain
from tests.audit.helpers import entries, ids_of, make_record, make_records

pytestmark = pytest.mark.django_db


def test_sealing_is_incremental_and_idempotent():
    first = make_records(3, "a")
    [block1] = sealing.seal_chain("requests")
    assert ids_of(block1) == [r.pk for r in first]
    assert sealing.seal_chain("requests") == []  # nothing new: no empty block
    second = make_records(2, "b")
    [block2] = sealing.seal_chain("requests")
    assert ids_of(block2) == [r.pk for r in second]
    assert block2.prev_hash == block1.block_hash and block2.seq == 2
    assert [e[1] for e in entries(block2)] == ["b-0", "b-1"]
    report = verify_chain("requests")
    assert report.finding is None and (report.blocks, report.records) == (2, 5)


def test_a_large_backlog_is_split_into_chained_blocks():
    make_records(7)
    blocks = sealing.seal_chain("requests", block_size=3)
    assert [b.count for b in blocks] == [3, 3, 1]
    assert [b.prev_hash for b in blocks[1:]] == [b.block_hash for b in blocks[:-1]]
    assert verify_chain("requests").finding is None


def test_every_column_is_hashed_in_a_backend_independent_form():
    record = make_record("req-1")
    [block] = sealing.seal_chain("requests")
    header = orjson.loads(block.header)
    assert header["columns"][0] == "id" and "captured" in header["columns"]
    assert {f.attname for f in AuditRecord._meta.concrete_fields} == set(header["columns"])
    assert entries(block)[0][:2] == [record.pk, "req-1"]


def test_records_written_with_the_settlement_are_sealed_after_commit():
    with transaction.atomic():
        make_record("req-1")
        sealing.seal_chain("requests")  # a concurrent sealer would not even see it yet
    assert SealBlock.objects.filter(chain="requests").count() == 1


def test_seal_file_gets_one_line_per_sealing_run(
    tmp_path, settings, django_capture_on_commit_callbacks
):
    settings.GATEWAY_AUDIT_SEAL_FILE = str(tmp_path / "seal.jsonl")
    for batch in ("a", "b"):
        make_records(2, batch)
        with django_capture_on_commit_callbacks(execute=True):
            sealing.seal_chain("requests")
    lines = [json.loads(line) for line in (tmp_path / "seal.jsonl").read_text().splitlines()]
    assert [line["chains"]["requests"]["seq"] for line in lines] == [1, 2]
    head = SealBlock.objects.get(chain="requests", seq=2)
    assert sealing.read_seal(tmp_path / "seal.jsonl")["requests"]["hash"] == head.block_hash


def test_export_command_writes_the_newest_seal_of_each_chain(tmp_path):
    make_records(2)
    call_command("export_audit_seal", "--output", str(tmp_path / "seal.json"), stderr=StringIO())
    seal = json.loads((tmp_path / "seal.json").read_text())
    head = SealBlock.objects.get(chain="requests")
    assert seal["chains"]["requests"] == {
        "seq": 1, "kind": "records", "hash": head.block_hash, "signature": head.signature,
        "created_at": sealing.iso(head.created_at),
    }  # fmt: skip


def test_seal_task_seals_both_chains(eager_celery, world):
    from audit.tasks import seal_audit_task

    make_records(2)
    result = seal_audit_task.delay().get()
    assert result["requests"] == 2 and result["changes"] > 0  # world fixture writes changes
    assert seal_audit_task.delay().get() == {"requests": 0, "changes": 0}


def test_gaps_get_a_deadline_then_are_dropped_once_their_writers_finished():
    run = _Run(sealing.chains()["requests"], sealing.ChainState(), xmin=100, xmax=120)
    assert run._aged({5: None, 6: 110, 7: 90}) == {5: 120, 6: 110}
    sqlite_run = _Run(sealing.chains()["requests"], sealing.ChainState(), xmin=None, xmax=None)
    assert sqlite_run._aged({5: None}) == {}  # one writer at a time: a gap never fills


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_a_record_committed_after_a_later_one_is_sealed_later_not_flagged():
    make_record("before")
    sealing.seal_chain("requests")  # so the late id is a gap above the watermark, not a start
    started, release = threading.Event(), threading.Event()

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                make_record("late")  # takes the lower id, commits last
                started.set()
                release.wait(20)
        finally:
            connection.close()

    writer = threading.Thread(target=slow_writer)
    writer.start()
    assert started.wait(20)
    early = make_record("early")
    [first] = sealing.seal_chain("requests")
    assert ids_of(first) == [early.pk]
    release.set()
    writer.join(20)
    late = AuditRecord.objects.get(request_id="late")
    assert late.pk < early.pk
    assert late.pk in {i for i, _ in orjson.loads(first.header)["pending"]}
    report = verify_chain("requests")
    assert report.finding is None and report.unsealed == 1  # not sealed yet, not "inserted"
    [second] = sealing.seal_chain("requests")
    assert ids_of(second) == [late.pk]
    report = verify_chain("requests")
    assert report.finding is None and (report.records, report.unsealed) == (3, 0)


def test_a_backlog_larger_than_one_run_is_sealed_over_several_runs():
    records = make_records(5)
    assert sum(b.count for b in sealing.seal_chain("requests", max_rows=3)) == 3
    assert verify_chain("requests").unsealed == 2
    [block] = sealing.seal_chain("requests", max_rows=3)
    assert ids_of(block) == [r.pk for r in records[3:]]
    assert verify_chain("requests").finding is None
