"""Admin changes: auditlog entries with secrets fully masked, explicit entries, sealed."""

from __future__ import annotations

from io import StringIO

import pytest
import yaml
from auditlog.context import set_actor
from auditlog.models import LogEntry
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from audit import sealing
from audit.changes import MASK, record_change
from audit.verify import verify_chain
from proxy.models import ProviderCredential
from tenants.models import ApiKey, Team
from tests.audit.helpers import tamper

pytestmark = pytest.mark.django_db

PROVIDER_SECRET = "sk-live-provider-canary-0123456789abcdef"


def _raw_logentries() -> str:
    """Every column of every change entry, as the database holds it."""
    with connection.cursor() as cur:
        cur.execute("SELECT * FROM auditlog_logentry")
        return "\n".join(repr(row) for row in cur.fetchall())


def _changes(obj, field: str) -> list[list[str]]:
    entries = LogEntry.objects.get_for_object(obj).order_by("pk")
    return [e.changes[field] for e in entries if e.changes and field in e.changes]


def test_secret_and_key_material_never_reach_the_change_log(world):
    world.mock.set_secret(PROVIDER_SECRET)
    world.mock.save()
    world.mock.set_secret(PROVIDER_SECRET + "-rotated")
    world.mock.save()
    new_key, new_plain = world.acme_key.rotate()
    raw = _raw_logentries()
    material = [PROVIDER_SECRET, world.mock.secret_encrypted, world.acme_key_plain, new_plain]
    for key in (world.acme_key, world.globex_key, new_key):
        # The display prefix (sgw- + 8 chars) is public by design; the rest of the id is not.
        material += [key.key_hash, key.key_hash[:32], key.key_hash[32:], key.lookup_id,
                     key.lookup_id[8:]]  # fmt: skip
    leaked = [m for m in material if m in raw]
    assert leaked == []
    secret_changes = _changes(world.mock, "secret_encrypted")  # create + two rotations
    assert len(secret_changes) == 3 and all(c == [MASK, MASK] for c in secret_changes)
    assert _changes(new_key, "key_hash") == [[MASK, MASK]]
    assert _changes(new_key, "lookup_id") == [[MASK, MASK]]


def test_changes_record_actor_time_and_diff(world):
    with set_actor(world.alice):
        world.search.name = "Search & Ranking"
        world.search.save()
    entry = LogEntry.objects.get_for_object(world.search).latest("timestamp")
    assert entry.actor == world.alice and entry.actor_email == "alice@example.com"
    assert entry.changes["name"] == ["Search", "Search & Ranking"]
    assert entry.timestamp <= timezone.now()


def test_api_key_revocation_and_model_allow_lists_are_logged(world):
    world.acme_key.allowed_models.add(world.route)
    world.acme_key.revoke()
    entries = LogEntry.objects.get_for_object(world.acme_key).order_by("pk")
    assert any("allowed_models" in (e.changes or {}) for e in entries)
    assert "revoked_at" in entries.last().changes


def test_bulk_updates_write_one_summary_entry(world):
    Team.objects.filter(org=world.acme).update(cost_center="CC-9")
    entry = LogEntry.objects.filter(object_pk="*").latest("pk")
    assert entry.changes == {"cost_center": [None, "CC-9"]}
    assert entry.additional_data == {"bulk": True, "rows": 2}
    before = LogEntry.objects.count()
    ApiKey.objects.filter(pk=world.acme_key.pk).update(last_used_at=timezone.now())
    assert LogEntry.objects.count() == before  # bookkeeping, not an admin change
    ApiKey.objects.filter(pk=world.acme_key.pk).update(key_hash="f" * 64)
    assert LogEntry.objects.latest("pk").changes == {"key_hash": [MASK, MASK]}


def test_record_change_masks_secret_fields_it_is_given(world):
    entry = record_change(actor="rotate_secrets", obj_or_label=world.mock, action="update",
                          changes={"secret_encrypted": ["gAAAA-old", "gAAAA-new"], "kind": "x"})  # fmt: skip
    assert entry.changes == {"secret_encrypted": [MASK, MASK], "kind": "x"}
    assert entry.additional_data == {"actor": "rotate_secrets"}
    assert "gAAAA" not in _raw_logentries()


def test_apply_config_writes_one_explicit_entry_per_change_line(tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_OPENAI_KEY", PROVIDER_SECRET)
    config = {
        "providers": [
            {
                "name": "openai",
                "kind": "openai",
                "base_url": "https://api.openai.com/v1",
                "api_key_env": "TEST_OPENAI_KEY",
            }
        ],
        "models": [{"name": "gpt", "deployments": [{"provider": "openai", "model": "gpt-4o"}]}],
        "organizations": [{"slug": "acme", "teams": [{"slug": "search"}]}],
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    out = StringIO()
    call_command("apply_config", str(path), "--dry-run", stdout=out)
    assert not LogEntry.objects.filter(additional_data__actor="apply_config").exists()
    call_command("apply_config", str(path), stdout=out)
    explicit = LogEntry.objects.filter(additional_data__actor="apply_config").order_by("pk")
    lines = [e.changes["apply_config"] for e in explicit]
    assert "create provider openai" in lines and "create team acme/search" in lines
    assert [e.get_action_display() for e in explicit][:1] == ["create"]
    monkeypatch.setenv("TEST_OPENAI_KEY", PROVIDER_SECRET + "-2")
    call_command("apply_config", str(path), stdout=out)
    assert explicit.last().changes == {"apply_config": "update provider openai: secret"}
    assert PROVIDER_SECRET not in _raw_logentries()
    assert ProviderCredential.objects.get(name="openai").secret() == PROVIDER_SECRET + "-2"


def test_change_entries_are_sealed_and_tampering_is_detected(world):
    sealing.seal_chain("changes")
    assert verify_chain("changes").finding is None
    entry = LogEntry.objects.get_for_object(world.search).first()
    tamper("UPDATE auditlog_logentry SET object_repr = 'acme/other' WHERE id = %s", [entry.pk])
    finding = verify_chain("changes").finding
    assert finding is not None and (finding.problem, finding.record_id) == ("altered", entry.pk)


def test_deleting_the_acting_user_keeps_the_change_chain_valid(world):
    with set_actor(world.erin):
        world.ads.name = "Ads 2"
        world.ads.save()
    sealing.seal_chain("changes")
    world.erin.delete()
    assert verify_chain("changes").finding is None
