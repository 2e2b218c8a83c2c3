"""Fixtures for the end-to-end proxy tests: the real gateway under uvicorn, fakes as upstreams.

One gateway process and one FakeProvider per module (a module may set `GATEWAY_ENV` to start
its gateway with other settings); tenants, providers, routes and keys are created per test.
Each test gets a fresh organization, so nothing a previous test cached in the gateway (routes
per organization, keys) can answer for it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from tenants.models import ApiKey, Organization, Team
from tests.fakes import FakeProvider
from tests.proxy.e2e.support import (
    ANTHROPIC_KEY,
    AZURE_KEY,
    OPENAI_KEY,
    KeylessFakeProvider,
    Tenant,
    serial,
)
from tests.server import GatewayServer, start_gateway


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProvider]:
    with FakeProvider(api_key=OPENAI_KEY, anthropic_key=ANTHROPIC_KEY, azure_key=AZURE_KEY) as f:
        yield f


@pytest.fixture(scope="module")
def fake2() -> Iterator[FakeProvider]:
    """A second, independent upstream (fallback targets)."""
    with FakeProvider(api_key=OPENAI_KEY, anthropic_key=ANTHROPIC_KEY, azure_key=AZURE_KEY) as f:
        yield f


@pytest.fixture(scope="module")
def keyless_fake() -> Iterator[KeylessFakeProvider]:
    with KeylessFakeProvider() as f:
        yield f


@pytest.fixture(scope="module")
def gateway(
    request: pytest.FixtureRequest,
    django_db_setup: None,
    django_db_blocker: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[GatewayServer]:
    env = {"GATEWAY_CONFIG_POLL_S": "0.05", **getattr(request.module, "GATEWAY_ENV", {})}
    with django_db_blocker.unblock():
        server = start_gateway(tmp_path_factory.mktemp("gateway"), env=env)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _fresh_fake(request: pytest.FixtureRequest) -> None:
    """Forget the previous test's faults and records (only where the module uses the fake)."""
    for name in ("fake", "fake2", "keyless_fake"):
        if name in request.fixturenames:
            request.getfixturevalue(name).reset()


@pytest.fixture
def tenant(transactional_db: None, gateway: GatewayServer) -> Iterator[Tenant]:
    n = next(serial)
    org = Organization.objects.create(slug=f"org-{n}", name=f"Org {n}")
    team = Team.objects.create(org=org, slug="team", name="Team")
    api_key, plain = ApiKey.objects.issue(team=team, name="app")
    yield Tenant(org=org, team=team, key=plain, api_key=api_key, gateway_url=gateway.url)
    _wait_for_gateway_bookkeeping()


def _wait_for_gateway_bookkeeping(timeout: float = 5.0) -> None:
    """Let the gateway finish what it does after a response (usage settlement) before the
    tables are flushed: on PostgreSQL a TRUNCATE racing those writes can deadlock."""
    time.sleep(0.05)  # the settlement starts right after the last byte went out
    if connection.vendor != "postgresql":
        return
    busy = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND state <> 'idle'"
    )
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(busy)
            if cursor.fetchone()[0] == 0:
                return
            time.sleep(0.02)
