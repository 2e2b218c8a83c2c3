"""The per-process key cache: hits skip the database, revocations are never cached back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.utils import timezone

from tenants import auth
from tenants.auth import AuthError, KeyResolver, client_ip, presented_key

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def loads(monkeypatch):
    calls = []
    real = auth.load_key_context

    def counting(presented):
        calls.append(presented)
        return real(presented)

    monkeypatch.setattr(auth, "load_key_context", counting)
    return calls


async def test_second_request_is_served_from_the_cache(world, loads):
    resolver = KeyResolver()
    first = await resolver.authenticate(world.acme_key_plain, "10.0.0.1")
    second = await resolver.authenticate(world.acme_key_plain, "10.0.0.1")
    assert first == second
    assert first.org_slug == "acme" and first.team_slug == "search"
    assert len(loads) == 1


async def test_unknown_expired_and_revoked_keys_get_the_same_401(world):
    resolver = KeyResolver()
    expired_key, expired = await sync_to_async(_issue_expired)(world)
    await sync_to_async(world.globex_key.revoke)()
    messages = set()
    for presented in ("sgw-" + "x" * 43, expired, world.globex_key_plain, "nonsense"):
        with pytest.raises(AuthError) as err:
            await resolver.authenticate(presented, "10.0.0.2")
        assert err.value.status == 401 and err.value.code == "invalid_api_key"
        messages.add(err.value.message)
    assert len(messages) == 1


def _issue_expired(world):
    from tenants.models import ApiKey

    return ApiKey.objects.issue(
        team=world.search, name="expired", expires_at=timezone.now() - timedelta(minutes=1)
    )


async def test_revocation_is_seen_after_the_epoch_moves(world, settings):
    settings.GATEWAY_CONFIG_POLL_S = 0.0
    resolver = KeyResolver()
    await resolver.authenticate(world.acme_key_plain, "10.0.0.3")
    await sync_to_async(world.acme_key.revoke)()
    with pytest.raises(AuthError):
        await resolver.authenticate(world.acme_key_plain, "10.0.0.3")


async def test_a_key_loaded_while_the_epoch_moved_is_not_cached(world, settings, monkeypatch):
    settings.GATEWAY_CONFIG_POLL_S = 0.0
    resolver = KeyResolver()
    await resolver._epoch.refresh()
    real = auth.load_key_context

    def load_then_revoke(presented):
        ctx = real(presented)  # read before the revocation: still active
        world.acme_key.revoke()
        # Meanwhile another request on this process notices the new epoch.
        async_to_sync(resolver._epoch.refresh)()
        return ctx

    monkeypatch.setattr(auth, "load_key_context", load_then_revoke)
    ctx = await resolver.authenticate(world.acme_key_plain, "1.1.1.1")
    assert ctx.key_id == world.acme_key.pk  # the in-flight request itself completes
    assert resolver._entries == {}  # but its stale result was not cached
    monkeypatch.setattr(auth, "load_key_context", real)
    with pytest.raises(AuthError):
        await resolver.authenticate(world.acme_key_plain, "1.1.1.1")


async def test_failed_attempts_are_throttled_without_database_queries(world, settings, loads):
    settings.GATEWAY_AUTH_FAILURES_PER_MIN = 3
    resolver = KeyResolver()
    ip = f"10.9.{id(resolver) % 250}.1"
    for i in range(3):
        with pytest.raises(AuthError) as err:
            await resolver.authenticate(f"sgw-{i:043d}", ip)
        assert err.value.status == 401
    with pytest.raises(AuthError) as err:
        await resolver.authenticate("sgw-" + "9" * 43, ip)
    assert err.value.status == 429 and err.value.retry_after
    queries_before = len(loads)
    with pytest.raises(AuthError) as err:
        await resolver.authenticate("sgw-" + "8" * 43, ip)
    assert err.value.status == 429
    assert len(loads) == queries_before
    # Another client address is not affected.
    ctx = await resolver.authenticate(world.acme_key_plain, "10.200.0.1")
    assert ctx.key_id == world.acme_key.pk


def test_bearer_and_x_api_key_are_both_accepted():
    assert presented_key("Bearer sgw-abc", None) == "sgw-abc"
    assert presented_key(None, "sgw-abc") == "sgw-abc"
    assert presented_key("Basic xyz", None) is None
    assert presented_key(None, None) is None


def test_forwarded_for_counts_only_from_trusted_proxies(settings):
    auth._trusted_networks.cache_clear()
    settings.GATEWAY_TRUSTED_PROXIES = ["10.0.0.0/8"]
    try:
        assert client_ip("203.0.113.9", "1.2.3.4") == "203.0.113.9"
        assert client_ip("10.0.0.5", "198.51.100.7, 10.0.0.6") == "198.51.100.7"
        assert client_ip("10.0.0.5", "6.6.6.6, 198.51.100.7") == "198.51.100.7"
    finally:
        auth._trusted_networks.cache_clear()


@pytest.mark.needs_redis
async def test_failures_are_counted_in_redis_across_resolvers(world, settings):
    settings.GATEWAY_AUTH_FAILURES_PER_MIN = 2
    ip = "192.0.2.77"
    from gateway_project.redis import async_client

    await async_client().delete(
        *[k async for k in async_client().scan_iter(f"sgw:authfail:{ip}:*")] or ["_"]
    )
    first, second = KeyResolver(), KeyResolver()
    for resolver in (first, second):
        with pytest.raises(AuthError):
            await resolver.authenticate("sgw-" + "7" * 43, ip)
    with pytest.raises(AuthError) as err:
        await first.authenticate("sgw-" + "6" * 43, ip)
    assert err.value.status == 429
