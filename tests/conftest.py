"""Shared fixtures: two organizations and their users (cf. healthchecks' alice/bob/charlie)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from proxy.models import Deployment, ModelRoute, ProviderCredential
from tenants.models import ApiKey, Membership, Organization, Role, Team


def pytest_report_header(config: Any) -> list[str]:
    db = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    redis = "redis" if settings.REDIS_URL else "in-process (no REDIS_URL)"
    return [f"gateway backends: database={db}, cache/limits={redis}"]


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    is_pg = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    no_pg = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL or start it on 127.0.0.1")
    no_redis = pytest.mark.skip(reason="needs Redis: set REDIS_URL or start it on 127.0.0.1")
    for item in items:
        if "needs_postgres" in item.keywords and not is_pg:
            item.add_marker(no_pg)
        if "needs_redis" in item.keywords and not settings.REDIS_URL:
            item.add_marker(no_redis)


@dataclass
class World:
    acme: Organization
    globex: Organization
    search: Team
    ads: Team
    rnd: Team
    alice: Any  # acme org admin
    bob: Any  # acme finance
    dave: Any  # acme team admin of `search`
    erin: Any  # acme member
    charlie: Any  # globex org admin
    mock: ProviderCredential
    route: ModelRoute
    acme_key: ApiKey
    acme_key_plain: str
    globex_key: ApiKey
    globex_key_plain: str


def _user(django_user_model: Any, name: str, org: Organization, role: Role) -> Any:
    user = django_user_model.objects.create_user(name, f"{name}@example.com", f"{name}-password-1")
    Membership.objects.create(user=user, org=org, role=role)
    return user


@pytest.fixture
def world(db: None, django_user_model: Any) -> World:
    from policies.models import Policy

    Policy.objects.sync_presets()  # transactional tests truncate the migration-seeded presets
    acme = Organization.objects.create(slug="acme", name="Acme")
    globex = Organization.objects.create(slug="globex", name="Globex")
    search = Team.objects.create(org=acme, slug="search", name="Search")
    ads = Team.objects.create(org=acme, slug="ads", name="Ads")
    rnd = Team.objects.create(org=globex, slug="rnd", name="R&D")
    mock = ProviderCredential.objects.create(name="mock", kind="mock")
    route = ModelRoute.objects.create(name="demo")
    Deployment.objects.create(route=route, provider=mock, upstream_model="mock-echo")
    dave = _user(django_user_model, "dave", acme, Role.TEAM_ADMIN)
    dave.membership.teams.add(search)
    acme_key, acme_plain = ApiKey.objects.issue(team=search, name="search-app")
    globex_key, globex_plain = ApiKey.objects.issue(team=rnd, name="rnd-app")
    return World(
        acme=acme,
        globex=globex,
        search=search,
        ads=ads,
        rnd=rnd,
        alice=_user(django_user_model, "alice", acme, Role.ORG_ADMIN),
        bob=_user(django_user_model, "bob", acme, Role.FINANCE),
        dave=dave,
        erin=_user(django_user_model, "erin", acme, Role.MEMBER),
        charlie=_user(django_user_model, "charlie", globex, Role.ORG_ADMIN),
        mock=mock,
        route=route,
        acme_key=acme_key,
        acme_key_plain=acme_plain,
        globex_key=globex_key,
        globex_key_plain=globex_plain,
    )


@pytest.fixture
def presets(db: None) -> None:
    """The shipped policy presets (transactional tests truncate the migration-seeded rows)."""
    from policies.models import Policy

    Policy.objects.sync_presets()


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def client_for(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture(scope="session", autouse=True)
def _fresh_redis() -> None:
    """Test databases restart their id sequences, so `key:1` of an earlier run must not linger."""
    if settings.REDIS_URL:
        import redis

        redis.Redis.from_url(settings.REDIS_URL).flushdb()


@pytest.fixture(scope="session", autouse=True)
def _close_db_pool(django_db_setup: None, django_db_blocker: Any) -> Any:
    """Close Django's psycopg pool before the test database is dropped."""
    yield
    from django.db import connections

    with django_db_blocker.unblock():
        for conn in connections.all():
            close_pool = getattr(conn, "close_pool", None)
            if close_pool is not None and getattr(conn, "pool", None) is not None:
                close_pool()


@pytest.fixture
def eager_celery() -> Any:
    """Run Celery tasks in-process (the shared mode otherwise sends them to the broker)."""
    from gateway_project.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _gateways_quiesced(request: Any) -> Any:
    """After a transactional test, wait for gateway processes to finish their accounting."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None or not marker.kwargs.get("transaction"):
        yield
        return
    request.getfixturevalue("transactional_db")  # set up first, so it is torn down after us
    yield
    from tests.server import wait_for_gateway_bookkeeping

    wait_for_gateway_bookkeeping()
