"""Fixtures for the end-to-end proxy tests: the real gateway under uvicorn, fakes as upstreams.

One gateway process and one FakeProvider per module (a module may set `GATEWAY_ENV` to start
its gateway with other settings); tenants, providers, routes and keys are created per test.
Each test gets a fresh organization, so nothing a previous test cached in the gateway (routes
per organization, keys) can answer for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

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
