"""Management API: keys shown once, roles, write-only provider secrets."""

from __future__ import annotations

import pytest

from tenants.models import ApiKey, PersonalToken
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_creating_a_key_returns_the_plaintext_once(world):
    client = client_for(world.alice)
    resp = client.post("/api/v1/keys/", {"team": world.search.pk, "name": "ci"}, format="json")
    assert resp.status_code == 201
    plaintext = resp.json()["key"]
    assert plaintext.startswith("sgw-")
    key = ApiKey.objects.get(pk=resp.json()["id"])
    assert ApiKey.objects.for_key(plaintext) == key
    listed = client.get("/api/v1/keys/").content.decode()
    detail = client.get(f"/api/v1/keys/{key.pk}/").content.decode()
    assert plaintext not in listed and plaintext not in detail
    assert key.prefix in detail


def test_revoke_and_rotate_through_the_api(world):
    client = client_for(world.alice)
    resp = client.post(
        f"/api/v1/keys/{world.acme_key.pk}/rotate/", {"grace_seconds": 60}, format="json"
    )
    assert resp.status_code == 201 and resp.json()["replaces"] == world.acme_key.pk
    world.acme_key.refresh_from_db()
    assert world.acme_key.revoked_at is not None and world.acme_key.is_active()
    resp = client.post(f"/api/v1/keys/{world.acme_key.pk}/revoke/")
    assert resp.status_code == 200 and resp.json()["active"] is False


def test_team_admin_manages_only_their_own_teams_keys(world):
    client = client_for(world.dave)
    ok = client.post("/api/v1/keys/", {"team": world.search.pk, "name": "x"}, format="json")
    assert ok.status_code == 201
    denied = client.post("/api/v1/keys/", {"team": world.ads.pk, "name": "x"}, format="json")
    assert denied.status_code == 403


@pytest.mark.parametrize("who", ["bob", "erin"])
def test_finance_and_members_read_but_cannot_write(world, who):
    client = client_for(getattr(world, who))
    assert client.get("/api/v1/teams/").status_code == 200
    assert (
        client.post("/api/v1/teams/", {"slug": "x", "name": "X"}, format="json").status_code == 403
    )
    resp = client.post("/api/v1/keys/", {"team": world.search.pk, "name": "x"}, format="json")
    assert resp.status_code == 403
    assert client.post(f"/api/v1/keys/{world.acme_key.pk}/revoke/").status_code == 403


def test_provider_secret_is_write_only(world):
    client = client_for(world.alice)
    resp = client.post(
        "/api/v1/providers/",
        {"name": "openai-acme", "kind": "openai", "base_url": "https://api.openai.com/v1",
         "secret": "sk-test-canary-123456"},
        format="json",
    )  # fmt: skip
    assert resp.status_code == 201, resp.content
    assert "sk-test-canary" not in resp.content.decode()
    assert resp.json()["has_secret"] is True
    listed = client.get("/api/v1/providers/").content.decode()
    assert "sk-test-canary" not in listed
    from proxy.models import ProviderCredential

    assert ProviderCredential.objects.get(name="openai-acme").secret() == "sk-test-canary-123456"


def test_tenants_cannot_change_platform_providers(world):
    client = client_for(world.alice)
    resp = client.patch(
        f"/api/v1/providers/{world.mock.pk}/", {"base_url": "http://x"}, format="json"
    )
    assert resp.status_code == 403


def test_routes_are_created_with_deployments_of_visible_providers(world):
    client = client_for(world.alice)
    body = {"name": "acme-demo", "deployments": [{"provider": "mock", "upstream_model": "m"}]}
    resp = client.post("/api/v1/routes/", body, format="json")
    assert resp.status_code == 201, resp.content
    assert resp.json()["deployments"][0]["provider"] == "mock"


def test_personal_token_authenticates_the_management_api(world, api):
    token, plaintext = PersonalToken.objects.issue(user=world.alice, name="automation")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    resp = api.get("/api/v1/teams/")
    assert resp.status_code == 200
    assert {t["slug"] for t in resp.json()["results"]} == {"search", "ads"}
    api.credentials(HTTP_AUTHORIZATION="Bearer sgwp-" + "x" * 43)
    assert api.get("/api/v1/teams/").status_code == 401


def test_members_are_created_in_the_callers_org(world):
    client = client_for(world.alice)
    body = {"username": "frank", "password": "a-long-password-1", "role": "finance"}
    resp = client.post("/api/v1/members/", body, format="json")
    assert resp.status_code == 201, resp.content
    from django.contrib.auth import get_user_model

    assert get_user_model().objects.get(username="frank").membership.org == world.acme


def test_schema_and_docs_are_served(world):
    client = client_for(world.alice)
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()


def test_the_management_api_is_rate_limited_per_user(world, settings):
    from django.core.cache import cache

    cache.clear()
    settings.GATEWAY_API_RATE = "3/m"
    client = client_for(world.alice)
    codes = [client.get("/api/v1/teams/").status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    assert client_for(world.bob).get("/api/v1/teams/").status_code == 200
