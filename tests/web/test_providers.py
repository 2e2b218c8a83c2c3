"""Providers and routes: provider secrets are write-only in the UI."""

from __future__ import annotations

import pytest

from proxy.models import Deployment, ModelRoute, ProviderCredential

pytestmark = pytest.mark.django_db
SECRET = "sk-live-THIS-MUST-NEVER-BE-RENDERED-1234"


def test_secret_is_stored_encrypted_and_never_rendered(world, as_user):
    alice = as_user("alice")
    data = {"name": "openai-main", "kind": "openai", "base_url": "", "options": "{}",
            "secret": SECRET}  # fmt: skip
    assert alice.post("/providers/new/", data).status_code == 302
    provider = ProviderCredential.objects.get(org=world.acme, name="openai-main")
    assert provider.secret() == SECRET
    for url in ("/providers/", f"/providers/{provider.pk}/"):
        page = alice.get(url).content.decode()
        assert SECRET not in page and provider.secret_encrypted not in page
        assert "openai-main" in page
    # A form error re-renders the form without echoing the submitted secret either.
    bad = alice.post(f"/providers/{provider.pk}/", {**data, "kind": "nope"}).content.decode()
    assert SECRET not in bad


def test_empty_secret_keeps_the_stored_one_and_clear_removes_it(world, as_user):
    alice = as_user("alice")
    provider = ProviderCredential(org=world.acme, name="p", kind="openai")
    provider.set_secret(SECRET)
    provider.save()
    data = {"name": "p", "kind": "openai", "base_url": "", "options": "{}", "secret": ""}
    alice.post(f"/providers/{provider.pk}/", data)
    provider.refresh_from_db()
    assert provider.secret() == SECRET
    alice.post(f"/providers/{provider.pk}/", {**data, "clear_secret": "on"})
    provider.refresh_from_db()
    assert not provider.has_secret


def test_platform_providers_are_read_only(world, as_user):
    response = as_user("alice").post(
        f"/providers/{world.mock.pk}/", {"name": "x", "kind": "mock", "options": "{}"}
    )
    assert response.status_code == 403


def test_routes_with_deployments(world, as_user):
    alice = as_user("alice")
    response = alice.post("/routes/new/", {"name": "gpt-team", "description": "d"})
    route = ModelRoute.objects.get(org=world.acme, name="gpt-team")
    assert response["Location"] == f"/routes/{route.pk}/"
    data = {"provider": world.mock.pk, "upstream_model": "m", "priority": 0, "weight": 1}
    alice.post(f"/routes/{route.pk}/deployments/", data)
    deployment = Deployment.objects.get(route=route)
    assert b"gpt-team" in alice.get("/providers/").content
    alice.post(f"/deployments/{deployment.pk}/delete/")
    assert not Deployment.objects.filter(route=route).exists()
