"""Management API representations of provider credentials and model routes."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from proxy.models import Deployment, ModelRoute, ProviderCredential


class ProviderCredentialSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    # Write-only: the API never returns a secret, only whether one is set.
    secret = serializers.CharField(write_only=True, required=False, allow_blank=True)
    has_secret = serializers.BooleanField(read_only=True)
    platform = serializers.SerializerMethodField()

    class Meta:
        model = ProviderCredential
        fields = [
            "id", "name", "kind", "base_url", "options", "secret", "has_secret", "platform",
            "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["id", "created_at", "updated_at"]

    def get_platform(self, obj: ProviderCredential) -> bool:
        return obj.org_id is None


class DeploymentSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    provider = serializers.SlugRelatedField(
        slug_field="name", queryset=ProviderCredential.objects.all()
    )

    class Meta:
        model = Deployment
        fields = [
            "id", "provider", "upstream_model", "priority", "weight", "connect_timeout_s",
            "first_byte_timeout_s", "stream_idle_timeout_s", "total_timeout_s",
        ]  # fmt: skip
        read_only_fields = ["id"]

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:
            from tenants.scoping import org_of

            provider: Any = fields["provider"]
            provider.queryset = ProviderCredential.objects.visible_to(org_of(request))
        return fields


class ModelRouteSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    deployments = DeploymentSerializer(many=True, read_only=True)
    platform = serializers.SerializerMethodField()

    class Meta:
        model = ModelRoute
        fields = ["id", "name", "description", "deployments", "platform", "created_at"]
        read_only_fields = ["id", "created_at"]

    def get_platform(self, obj: ModelRoute) -> bool:
        return obj.org_id is None


class ModelRouteWriteSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    deployments = DeploymentSerializer(many=True)

    class Meta:
        model = ModelRoute
        fields = ["id", "name", "description", "deployments"]
        read_only_fields = ["id"]
