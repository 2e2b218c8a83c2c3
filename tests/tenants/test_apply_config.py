"""apply_config: idempotent, strict with paths, all-or-nothing, dry-run and prune."""

from __future__ import annotations

from decimal import Decimal
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


GOVERNED = {
    "providers": [{"name": "mock", "kind": "mock"}],
    "models": [{"name": "m", "deployments": [{"provider": "mock", "model": "m-up"}],
                "price": {"input_per_million": "0.15", "output_per_million": "0.60"}}],
    "organizations": [{"slug": "acme", "limits": {"rpm": 100},
                       "teams": [{"slug": "search", "limits": {"rpm": 10, "tpm": 1000, "max_parallel": 2},
                                  "model_limits": [{"model": "m", "rpm": 5}],
                                  "budget": {"period": "weekly", "limit_usd": "12.50", "alert_at": [80, 50]}}]}],
}  # fmt: skip


def test_prices_limits_and_budgets_are_applied_idempotently(tmp_path):
    from billing.models import Budget, Price, RateLimit

    out = run(tmp_path, GOVERNED)
    assert "create price version for m" in out and "create budget for team acme/search" in out
    assert run(tmp_path, GOVERNED).strip() == "no changes"
    budget = Budget.objects.get(team__slug="search")
    assert (budget.period, budget.limit_usd, budget.alert_at) == (
        "weekly",
        Decimal("12.50"),
        [50, 80],
    )
    assert RateLimit.objects.get(team__slug="search", model="").max_parallel == 2
    assert RateLimit.objects.get(team__slug="search", model="m").rpm == 5
    assert RateLimit.objects.get(org__slug="acme").rpm == 100
    assert Price.objects.get(model="m").input_per_million == Decimal("0.15")


def test_a_changed_price_becomes_a_new_version_and_the_old_one_stays(tmp_path):
    from billing.models import Price

    run(tmp_path, GOVERNED)
    changed = yaml.safe_load(yaml.safe_dump(GOVERNED))
    changed["models"][0]["price"]["input_per_million"] = "0.20"
    assert "create price version for m" in run(tmp_path, changed)
    versions = list(Price.objects.filter(model="m").order_by("effective_from", "id"))
    assert [v.input_per_million for v in versions] == [Decimal("0.15"), Decimal("0.20")]
    assert Price.objects.current("m") == versions[-1]


def test_money_must_be_a_quoted_decimal_string(tmp_path):
    bad = yaml.safe_load(yaml.safe_dump(GOVERNED))
    bad["organizations"][0]["teams"][0]["budget"]["limit_usd"] = 12.5
    with pytest.raises(CommandError, match=r"teams\[0\]\.budget\.limit_usd.*quoted decimal"):
        run(tmp_path, bad)


def test_policy_by_preset_name_and_inline_document(tmp_path, presets):
    from policies.models import Policy

    data = {
        "organizations": [
            {"slug": "acme", "policy": "strict",
             "teams": [{"slug": "search", "policy": {"name": "search-policy", "rules": [
                 {"id": "no-secrets", "detector": "secrets", "action": "block"}]}}]},
        ]
    }  # fmt: skip
    out = run(tmp_path, data)
    assert "set policy of organization acme to strict" in out
    assert "publish policy acme/search-policy v1" in out
    assert run(tmp_path, data).strip() == "no changes"
    data["organizations"][0]["teams"][0]["policy"]["rules"][0]["action"] = "flag"
    assert "publish policy acme/search-policy v2" in run(tmp_path, data)
    policy = Policy.objects.get(name="search-policy")
    assert policy.versions.count() == 2 and policy.current.number == 2
    assert Team.objects.get(slug="search").policy == policy


def test_bad_policy_documents_fail_with_their_path(tmp_path):
    data = {"organizations": [{"slug": "acme", "policy": {"name": "p", "rules": [
        {"id": "x", "detector": "secrets", "action": "explode"}]}}]}  # fmt: skip
    with pytest.raises(CommandError, match=r"organizations\[0\]\.policy.*rules\[0\]\.action"):
        run(tmp_path, data)
    with pytest.raises(CommandError, match=r"organizations\[0\]\.policy: unknown policy"):
        run(tmp_path, {"organizations": [{"slug": "acme", "policy": "nonexistent"}]})
    assert not Organization.objects.exists()
