"""Provider credentials and model routes: which upstream serves a logical model name."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.db.models import Q
from django.utils import timezone

from gateway_project import crypto
from tenants.models import ConfigModel, ConfigQuerySet, Organization


class ProviderKind(models.TextChoices):
    OPENAI = "openai", "OpenAI"
    AZURE_OPENAI = "azure_openai", "Azure OpenAI"
    ANTHROPIC = "anthropic", "Anthropic"
    OPENAI_COMPATIBLE = "openai_compatible", "OpenAI-compatible (vLLM, Ollama, llama.cpp, TGI)"
    MOCK = "mock", "Built-in mock"


class TenantScopedQuerySet(ConfigQuerySet):
    def visible_to(self, org: Organization | None) -> TenantScopedQuerySet:
        """Platform-wide rows (org is NULL) plus the organization's own."""
        return self.filter(Q(org__isnull=True) | Q(org=org))


class ProviderCredential(ConfigModel):
    """An upstream account. The secret is encrypted at rest and never leaves write-only APIs."""

    org = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="providers"
    )
    name = models.SlugField(max_length=64)
    kind = models.CharField(max_length=32, choices=ProviderKind.choices)
    base_url = models.URLField(max_length=500, blank=True)
    secret_encrypted = models.TextField(blank=True, editable=False)
    # Kind-specific options, e.g. {"api_version": "2024-10-21"} for Azure.
    options = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects: ClassVar[TenantScopedQuerySet] = TenantScopedQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "name"], name="provider_name_per_org"),
            models.UniqueConstraint(
                fields=["name"], condition=Q(org__isnull=True), name="provider_name_platform"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def has_secret(self) -> bool:
        return bool(self.secret_encrypted)

    def set_secret(self, plaintext: str) -> None:
        """Encrypt and keep the secret (call save() afterwards)."""
        self.secret_encrypted = crypto.encrypt(plaintext) if plaintext else ""

    def secret(self) -> str:
        """The decrypted secret, for the data plane only."""
        return crypto.decrypt(self.secret_encrypted) if self.secret_encrypted else ""


class ModelRoute(ConfigModel):
    """A logical model name apps send, served by an ordered list of deployments."""

    org = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="model_routes"
    )
    name = models.CharField(max_length=128)
    description = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects: ClassVar[TenantScopedQuerySet] = TenantScopedQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "name"], name="route_name_per_org"),
            models.UniqueConstraint(
                fields=["name"], condition=Q(org__isnull=True), name="route_name_platform"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Deployment(ConfigModel):
    """One upstream that can serve a route; lower priority first, weight splits equal priority."""

    route = models.ForeignKey(ModelRoute, on_delete=models.CASCADE, related_name="deployments")
    provider = models.ForeignKey(
        ProviderCredential, on_delete=models.CASCADE, related_name="deployments"
    )
    upstream_model = models.CharField(max_length=200)
    priority = models.PositiveIntegerField(default=0)
    weight = models.PositiveIntegerField(default=1)
    connect_timeout_s = models.FloatField(default=5.0)
    first_byte_timeout_s = models.FloatField(default=60.0)
    stream_idle_timeout_s = models.FloatField(default=60.0)
    total_timeout_s = models.FloatField(default=600.0)

    objects: ClassVar[ConfigQuerySet] = ConfigQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["priority", "id"]

    def __str__(self) -> str:
        return f"{self.route.name} -> {self.provider.name}:{self.upstream_model}"

    def timeouts(self) -> dict[str, Any]:
        return {
            "connect": self.connect_timeout_s,
            "first_byte": self.first_byte_timeout_s,
            "stream_idle": self.stream_idle_timeout_s,
            "total": self.total_timeout_s,
        }
