"""Roles and tenancy: members see no admin pages; another organization's objects are 404."""

from __future__ import annotations

import pytest

from audit.models import AuditRecord
from billing.models import Budget, RateLimit
from policies.models import Policy
from proxy.models import Deployment, ModelRoute, ProviderCredential

pytestmark = pytest.mark.django_db

ADMIN_PAGES = ["/teams/", "/providers/", "/policies/", "/audit/", "/changes/", "/reports/"]


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_member_cannot_reach_admin_pages(world, as_user, url):
    assert as_user("erin").get(url).status_code == 403


def test_member_sees_the_overview(world, as_user):
    assert as_user("erin").get("/").status_code == 200


@pytest.mark.parametrize(
    ("url", "status"),
    [("/teams/", 403), ("/providers/", 403), ("/policies/", 403), ("/audit/", 200),
     ("/changes/", 200), ("/reports/", 200)],
)  # fmt: skip
def test_finance_reads_costs_and_audit_only(world, as_user, url, status):
    assert as_user("bob").get(url).status_code == status


def test_finance_changes_nothing(world, as_user):
    bob = as_user("bob")
    assert bob.post("/teams/", {"name": "X", "slug": "x"}).status_code == 403
    assert bob.post(f"/keys/{world.acme_key.pk}/revoke/").status_code == 403
    world.acme_key.refresh_from_db()
    assert world.acme_key.revoked_at is None


def test_team_admin_manages_only_their_teams(world, as_user):
    dave = as_user("dave")
    assert dave.get(f"/teams/{world.search.pk}/").status_code == 200
    assert dave.get(f"/teams/{world.ads.pk}/").status_code == 403
    assert dave.post("/teams/", {"name": "X", "slug": "x"}).status_code == 403
    assert dave.get("/providers/").status_code == 403


def _globex_objects(world):
    provider = ProviderCredential.objects.create(org=world.globex, name="g", kind="mock")
    route = ModelRoute.objects.create(org=world.globex, name="g-model")
    deployment = Deployment.objects.create(route=route, provider=provider, upstream_model="x")
    policy = Policy.objects.create(org=world.globex, name="g-policy")
    budget = Budget.objects.create(team=world.rnd, limit_usd=10)
    limit = RateLimit.objects.create(team=world.rnd, rpm=5)
    record = AuditRecord.objects.create(
        request_id="req-g", org_id=world.globex.pk, team_id=world.rnd.pk, endpoint="chat",
        status=200,
    )  # fmt: skip
    return provider, route, deployment, policy, budget, limit, record


def test_other_orgs_objects_are_404(world, as_user):
    provider, route, deployment, policy, budget, limit, record = _globex_objects(world)
    alice = as_user("alice")
    gets = [
        f"/teams/{world.rnd.pk}/",
        f"/keys/{world.globex_key.pk}/",
        f"/providers/{provider.pk}/",
        f"/routes/{route.pk}/",
        f"/policies/{policy.pk}/",
        f"/policies/{policy.pk}/diff/?from=1&to=1",
        f"/audit/{record.pk}/",
    ]
    for url in gets:
        assert alice.get(url).status_code == 404, url
    posts = [
        f"/teams/{world.rnd.pk}/keys/",
        f"/keys/{world.globex_key.pk}/revoke/",
        f"/keys/{world.globex_key.pk}/rotate/",
        f"/team/{world.rnd.pk}/budget/",
        f"/key/{world.globex_key.pk}/limit/",
        f"/budgets/{budget.pk}/delete/",
        f"/limits/{limit.pk}/delete/",
        f"/routes/{route.pk}/deployments/",
        f"/deployments/{deployment.pk}/delete/",
        f"/policies/{policy.pk}/playground/",
        f"/policies/{policy.pk}/use/",
    ]
    for url in posts:
        assert alice.post(url, {"name": "x"}).status_code == 404, url
    world.globex_key.refresh_from_db()
    assert world.globex_key.revoked_at is None
    assert Budget.objects.filter(pk=budget.pk).exists()


def test_lists_show_only_own_org(world, as_user):
    _globex_objects(world)
    alice = as_user("alice")
    assert b"rnd-app" not in alice.get("/teams/").content
    assert b"g-model" not in alice.get("/providers/").content
    assert b"g-policy" not in alice.get("/policies/").content
    assert b"req-g" not in alice.get("/audit/").content
