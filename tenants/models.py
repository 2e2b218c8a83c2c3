"""Organizations, teams, memberships and the API keys apps use to call /v1."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from tenants import keys
from tenants.epoch import bump_config_epoch


class ConfigQuerySet(models.QuerySet[Any]):
    """Bulk writes bypass save(); they still have to move the configuration epoch."""

    def update(self, **kwargs: Any) -> int:
        count = super().update(**kwargs)
        if count:
            bump_config_epoch()
            from audit.changes import record_bulk_update  # audit imports these models

            record_bulk_update(self.model, count, kwargs)
        return count

    def delete(self) -> tuple[int, dict[str, int]]:
        result = super().delete()
        bump_config_epoch()
        return result


class ConfigModel(models.Model):
    """A model the data plane caches: every write moves the epoch so caches drop it."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        bump_config_epoch()

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        result = super().delete(*args, **kwargs)
        bump_config_epoch()
        return result


class ConfigEpoch(models.Model):
    """One row: the configuration epoch (see tenants/epoch.py)."""

    value = models.BigIntegerField(default=0)


class Organization(ConfigModel):
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    time_zone = models.CharField(max_length=64, default="UTC")
    # The organization's default policy; None means the platform default preset.
    policy = models.ForeignKey(
        "policies.Policy", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects: ClassVar[ConfigQuerySet] = ConfigQuerySet.as_manager()  # type: ignore[assignment]

    def __str__(self) -> str:
        return self.slug


class Team(ConfigModel):
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="teams")
    slug = models.SlugField(max_length=64)
    name = models.CharField(max_length=200)
    cost_center = models.CharField(max_length=64, blank=True)
    # A team may use another policy than its organization's default.
    policy = models.ForeignKey(
        "policies.Policy", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Prompt and response text are stored (redacted, encrypted) only when this is on.
    capture_prompts = models.BooleanField(default=False)
    # Empty means every model route visible to the organization.
    allowed_models = models.ManyToManyField("proxy.ModelRoute", blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    objects: ClassVar[ConfigQuerySet] = ConfigQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "slug"], name="team_slug_per_org")]

    def __str__(self) -> str:
        return f"{self.org.slug}/{self.slug}"


class Role(models.TextChoices):
    ORG_ADMIN = "org_admin", "Organization admin"
    TEAM_ADMIN = "team_admin", "Team admin"
    FINANCE = "finance", "Finance (read-only costs)"
    MEMBER = "member", "Member"


class Membership(models.Model):
    """A user's single organization and role in it; team admins also name their teams."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership"
    )
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    teams = models.ManyToManyField(Team, blank=True, related_name="memberships")

    def __str__(self) -> str:
        return f"{self.user} in {self.org.slug} as {self.role}"

    def can_manage_team(self, team: Team) -> bool:
        """Org admins manage every team of their org; team admins only theirs."""
        if team.org_id != self.org_id:
            return False
        if self.role == Role.ORG_ADMIN:
            return True
        return self.role == Role.TEAM_ADMIN and self.teams.filter(pk=team.pk).exists()


class ApiKeyQuerySet(ConfigQuerySet):
    def for_key(self, plaintext: str) -> ApiKey | None:
        """The key row matching a presented key (active or not), compared in constant time."""
        lookup_id = keys.lookup_id_of(plaintext)
        if lookup_id is None:
            return None
        key: ApiKey | None = self.select_related("team__org").filter(lookup_id=lookup_id).first()
        if key is None or not keys.matches(plaintext, key.key_hash):
            return None
        return key

    def issue(
        self,
        *,
        team: Team,
        name: str,
        created_by: Any = None,
        expires_at: datetime | None = None,
        end_user: str = "",
    ) -> tuple[ApiKey, str]:
        """Create a key; the plaintext is returned here and never stored."""
        material = keys.generate()
        key = self.create(
            team=team,
            name=name,
            lookup_id=material.lookup_id,
            key_hash=material.key_hash,
            created_by=created_by,
            expires_at=expires_at,
            end_user=end_user,
        )
        return key, material.plaintext


class ApiKey(ConfigModel):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=200)
    lookup_id = models.CharField(max_length=keys.LOOKUP_LEN, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    end_user = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    # A future revoked_at is a scheduled revocation (rotation grace period).
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Empty means every model the team may use.
    allowed_models = models.ManyToManyField("proxy.ModelRoute", blank=True, related_name="+")
    # Written lazily by a periodic flush, never once per request.
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects: ClassVar[ApiKeyQuerySet] = ApiKeyQuerySet.as_manager()  # type: ignore[assignment]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @property
    def prefix(self) -> str:
        return keys.display_prefix(self.lookup_id)

    def is_active(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        if self.revoked_at is not None and self.revoked_at <= now:
            return False
        return self.expires_at is None or self.expires_at > now

    def revoke(self, *, at: datetime | None = None) -> None:
        """Revoke now, or schedule the revocation (never postpone an earlier one)."""
        at = at or timezone.now()
        if self.revoked_at is None or self.revoked_at > at:
            self.revoked_at = at
            self.save(update_fields=["revoked_at"])

    def rotate(self, *, created_by: Any = None, grace_seconds: int = 0) -> tuple[ApiKey, str]:
        """Issue a replacement with the same settings and revoke this key after the grace."""
        with transaction.atomic():
            new, plaintext = ApiKey.objects.issue(
                team=self.team,
                name=self.name,
                created_by=created_by,
                expires_at=self.expires_at,
                end_user=self.end_user,
            )
            new.allowed_models.set(self.allowed_models.all())
            self.revoke(at=timezone.now() + timedelta(seconds=grace_seconds))
        return new, plaintext


class PersonalTokenQuerySet(models.QuerySet["PersonalToken"]):
    def for_token(self, plaintext: str) -> PersonalToken | None:
        """The active token row for a presented personal token, else None."""
        lookup_id = keys.lookup_id_of(plaintext, keys.PERSONAL_TOKEN_PREFIX)
        if lookup_id is None:
            return None
        token = self.select_related("user").filter(lookup_id=lookup_id).first()
        if token is None or not keys.matches(plaintext, token.key_hash):
            return None
        now = timezone.now()
        if token.revoked_at is not None or (token.expires_at and token.expires_at <= now):
            return None
        return token

    def issue(
        self, *, user: Any, name: str, expires_at: datetime | None = None
    ) -> tuple[PersonalToken, str]:
        """Create a personal admin token for automation; plaintext returned once."""
        material = keys.generate(keys.PERSONAL_TOKEN_PREFIX)
        token = self.create(
            user=user,
            name=name,
            lookup_id=material.lookup_id,
            key_hash=material.key_hash,
            expires_at=expires_at,
        )
        return token, material.plaintext


class PersonalToken(models.Model):
    """A hashed bearer token for the management API (DRF's authtoken stores plaintext)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="personal_tokens"
    )
    name = models.CharField(max_length=200)
    lookup_id = models.CharField(max_length=keys.LOOKUP_LEN, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[PersonalTokenQuerySet] = PersonalTokenQuerySet.as_manager()  # type: ignore[assignment]

    def __str__(self) -> str:
        return f"{self.name} ({keys.display_prefix(self.lookup_id, keys.PERSONAL_TOKEN_PREFIX)})"
