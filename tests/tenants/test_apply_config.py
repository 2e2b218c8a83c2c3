"""apply_config: idempotent, strict with paths, all-or-nothing, dry-run and prune."""

from __future__ import annotations

from io import StringIO

import pytest
import yaml
from django.core.management import CommandError, call_command

from proxy.models import Deployment, ModelRoute, ProviderCredential
from tenants.models import Organization, Team

pytestmark = pytest.mark.django_db

CONFIG = {
    "providers": [
        {"name": "openai", "kind": "openai", "base_url": "https://api.openai.com/v1",
         "api_key_env": "TEST_OPENAI_KEY"},
        {"name": "mock", "kind": "mock"},
    ],
    "models": [
        {"name": "gpt-4o-mini", "deployments": [{"provider": "openai", "model": "gpt-4o-mini"},
                                                {"provider": "mock", "model": "echo"}]},
    ],
    "organizations": [
        {"slug": "acme", "name": "Acme", "time_zone": "Asia/Kolkata",
         "teams": [{"slug": "search", "models": ["gpt-4o-mini"], "cost_center": "CC-1"}]},
    ],
}  # fmt: skip


def run(tmp_path, data, *args):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    out = StringIO()
    call_command("apply_config", str(path), *args, stdout=out)
    return out.getvalue()


@pytest.fixture(autouse=True)
def provider_secret(monkeypatch):
    monkeypatch.setenv("TEST_OPENAI_KEY", "sk-from-env-canary-42")


def test_applies_everything_and_is_idempotent(tmp_path):
    first = run(tmp_path, CONFIG)
    assert "create provider openai" in first and "create team acme/search" in first
    assert run(tmp_path, CONFIG).strip() == "no changes"
    team = Team.objects.get(org__slug="acme", slug="search")
    assert [r.name for r in team.allowed_models.all()] == ["gpt-4o-mini"]
    assert team.cost_center == "CC-1"
    assert Organization.objects.get(slug="acme").time_zone == "Asia/Kolkata"
    deps = Deployment.objects.filter(route__name="gpt-4o-mini").order_by("priority")
    assert [d.provider.name for d in deps] == ["openai", "mock"]


def test_provider_secret_comes_from_the_environment_and_is_encrypted(tmp_path):
    out = run(tmp_path, CONFIG)
    provider = ProviderCredential.objects.get(name="openai")
    assert provider.secret() == "sk-from-env-canary-42"
    assert "canary" not in provider.secret_encrypted and "canary" not in out


def test_changed_secret_is_updated_without_printing_it(tmp_path, monkeypatch):
    run(tmp_path, CONFIG)
    monkeypatch.setenv("TEST_OPENAI_KEY", "sk-rotated-canary-43")
    out = run(tmp_path, CONFIG)
    assert "update provider openai: secret" in out and "canary" not in out
    assert ProviderCredential.objects.get(name="openai").secret() == "sk-rotated-canary-43"


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda c: c["models"][0]["deployments"][0].update(colour="red"), "models[0].deployments[0].colour"),
        (lambda c: c["organizations"][0].update(time_zone="Mars/Base"), "organizations[0].time_zone"),
        (lambda c: c["organizations"][0]["teams"][0].update(models=["nope"]), "organizations[0].teams[0].models"),
        (lambda c: c["models"][0]["deployments"][1].update(provider="ghost"), "models[0].deployments[1].provider"),
        (lambda c: c["providers"][0].update(kind="cohere"), "providers[0].kind"),
        (lambda c: c["models"][0]["deployments"][0].update(weight=0), "models[0].deployments[0].weight"),
        (lambda c: c.update(extra=1), "extra"),
    ],
)  # fmt: skip
def test_bad_files_fail_with_the_field_path_and_write_nothing(tmp_path, mutate, path):
    data = yaml.safe_load(yaml.safe_dump(CONFIG))
    mutate(data)
    with pytest.raises(CommandError) as err:
        run(tmp_path, data)
    assert path in str(err.value)
    assert not ProviderCredential.objects.exists()
    assert not ModelRoute.objects.exists()
    assert not Organization.objects.exists()


def test_missing_secret_variable_is_an_error(tmp_path, monkeypatch):
    monkeypatch.delenv("TEST_OPENAI_KEY")
    with pytest.raises(CommandError, match=r"providers\[0\].api_key_env.*TEST_OPENAI_KEY"):
        run(tmp_path, CONFIG)
    assert not ProviderCredential.objects.exists()


def test_invalid_yaml_is_reported(tmp_path):
    with pytest.raises(CommandError, match="invalid YAML"):
        run(tmp_path, "providers: [\n")


def test_dry_run_prints_changes_and_applies_none(tmp_path):
    out = run(tmp_path, CONFIG, "--dry-run")
    assert "would create provider openai" in out
    assert not ProviderCredential.objects.exists()


def test_without_prune_nothing_is_deleted_and_with_prune_it_is(tmp_path):
    run(tmp_path, CONFIG)
    smaller = yaml.safe_load(yaml.safe_dump(CONFIG))
    smaller["organizations"][0]["teams"] = []
    smaller["models"][0]["deployments"].pop()
    smaller["providers"].pop()
    out = run(tmp_path, smaller)
    assert Team.objects.filter(slug="search").exists()
    assert "update model gpt-4o-mini: deployments" in out
    pruned = run(tmp_path, smaller, "--prune")
    assert "delete provider mock" in pruned and "delete team acme/search" in pruned
    assert not Team.objects.filter(slug="search").exists()
    assert not ProviderCredential.objects.filter(name="mock").exists()
