"""Apply a validated configuration file: idempotent, all-or-nothing, explicit about changes."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from audit.changes import record_config_changes
from billing.config_apply import apply_governance, apply_price
from policies.config_apply import apply_policy
from proxy.models import Deployment, ModelRoute, ProviderCredential
from tenants.config_schema import ConfigError, ConfigFile, ModelSpec, read_secret_env
from tenants.epoch import bump_config_epoch
from tenants.models import Organization, Team


class _DryRun(Exception):
    """Raised inside the transaction to roll a dry run back."""


def apply_config(config: ConfigFile, *, prune: bool = False, dry_run: bool = False) -> list[str]:
    """Create/update what the file names (delete the rest with prune); return the change list."""
    secrets = {i: read_secret_env(p, i) for i, p in enumerate(config.providers)}
    changes: list[str] = []
    try:
        with transaction.atomic():
            _apply_providers(config, secrets, changes)
            _apply_models(config, changes)
            _apply_organizations(config, changes)
            if prune:
                _prune(config, changes)
            record_config_changes(changes)  # explicit change log (bulk writes skip signals)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return changes


def _set_fields(obj: Any, values: dict[str, Any]) -> list[str]:
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    for name in changed:
        setattr(obj, name, values[name])
    return changed


def _apply_providers(
    config: ConfigFile, secrets: dict[int, str | None], changes: list[str]
) -> None:
    for i, spec in enumerate(config.providers):
        values = {"kind": spec.kind, "base_url": spec.base_url, "options": dict(spec.options)}
        provider = ProviderCredential.objects.filter(org__isnull=True, name=spec.name).first()
        created = provider is None
        if provider is None:
            provider = ProviderCredential(name=spec.name, **values)
            changed = []
        else:
            changed = _set_fields(provider, values)
        secret = secrets[i]
        if secret is not None and (created or provider.secret() != secret):
            provider.set_secret(secret)
            changed.append("secret")  # the value itself is never printed
        if created:
            provider.save()
            changes.append(f"create provider {spec.name}")
        elif changed:
            provider.save()
            changes.append(f"update provider {spec.name}: {', '.join(changed)}")


def _deployment_rows(spec: ModelSpec, route_index: int) -> list[dict[str, Any]]:
    rows = []
    for j, dep in enumerate(spec.deployments):
        provider = ProviderCredential.objects.filter(org__isnull=True, name=dep.provider).first()
        if provider is None:
            raise ConfigError(
                f"models[{route_index}].deployments[{j}].provider",
                f"unknown provider {dep.provider!r}",
            )
        rows.append(
            {
                "provider_id": provider.pk,
                "upstream_model": dep.model,
                "priority": dep.priority if dep.priority is not None else j,
                "weight": dep.weight,
                "connect_timeout_s": dep.connect_timeout_s,
                "first_byte_timeout_s": dep.first_byte_timeout_s,
                "stream_idle_timeout_s": dep.stream_idle_timeout_s,
                "total_timeout_s": dep.total_timeout_s,
            }
        )
    return rows


def _apply_models(config: ConfigFile, changes: list[str]) -> None:
    fields = [
        "provider_id", "upstream_model", "priority", "weight", "connect_timeout_s",
        "first_byte_timeout_s", "stream_idle_timeout_s", "total_timeout_s",
    ]  # fmt: skip
    for i, spec in enumerate(config.models):
        wanted = _deployment_rows(spec, i)
        route = ModelRoute.objects.filter(org__isnull=True, name=spec.name).first()
        if route is None:
            route = ModelRoute.objects.create(name=spec.name, description=spec.description)
            changes.append(f"create model {spec.name}")
            current: list[dict[str, Any]] = []
        else:
            if _set_fields(route, {"description": spec.description}):
                route.save()
                changes.append(f"update model {spec.name}: description")
            current = list(route.deployments.order_by("priority", "id").values(*fields))
        if current != wanted:
            Deployment.objects.filter(route=route).delete()
            Deployment.objects.bulk_create(Deployment(route=route, **row) for row in wanted)
            bump_config_epoch()  # bulk_create bypasses save()
            if current:
                changes.append(f"update model {spec.name}: deployments")
        if spec.price is not None:
            apply_price(spec.name, spec.price, changes)


def _apply_organizations(config: ConfigFile, changes: list[str]) -> None:
    for i, spec in enumerate(config.organizations):
        org = Organization.objects.filter(slug=spec.slug).first()
        values = {"name": spec.name or spec.slug, "time_zone": spec.time_zone}
        if org is None:
            org = Organization.objects.create(slug=spec.slug, **values)
            changes.append(f"create organization {spec.slug}")
        elif changed := _set_fields(org, values):
            org.save()
            changes.append(f"update organization {spec.slug}: {', '.join(changed)}")
        apply_governance({"org": org}, spec, f"organization {spec.slug}", changes)
        if spec.policy is not None:
            label = f"organization {spec.slug}"
            apply_policy(org, org, spec.policy, f"organizations[{i}].policy", label, changes)
        for j, team_spec in enumerate(spec.teams):
            _apply_team(org, team_spec, f"organizations[{i}].teams[{j}]", changes)


def _apply_team(org: Organization, spec: Any, path: str, changes: list[str]) -> None:
    team = Team.objects.filter(org=org, slug=spec.slug).first()
    values = {"name": spec.name or spec.slug, "cost_center": spec.cost_center}
    label = f"team {org.slug}/{spec.slug}"
    if team is None:
        team = Team.objects.create(org=org, slug=spec.slug, **values)
        changes.append(f"create {label}")
    elif changed := _set_fields(team, values):
        team.save()
        changes.append(f"update {label}: {', '.join(changed)}")
    apply_governance({"team": team}, spec, label, changes)
    if spec.policy is not None:
        apply_policy(team, org, spec.policy, f"{path}.policy", label, changes)
    if spec.models is None:
        return
    routes = list(ModelRoute.objects.visible_to(org).filter(name__in=spec.models))
    missing = sorted(set(spec.models) - {r.name for r in routes})
    if missing:
        raise ConfigError(f"{path}.models", f"unknown model {missing[0]!r}")
    if {r.pk for r in routes} != set(team.allowed_models.values_list("pk", flat=True)):
        team.allowed_models.set(routes)
        changes.append(f"update {label}: models")


def _prune(config: ConfigFile, changes: list[str]) -> None:
    names = {p.name for p in config.providers}
    for provider in ProviderCredential.objects.filter(org__isnull=True).exclude(name__in=names):
        provider.delete()
        changes.append(f"delete provider {provider.name}")
    models = {m.name for m in config.models}
    for route in ModelRoute.objects.filter(org__isnull=True).exclude(name__in=models):
        route.delete()
        changes.append(f"delete model {route.name}")
    slugs = {o.slug for o in config.organizations}
    for org in Organization.objects.exclude(slug__in=slugs):
        org.delete()
        changes.append(f"delete organization {org.slug}")
    for spec in config.organizations:
        teams = {t.slug for t in spec.teams}
        for team in Team.objects.filter(org__slug=spec.slug).exclude(slug__in=teams):
            team.delete()
            changes.append(f"delete team {spec.slug}/{team.slug}")
