"""Django admin: audit records and seal blocks are read-only and never show captured text."""

from __future__ import annotations

import pytest

from audit import sealing
from audit.models import SealBlock
from tests.audit.helpers import make_record

pytestmark = pytest.mark.django_db

CANARY = "gAAAAB-captured-prompt-canary"


def test_audit_records_are_shown_read_only_without_the_captured_prompt(admin_client):
    record = make_record("req-admin-1", captured=CANARY)
    listing = admin_client.get("/admin/audit/auditrecord/")
    detail = admin_client.get(f"/admin/audit/auditrecord/{record.pk}/change/")
    assert listing.status_code == detail.status_code == 200
    assert "req-admin-1" in listing.content.decode() and "req-admin-1" in detail.content.decode()
    assert CANARY not in listing.content.decode() + detail.content.decode()
    assert "captured" not in detail.content.decode().lower()
    assert admin_client.get("/admin/audit/auditrecord/add/").status_code == 403
    assert admin_client.post(f"/admin/audit/auditrecord/{record.pk}/change/",
                             {"status": 500}).status_code == 403  # fmt: skip
    assert admin_client.post(f"/admin/audit/auditrecord/{record.pk}/delete/",
                             {"post": "yes"}).status_code == 403  # fmt: skip
    record.refresh_from_db()
    assert record.status == 200


def test_seal_blocks_are_read_only_in_the_admin(admin_client):
    make_record("req-admin-2")
    [block] = sealing.seal_chain("requests")
    detail = admin_client.get(f"/admin/audit/sealblock/{block.pk}/change/")
    assert detail.status_code == 200 and block.block_hash in detail.content.decode()
    assert admin_client.post(f"/admin/audit/sealblock/{block.pk}/delete/",
                             {"post": "yes"}).status_code == 403  # fmt: skip
    assert SealBlock.objects.count() == 1
