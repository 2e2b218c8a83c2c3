"""Policies: publish versions from the form, diff them, playground highlights, replay."""

from __future__ import annotations

import json

import pytest

from policies.models import Policy
from policies.presets import preset

pytestmark = pytest.mark.django_db


def _document(**changes):
    doc = preset("recommended") | {"name": "acme-policy"}
    for rule in doc["rules"]:
        if rule["id"] in changes:
            rule["action"] = changes[rule["id"]]
    return json.dumps(doc)


@pytest.fixture
def policy(world, as_user):
    as_user("alice").post(
        "/policies/new/", {"name": "acme-policy", "document": _document(), "note": "first"}
    )
    return Policy.objects.get(org=world.acme, name="acme-policy")


def test_edit_publishes_a_new_version_and_diffs(world, as_user, policy):
    alice = as_user("alice")
    data = {"name": "acme-policy", "document": _document(**{"redact-pii": "block"}), "note": "x"}
    assert alice.post(f"/policies/{policy.pk}/", data).status_code == 302
    policy.refresh_from_db()
    assert policy.current.number == 2 and policy.versions.count() == 2
    page = alice.get(f"/policies/{policy.pk}/").content.decode()
    assert "v1 → v2" in page
    diff = alice.get(f"/policies/{policy.pk}/diff/?from=1&to=2").content.decode()
    assert '<span class="del">-' in diff and "&quot;block&quot;" in diff


def test_invalid_document_is_a_form_error(world, as_user, policy):
    data = {"name": "acme-policy", "document": '{"name": "x", "rules": [{"id": 1}]}'}
    response = as_user("alice").post(f"/policies/{policy.pk}/", data)
    assert response.status_code == 200
    policy.refresh_from_db()
    assert policy.current.number == 1


def test_presets_are_read_only(world, as_user):
    preset_policy = Policy.objects.get(org=None, name="recommended")
    data = {"name": "recommended", "document": _document()}
    assert as_user("alice").post(f"/policies/{preset_policy.pk}/", data).status_code == 403


def test_playground_highlights_findings(world, as_user, policy):
    text = "Please email jane.doe@example.com <b>now</b>"
    response = as_user("alice").post(
        f"/policies/{policy.pk}/playground/", {"text": text, "direction": "input"}
    )
    html = response.content.decode()
    assert '<mark class="redact"' in html and "jane.doe@example.com</mark>" in html
    assert "&lt;b&gt;now&lt;/b&gt;" in html  # the pasted text is escaped


def test_replay_lists_changed_decisions(world, as_user, policy):
    response = as_user("alice").post(
        f"/policies/{policy.pk}/replay/", {"document": _document(**{"redact-pii": "block"})}
    )
    html = response.content.decode()
    assert "samples" in html and "redact" in html and "block" in html
    assert "No decision changes" not in html


def test_make_org_default(world, as_user, policy):
    as_user("alice").post(f"/policies/{policy.pk}/use/")
    world.acme.refresh_from_db()
    assert world.acme.policy_id == policy.pk
