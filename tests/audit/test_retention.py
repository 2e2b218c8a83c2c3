"""Retention purge: deletes through the allowed path and leaves a sealed purge block."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import orjson
import pytest
from django.core.management import call_command
from django.utils import timezone

from audit import sealing
from audit.models import AuditRecord, SealBlock
from audit.retention import purge_chain
from audit.verify import verify_all, verify_chain
from tests.audit.helpers import make_records, tamper

pytestmark = pytest.mark.django_db


@pytest.fixture
def aged():
    """Two old blocks (60 and 40 days), one recent block."""
    now = timezone.now()
    old = make_records(4, "old", at=now - timedelta(days=60))
    older = make_records(4, "mid", at=now - timedelta(days=40))
    recent = make_records(4, "new", at=now - timedelta(days=1))
    sealing.seal_chain("requests", block_size=4)
    return old, older, recent


def test_purge_deletes_old_blocks_and_verifies_clean(aged, tmp_path):
    old, older, recent = aged
    sealing.write_seal(tmp_path / "before.json")
    block = purge_chain("requests", timezone.now() - timedelta(days=30))
    assert block is not None and block.kind == "purge" and block.count == 8
    assert set(AuditRecord.objects.values_list("request_id", flat=True)) == {
        r.request_id for r in recent
    }
    header = orjson.loads(block.header)
    assert header["purged_seqs"] == [[1, 2]] and header["last_purged_seq"] == 2
    assert header["first_id"] == old[0].pk and header["last_id"] == older[-1].pk
    report = verify_chain("requests")
    assert report.finding is None and report.records == 4
    assert report.purges == [f"#4 removed blocks #1-#2 (8 rows before {header['cutoff']})"]
    # An export from before the purge still verifies: its head (#3) survived.
    assert verify_all(seal_path=tmp_path / "before.json")[0].finding is None


def test_a_deleted_block_is_not_mistaken_for_a_purge(aged):
    tamper("DELETE FROM audit_sealblock WHERE chain = 'requests' AND seq = 1")
    tamper("DELETE FROM audit_auditrecord WHERE request_id LIKE 'old-%%'")
    finding = verify_chain("requests").finding
    assert finding is not None and (finding.problem, finding.seq) == ("block-deleted", 1)


def test_sealing_and_purging_continue_after_a_purge(aged):
    purge_chain("requests", timezone.now() - timedelta(days=50))
    make_records(2, "later")
    sealing.seal_chain("requests")
    purge_chain("requests", timezone.now() - timedelta(days=30))
    assert list(SealBlock.objects.filter(chain="requests").values_list("seq", "kind")) == [
        (3, "records"), (4, "purge"), (5, "records"), (6, "purge"),
    ]  # fmt: skip
    report = verify_chain("requests")
    assert report.finding is None and len(report.purges) == 2 and report.records == 6


def test_purge_is_idempotent_and_keeps_recent_rows(aged):
    cutoff = timezone.now() - timedelta(days=30)
    assert purge_chain("requests", cutoff) is not None
    assert purge_chain("requests", cutoff) is None
    assert AuditRecord.objects.count() == 4


def test_a_record_inserted_into_a_purged_range_is_flagged(aged):
    old, _, _ = aged
    purge_chain("requests", timezone.now() - timedelta(days=30))
    AuditRecord.objects.create(id=old[1].pk, request_id="forged", endpoint="/v1/x", status=200)
    finding = verify_chain("requests").finding
    assert finding is not None and (finding.problem, finding.record_id) == ("inserted", old[1].pk)


def test_purge_command_and_task_purge_both_chains(aged, world, settings, eager_celery):
    out = StringIO()
    cutoff = (timezone.now() - timedelta(days=30)).date().isoformat()
    call_command("purge_audit", "--before", cutoff, stdout=out)
    assert "requests: purged 8 rows" in out.getvalue()
    assert "changes: purged 0 rows" in out.getvalue()  # today's admin changes stay
    from audit.tasks import purge_audit_task

    assert purge_audit_task.delay().get() == {}  # retention off by default
    settings.GATEWAY_AUDIT_RETENTION_DAYS = 1
    purge_audit_task.delay().get()
    assert not AuditRecord.objects.filter(request_id__startswith="mid-").exists()
    assert all(r.finding is None for r in verify_all())
