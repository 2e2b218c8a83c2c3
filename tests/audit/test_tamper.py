"""verify_audit names the first altered, deleted, inserted or reordered row, and truncation."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from audit import sealing
from audit.models import AuditRecord, SealBlock
from audit.verify import verify_all, verify_chain
from tests.audit.helpers import make_records, tamper, tampering

pytestmark = pytest.mark.django_db


@pytest.fixture
def sealed():
    """Ten sealed records in two blocks (ids chosen so an older, free id exists below)."""
    records = make_records(10, start_id=50_000)
    sealing.seal_chain("requests", block_size=5)
    assert verify_chain("requests").finding is None
    return records


def _finding(seal_path=None):
    [requests, _changes] = verify_all(seal_path=seal_path)
    assert requests.finding is not None
    return requests.finding


def test_clean_trail_verifies_with_a_summary(sealed, tmp_path):
    sealing.write_seal(tmp_path / "seal.json")
    out = StringIO()
    call_command(
        "verify_audit", "--seal", str(tmp_path / "seal.json"), stdout=out, stderr=StringIO()
    )
    assert "requests: OK, 2 blocks, 10 rows sealed" in out.getvalue()
    assert "audit trail verified" in out.getvalue()


def test_an_updated_field_is_named_by_id_and_request_id(sealed):
    victim = sealed[6]
    tamper("UPDATE audit_auditrecord SET cost_usd = 0 WHERE id = %s", [victim.pk])
    finding = _finding()
    assert (finding.problem, finding.record_id, finding.label) == ("altered", victim.pk, "req-6")
    assert finding.seq == 2
    with pytest.raises(CommandError, match=rf"ALTERED record id={victim.pk} \(req-6\)"):
        call_command("verify_audit", stdout=StringIO(), stderr=StringIO())


def test_the_first_of_several_changes_is_reported(sealed):
    tamper("UPDATE audit_auditrecord SET status = 201 WHERE id IN (%s, %s)",
           [sealed[8].pk, sealed[3].pk])  # fmt: skip
    assert _finding().record_id == sealed[3].pk


def test_a_deleted_record_is_named(sealed):
    tamper("DELETE FROM audit_auditrecord WHERE id = %s", [sealed[2].pk])
    finding = _finding()
    assert (finding.problem, finding.record_id, finding.label) == ("deleted", sealed[2].pk, "req-2")


def test_a_forged_record_with_an_old_id_and_time_is_flagged_as_inserted(sealed):
    old = timezone.now() - timedelta(days=30)
    AuditRecord.objects.create(id=40_000, request_id="forged", created_at=old, endpoint="/v1/x",
                               status=200)  # fmt: skip
    finding = _finding()
    assert (finding.problem, finding.record_id, finding.label) == ("inserted", 40_000, "forged")


def test_a_new_record_above_the_watermark_is_only_not_sealed_yet(sealed):
    make_records(1, "fresh")
    report = verify_chain("requests")
    assert report.finding is None and report.unsealed == 1


def test_swapped_records_are_reported_as_reordered(sealed):
    a, b = sealed[1].pk, sealed[3].pk
    columns = [f.attname for f in AuditRecord._meta.concrete_fields if f.attname != "id"]
    rows = AuditRecord.objects.filter(pk__in=[a, b])
    with tampering():
        values = {row["id"]: row for row in rows.values("id", *columns)}
        rows.filter(pk=a).update(request_id="swap-tmp")
        for target, source in ((b, a), (a, b)):
            rows.filter(pk=target).update(**{c: values[source][c] for c in columns})
    finding = _finding()
    assert finding.problem == "reordered" and finding.record_id == a
    assert f"record id={b} (req-3)" in finding.detail


def test_truncated_newest_blocks_are_caught_by_the_exported_seal(sealed, tmp_path):
    seal = tmp_path / "seal.json"
    sealing.write_seal(seal)
    tamper("DELETE FROM audit_sealblock WHERE chain = 'requests' AND seq = 2")
    tamper("DELETE FROM audit_auditrecord WHERE id >= %s", [sealed[5].pk])
    assert verify_chain("requests").finding is None  # without the seal it looks consistent
    finding = _finding(seal)
    assert finding.problem == "truncated" and finding.seq == 2
    with pytest.raises(CommandError, match="TRUNCATED"):
        call_command("verify_audit", "--seal", str(seal), stdout=StringIO(), stderr=StringIO())


def test_resealing_after_truncation_no_longer_matches_the_seal(sealed, tmp_path):
    seal = tmp_path / "seal.json"
    sealing.write_seal(seal)
    tamper("DELETE FROM audit_sealblock WHERE chain = 'requests' AND seq = 2")
    tamper("UPDATE audit_auditrecord SET status = 500 WHERE id = %s", [sealed[7].pk])
    sealing.seal_chain("requests")  # the attacker lets the sealer re-seal the edited rows
    assert _finding(seal).problem == "block-rewritten"


def test_a_block_deleted_from_the_middle_breaks_the_chain(sealed):
    make_records(2, "more")
    sealing.seal_chain("requests")
    tamper("DELETE FROM audit_sealblock WHERE chain = 'requests' AND seq = 2")
    finding = _finding()
    assert (finding.problem, finding.seq) == ("block-deleted", 2)


def test_an_edited_block_header_is_detected(sealed):
    tamper("UPDATE audit_sealblock SET header = replace(header, '\"count\":5', '\"count\":4')"
           " WHERE seq = 1")  # fmt: skip
    assert (_finding().problem, _finding().seq) == ("block-altered", 1)


def test_a_wrong_key_fails_the_signature_check(sealed, settings):
    settings.GATEWAY_AUDIT_KEY = "not-the-sealing-key"
    finding = _finding()
    assert (finding.problem, finding.seq) == ("bad-signature", 1)
    assert "key id" in finding.detail


def test_a_block_recomputed_without_the_key_fails_the_signature(sealed):
    block = SealBlock.objects.get(chain="requests", seq=2)
    forged = block.header.replace('"count":5', '"count":5 ')
    tamper("UPDATE audit_sealblock SET header = %s, block_hash = %s WHERE id = %s",
           [forged, sealing.block_hash(forged), block.pk])  # fmt: skip
    assert (_finding().problem, _finding().seq) == ("bad-signature", 2)
