from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tenants.models import ApiKey


@pytest.mark.django_db
def test_issued_key_is_found_by_its_plaintext(world):
    assert ApiKey.objects.for_key(world.acme_key_plain) == world.acme_key


@pytest.mark.django_db
def test_a_wrong_key_with_a_valid_lookup_id_is_not_found(world):
    tampered = world.acme_key_plain[:-1] + ("A" if world.acme_key_plain[-1] != "A" else "B")
    assert ApiKey.objects.for_key(tampered) is None


@pytest.mark.django_db
def test_revoked_and_expired_keys_are_inactive(world):
    key = world.acme_key
    assert key.is_active()
    key.revoke()
    assert not key.is_active()
    other, _ = ApiKey.objects.issue(
        team=world.search, name="old", expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert not other.is_active()


@pytest.mark.django_db
def test_rotation_keeps_the_old_key_during_the_grace_period(world):
    old = world.acme_key
    old.allowed_models.add(world.route)
    new, plaintext = old.rotate(grace_seconds=3600)
    old.refresh_from_db()
    assert old.is_active() and old.revoked_at is not None
    assert not old.is_active(now=timezone.now() + timedelta(hours=2))
    assert ApiKey.objects.for_key(plaintext) == new
    assert list(new.allowed_models.all()) == [world.route]


@pytest.mark.django_db
def test_revoking_never_postpones_an_earlier_revocation(world):
    key = world.acme_key
    key.revoke()
    first = key.revoked_at
    key.revoke(at=timezone.now() + timedelta(days=1))
    assert key.revoked_at == first
