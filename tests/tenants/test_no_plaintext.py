"""No plaintext API key, personal token or provider secret is stored anywhere in the database."""

from __future__ import annotations

import pytest
from django.db import connection

from proxy.models import ProviderCredential
from tenants.models import ApiKey, PersonalToken

pytestmark = pytest.mark.django_db


def _dump_all_tables() -> str:
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            chunks.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(chunks)


def test_raw_tables_hold_no_plaintext_secrets(world):
    _, rotated = world.acme_key.rotate(grace_seconds=10)
    _, token = PersonalToken.objects.issue(user=world.alice, name="t")
    provider = ProviderCredential(
        name="openai", kind="openai", base_url="https://api.openai.com/v1"
    )
    provider.set_secret("sk-proj-CANARYcanary0123456789")
    provider.save()
    dump = _dump_all_tables()
    for secret in (world.acme_key_plain, world.globex_key_plain, rotated, token):
        assert secret not in dump
        assert secret[4:] not in dump  # not even the random part without its prefix
    assert "CANARYcanary" not in dump
    assert ApiKey.objects.count() == 3
