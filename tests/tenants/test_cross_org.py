"""Every management endpoint answers 404 for another organization's objects.

The endpoint list is enumerated from the URLconf's router, not written by hand, so a new
endpoint is covered the day it is registered.
"""

from __future__ import annotations

import pytest

from gateway_project.urls import router
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _globex_object(world, basename):
    from proxy.models import Deployment, ModelRoute, ProviderCredential
    from tenants.models import PersonalToken

    if basename == "organization":
        return world.globex
    if basename == "team":
        return world.rnd
    if basename == "member":
        return world.charlie.membership
    if basename == "apikey":
        return world.globex_key
    if basename == "token":
        return PersonalToken.objects.issue(user=world.charlie, name="c")[0]
    if basename == "provider":
        return ProviderCredential.objects.create(org=world.globex, name="globex-oa", kind="openai")
    if basename == "route":
        route = ModelRoute.objects.create(org=world.globex, name="globex-model")
        Deployment.objects.create(route=route, provider=world.mock, upstream_model="x")
        return route
    if basename == "price":
        pytest.skip("the price book is platform-wide: no organization owns a price")
    if basename == "ratelimit":
        from billing.models import RateLimit

        return RateLimit.objects.create(team=world.rnd, rpm=5)
    if basename == "budget":
        from billing.models import Budget

        return Budget.objects.create(key=world.globex_key, limit_usd="10.00")
    if basename in ("auditrecord", "usagerecord"):
        from tests.audit_helpers import globex_records

        return globex_records(world)[basename]
    if basename == "policy":
        from policies.models import Policy
        from policies.presets import preset

        policy = Policy.objects.create(org=world.globex, name="globex-policy")
        policy.publish(preset("strict"))
        return policy
    raise AssertionError(f"no fixture for {basename}: add one when registering an endpoint")


def _detail_urls():
    for prefix, viewset, basename in router.registry:
        yield basename, f"/api/v1/{prefix}/{{pk}}/", None
        for action in viewset.get_extra_actions():
            if action.detail:
                url_path = action.url_path
                for method in action.mapping:
                    yield basename, f"/api/v1/{prefix}/{{pk}}/{url_path}/", method


@pytest.mark.parametrize(("basename", "template", "method"), list(_detail_urls()))
def test_other_orgs_objects_answer_404(world, basename, template, method):
    obj = _globex_object(world, basename)
    client = client_for(world.alice)
    url = template.format(pk=obj.pk)
    methods = [method] if method else ["get", "patch", "put", "delete"]
    for m in methods:
        resp = getattr(client, m)(url, {}, format="json")
        if resp.status_code == 405:
            continue
        assert resp.status_code == 404, (m, url, resp.status_code, resp.content[:200])
        assert str(obj.pk) not in resp.content.decode() or b"detail" in resp.content


@pytest.mark.parametrize(("prefix", "basename"), [(p, b) for p, _, b in router.registry])
def test_lists_never_show_another_orgs_data(world, prefix, basename):
    _globex_object(world, basename)
    body = client_for(world.alice).get(f"/api/v1/{prefix}/").content.decode()
    for marker in ("globex", "rnd-app", "charlie", "R&amp;D", "R&D"):
        assert marker not in body, (prefix, marker)


def test_keys_cannot_be_created_in_another_orgs_team(world):
    resp = client_for(world.alice).post(
        "/api/v1/keys/", {"team": world.rnd.pk, "name": "sneaky"}, format="json"
    )
    assert resp.status_code == 404


def test_members_cannot_be_assigned_another_orgs_team(world):
    resp = client_for(world.alice).patch(
        f"/api/v1/members/{world.erin.membership.pk}/", {"teams": [world.rnd.pk]}, format="json"
    )
    assert resp.status_code == 404
