"""The database itself refuses to rewrite or remove audit rows, outside the retention purge."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, transaction

from audit import sealing
from audit.models import AuditRecord, SealBlock
from audit.retention import purge_allowed
from tests.audit.helpers import make_record

pytestmark = pytest.mark.django_db


def _refused(sql: str, params: list[object] | None = None) -> bool:
    try:
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql, params)
    except DatabaseError as exc:
        assert "append-only" in str(exc)
        return True
    return False


def test_update_and_delete_of_request_records_are_refused():
    record = make_record("req-1")
    assert _refused("UPDATE audit_auditrecord SET status = 500 WHERE id = %s", [record.pk])
    assert _refused("DELETE FROM audit_auditrecord WHERE id = %s", [record.pk])
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditRecord.objects.filter(pk=record.pk).update(cost_usd=0)
    with pytest.raises(DatabaseError), transaction.atomic():
        record.delete()
    assert AuditRecord.objects.get(pk=record.pk).status == 200


def test_seal_blocks_cannot_be_rewritten_or_removed():
    make_record("req-1")
    sealing.seal_chain("requests")
    assert _refused("UPDATE audit_sealblock SET signature = 'x'")
    assert _refused("DELETE FROM audit_sealblock")
    assert SealBlock.objects.count() == 1


def test_change_entries_refuse_edits_but_allow_clearing_a_deleted_actor():
    from auditlog.context import set_actor
    from auditlog.models import LogEntry

    from tenants.models import Organization

    user = get_user_model().objects.create_user("ops", "ops@example.com", "pw-1-long-enough")
    with set_actor(user):
        Organization.objects.create(slug="initech", name="Initech")
    entry = LogEntry.objects.get(actor=user)
    assert _refused("UPDATE auditlog_logentry SET object_repr = 'x' WHERE id = %s", [entry.pk])
    assert _refused("DELETE FROM auditlog_logentry WHERE id = %s", [entry.pk])
    user.delete()  # Django sets actor_id to NULL: the one update the trigger lets through
    entry.refresh_from_db()
    assert entry.actor_id is None and entry.actor_email == "ops@example.com"


def test_the_purge_allowance_is_scoped_to_its_transaction():
    record = make_record("req-1")
    with transaction.atomic(), purge_allowed():
        AuditRecord.objects.filter(pk=record.pk).delete()
    other = make_record("req-2")
    assert _refused("DELETE FROM audit_auditrecord WHERE id = %s", [other.pk])


@pytest.mark.needs_postgres
def test_truncate_is_refused_on_postgres():
    make_record("req-1")
    assert _refused("TRUNCATE audit_auditrecord")
    assert _refused("TRUNCATE audit_sealblock")
    assert _refused("TRUNCATE auditlog_logentry")
    assert AuditRecord.objects.count() == 1


@pytest.mark.needs_postgres
def test_postgres_update_stays_refused_even_with_the_purge_setting():
    record = make_record("req-1")
    with transaction.atomic(), purge_allowed():
        assert _refused("UPDATE audit_auditrecord SET status = 1 WHERE id = %s", [record.pk])
