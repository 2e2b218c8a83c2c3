"""Web UI fixtures: signed-in clients per world user and rollup rows made directly."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from billing.models import Rollup


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def as_user(world):
    """as_user("alice") -> a Django test client signed in as that world user."""
    return lambda name: signed_in(getattr(world, name))


def rollup(
    *,
    org,
    team,
    key=None,
    model: str = "demo",
    at: datetime,
    granularity: str = "day",
    requests: int = 1,
    cost: str = "0",
    blocked: int = 0,
    upstream_errors: int = 0,
    prompt_tokens: int = 10,
    completion_tokens: int = 5,
) -> Rollup:
    return Rollup.objects.create(
        granularity=granularity,
        period_start=at,
        org_id=org.pk,
        team_id=team.pk,
        key_id=key.pk if key else 0,
        model=model,
        requests=requests,
        blocked=blocked,
        upstream_errors=upstream_errors,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cost_usd=Decimal(cost),
    )
