"""A revocation made anywhere is seen by every gateway process within 2 seconds."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.server import start_gateway

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _status(server, key):
    return httpx.get(
        f"{server.url}/v1/models", headers={"Authorization": f"Bearer {key}"}, timeout=5
    ).status_code


def test_revocation_reaches_a_second_process_within_two_seconds(world, tmp_path):
    servers = [start_gateway(tmp_path), start_gateway(tmp_path)]
    try:
        # Warm both caches so the revocation has to travel through invalidation, not a miss.
        for server in servers:
            assert _status(server, world.acme_key_plain) == 200
            assert _status(server, world.acme_key_plain) == 200
        world.acme_key.revoke()
        revoked_at = time.monotonic()
        seen = {}
        while len(seen) < len(servers) and time.monotonic() - revoked_at < 5:
            for i, server in enumerate(servers):
                if i not in seen and _status(server, world.acme_key_plain) == 401:
                    seen[i] = time.monotonic() - revoked_at
            time.sleep(0.05)
        assert len(seen) == 2, f"not revoked everywhere: {seen}"
        assert max(seen.values()) < 2.0, seen
        # The unrelated key keeps working.
        assert _status(servers[1], world.globex_key_plain) == 200
    finally:
        for server in servers:
            server.stop()


def test_models_lists_only_what_the_key_may_use(world, tmp_path):
    from proxy.models import Deployment, ModelRoute

    other = ModelRoute.objects.create(name="other-model")
    Deployment.objects.create(route=other, provider=world.mock, upstream_model="x")
    globex_only = ModelRoute.objects.create(org=world.globex, name="globex-private")
    Deployment.objects.create(route=globex_only, provider=world.mock, upstream_model="x")
    world.search.allowed_models.set([world.route])
    server = start_gateway(tmp_path)
    try:
        resp = httpx.get(
            f"{server.url}/v1/models",
            headers={"Authorization": f"Bearer {world.acme_key_plain}"},
        )
        assert [m["id"] for m in resp.json()["data"]] == ["demo"]
        resp = httpx.get(f"{server.url}/v1/models", headers={"x-api-key": world.globex_key_plain})
        assert [m["id"] for m in resp.json()["data"]] == ["demo", "globex-private", "other-model"]
    finally:
        server.stop()
