"""Teams and keys pages: create, show once, revoke, rotate with grace, limits and budgets."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import Budget, RateLimit
from tenants.models import ApiKey, Team

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def test_org_admin_creates_a_team(world, as_user):
    response = as_user("alice").post(
        "/teams/", {"name": "Legal", "slug": "legal", "cost_center": "CC-9"}
    )
    team = Team.objects.get(org=world.acme, slug="legal")
    assert response["Location"] == f"/teams/{team.pk}/"
    assert team.cost_center == "CC-9"


def test_duplicate_team_slug_is_a_form_error(world, as_user):
    response = as_user("alice").post("/teams/", {"name": "S", "slug": "search"})
    assert response.status_code == 200
    assert b"A team with this slug exists" in response.content


def test_new_key_is_shown_once_and_only_its_hash_is_stored(world, as_user):
    alice = as_user("alice")
    data = {"name": "billing-bot", "allowed_models": [world.route.pk]}
    response = alice.post(f"/teams/{world.search.pk}/keys/", data, **HTMX)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    plaintext = re.search(r'value="(sgw-[^"]+)"', response.content.decode()).group(1)
    key = ApiKey.objects.for_key(plaintext)
    assert key is not None and key.name == "billing-bot" and key.created_by == world.alice
    assert list(key.allowed_models.all()) == [world.route]
    assert b"shown only once" in response.content
    page = alice.get(f"/teams/{world.search.pk}/").content.decode()
    assert plaintext not in page and key.prefix in page


def test_revoke_with_htmx_returns_the_row(world, as_user):
    response = as_user("alice").post(f"/keys/{world.acme_key.pk}/revoke/", **HTMX)
    assert response.status_code == 200
    assert b"revoked" in response.content and b"<tr" in response.content
    world.acme_key.refresh_from_db()
    assert not world.acme_key.is_active()


def test_rotate_keeps_the_old_key_for_the_grace_period(world, as_user):
    response = as_user("dave").post(
        f"/keys/{world.acme_key.pk}/rotate/", {"grace_seconds": 3600}, **HTMX
    )
    plaintext = re.search(r'value="(sgw-[^"]+)"', response.content.decode()).group(1)
    new = ApiKey.objects.for_key(plaintext)
    world.acme_key.refresh_from_db()
    assert new.team == world.search and new.pk != world.acme_key.pk
    assert world.acme_key.is_active()
    assert world.acme_key.revoked_at > timezone.now() + timedelta(minutes=59)


def test_key_settings_expiry_and_models(world, as_user):
    expires = (timezone.now() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    response = as_user("alice").post(
        f"/keys/{world.acme_key.pk}/", {"expires_at": expires, "allowed_models": [world.route.pk]}
    )
    assert response.status_code == 302
    world.acme_key.refresh_from_db()
    assert world.acme_key.expires_at is not None
    assert list(world.acme_key.allowed_models.all()) == [world.route]


def test_budget_and_limit_per_team_and_key(world, as_user):
    alice = as_user("alice")
    budget = {"budget-period": "monthly", "budget-limit_usd": "25.50",
              "budget-alert_at_text": "50, 80,100", "budget-hard": "on"}  # fmt: skip
    assert alice.post(f"/team/{world.search.pk}/budget/", budget).status_code == 302
    saved = Budget.objects.get(team=world.search)
    assert saved.limit_usd == Decimal("25.50") and saved.alert_at == [50, 80, 100]
    budget["budget-limit_usd"] = "30"
    alice.post(f"/team/{world.search.pk}/budget/", budget)
    assert Budget.objects.get(team=world.search).limit_usd == Decimal(30)  # updated, not added
    alice.post(f"/key/{world.acme_key.pk}/limit/", {"limit-model": "", "limit-rpm": "7"})
    assert RateLimit.objects.get(key=world.acme_key).rpm == 7
    page = alice.get(f"/keys/{world.acme_key.pk}/").content.decode()
    assert "7" in page and "Rate limits" in page


def test_team_admin_cannot_touch_another_teams_keys(world, as_user):
    other, _ = ApiKey.objects.issue(team=world.ads, name="ads-app")
    dave = as_user("dave")
    assert dave.post(f"/keys/{other.pk}/revoke/").status_code == 403
    assert dave.post(f"/teams/{world.ads.pk}/keys/", {"name": "x"}).status_code == 403
    assert dave.post(f"/team/{world.ads.pk}/budget/", {}).status_code == 403
