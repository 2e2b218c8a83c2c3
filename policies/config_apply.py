"""apply_config for policies: name a preset/policy, or give a document (new version if changed)."""

from __future__ import annotations

from typing import Any

from policies.models import Policy
from tenants.config_schema import ConfigError, PolicySpec
from tenants.models import Organization


def _named(org: Organization, name: str, path: str) -> Policy:
    policy: Policy | None = Policy.objects.filter(org=org, name=name).first()
    policy = policy or Policy.objects.filter(org__isnull=True, name=name).first()
    if policy is None:
        raise ConfigError(path, f"unknown policy or preset {name!r}")
    return policy


def apply_policy(
    owner: Any, org: Organization, spec: str | PolicySpec, path: str, label: str, changes: list[str]
) -> None:
    """Point an organization or team at a policy, publishing inline documents as versions."""
    if isinstance(spec, str):
        policy = _named(org, spec, path)
    else:
        policy, created = Policy.objects.get_or_create(
            org=org, name=spec.name, defaults={"description": spec.description}
        )
        before = policy.current_id
        version = policy.publish(spec.document(), note="apply_config")
        if created or before != version.pk:
            changes.append(f"publish policy {org.slug}/{spec.name} v{version.number}")
    if owner.policy_id != policy.pk:
        owner.policy = policy
        owner.save(update_fields=["policy"])
        changes.append(f"set policy of {label} to {policy.name}")
