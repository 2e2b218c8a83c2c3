"""Audit and usage search and export, scoped to the caller's organization and role."""

from __future__ import annotations

import csv
import io
import json

import pytest

from audit.models import AuditRecord
from tests.audit_helpers import globex_records
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def records(world):
    globex_records(world)
    for i, (decision, status) in enumerate([("allow", 200), ("block", 400), ("redact", 200)]):
        AuditRecord.objects.create(
            request_id=f"req-acme-{i}", org_id=world.acme.pk, org_slug="acme", team_id=world.search.pk,
            team_slug="search", key_id=world.acme_key.pk, key_prefix=world.acme_key.prefix,
            endpoint="/v1/chat/completions", model_requested="demo", status=status, decision=decision,
        )  # fmt: skip
    return world


def _ids(resp):
    return sorted(r["request_id"] for r in resp.json()["results"])


def test_search_filters_by_decision_and_status(records):
    client = client_for(records.alice)
    assert _ids(client.get("/api/v1/audit/?decision=block")) == ["req-acme-1"]
    assert _ids(client.get("/api/v1/audit/?status=200")) == ["req-acme-0", "req-acme-2"]
    assert _ids(client.get("/api/v1/audit/?team=search")) == [
        "req-acme-0",
        "req-acme-1",
        "req-acme-2",
    ]
    assert client.get("/api/v1/audit/?since=yesterday").status_code == 400


def test_exports_are_csv_and_json_lines_of_the_callers_org_only(records):
    client = client_for(records.bob)  # finance may read and export
    resp = client.get("/api/v1/audit/export/?as=csv")
    body = b"".join(resp.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [r["request_id"] for r in rows] == ["req-acme-0", "req-acme-1", "req-acme-2"]
    lines = b"".join(client.get("/api/v1/audit/export/?as=jsonl&decision=block").streaming_content)
    assert [json.loads(line)["request_id"] for line in lines.splitlines()] == ["req-acme-1"]
    assert "globex" not in body


def test_members_cannot_read_audit_records(records):
    assert client_for(records.erin).get("/api/v1/audit/").status_code == 403
    assert client_for(records.erin).get("/api/v1/usage/export/").status_code == 403


def test_team_admins_see_only_their_teams(records, world):
    AuditRecord.objects.create(
        request_id="req-ads",
        org_id=world.acme.pk,
        team_id=world.ads.pk,
        team_slug="ads",
        endpoint="/v1/chat/completions",
        status=200,
    )
    ids = _ids(client_for(world.dave).get("/api/v1/audit/"))
    assert "req-ads" not in ids and "req-acme-0" in ids
