"""Policies as data: a named policy points at its current immutable, content-hashed version."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from policies.engine import CompiledPolicy, compile_policy
from tenants.models import ConfigModel, ConfigQuerySet, Organization


class PolicyQuerySet(ConfigQuerySet):
    def sync_presets(self) -> list[str]:
        """Publish the shipped presets as platform policies; returns the names that changed."""
        from policies.presets import PRESETS

        changed = []
        for name, document in PRESETS.items():
            policy, _ = self.get_or_create(
                org=None, name=name, defaults={"description": document.get("description", "")}
            )
            before = policy.current_id
            if policy.publish(document, note="preset").pk != before:
                changed.append(name)
        return changed


class Policy(ConfigModel):
    """Platform presets have no organization; organizations own their own policies."""

    org = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="policies"
    )
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=500, blank=True)
    current = models.ForeignKey(
        "PolicyVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects: ClassVar[PolicyQuerySet] = PolicyQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        verbose_name_plural = "policies"
        constraints = [
            models.UniqueConstraint(fields=["org", "name"], name="policy_name_per_org"),
            models.UniqueConstraint(
                fields=["name"], condition=models.Q(org__isnull=True), name="policy_name_platform"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def publish(self, document: dict[str, Any], *, by: Any = None, note: str = "") -> PolicyVersion:
        """Make `document` current: an identical document reuses its version, else a new one."""
        compiled = compile_policy(document)  # validates; raises PolicyConfigError
        with transaction.atomic():
            version = self.versions.filter(version=compiled.version).first()
            if version is None:
                version = PolicyVersion.objects.create(
                    policy=self,
                    version=compiled.version,
                    document=document,
                    created_by=by,
                    note=note,
                    number=self.versions.count() + 1,
                )
            if self.current_id != version.pk:
                self.current = version
                self.save(update_fields=["current"])
        return version


class PolicyVersion(models.Model):
    """An immutable policy document, identified by the sha256 of its canonical form."""

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    version = models.CharField(max_length=64, db_index=True)
    document = models.JSONField()
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["policy", "version"], name="policyversion_unique"),
        ]
        ordering = ["policy", "-number"]

    def __str__(self) -> str:
        return f"{self.policy.name} v{self.number} ({self.version[:12]})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("policy versions are immutable: publish a new version instead")
        super().save(*args, **kwargs)

    def compiled(self) -> CompiledPolicy:
        from policies.engine import get_compiled

        return get_compiled(self.document)
