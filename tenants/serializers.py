"""Management API representations of tenants, members and keys (no business logic here)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from rest_framework import serializers

from proxy.models import ModelRoute
from tenants.models import ApiKey, Membership, Organization, PersonalToken, Role, Team


class RouteNameField(serializers.SlugRelatedField):  # type: ignore[type-arg]
    """Model routes referenced by name, limited to those the caller's organization sees."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(slug_field="name", queryset=ModelRoute.objects.all(), **kwargs)

    def get_queryset(self) -> Any:
        request = self.context.get("request")
        from tenants.scoping import org_of

        org = org_of(request) if request else None
        return ModelRoute.objects.visible_to(org)


class OrganizationSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = Organization
        fields = ["id", "slug", "name", "time_zone", "created_at"]
        read_only_fields = ["id", "created_at"]


class TeamSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    allowed_models = RouteNameField(many=True, required=False)

    class Meta:
        model = Team
        fields = ["id", "slug", "name", "cost_center", "allowed_models", "created_at"]
        read_only_fields = ["id", "created_at"]


class MembershipSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    username = serializers.CharField(source="user.username", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)
    teams = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Team.objects.all(), required=False
    )

    class Meta:
        model = Membership
        fields = ["id", "username", "email", "role", "teams"]
        read_only_fields = ["id", "username", "email"]


class NewMemberSerializer(serializers.Serializer):  # type: ignore[type-arg]
    username = serializers.CharField(max_length=150)
    email = serializers.EmailField(required=False, allow_blank=True)
    password = serializers.CharField(write_only=True, min_length=12)
    role = serializers.ChoiceField(choices=Role.choices)
    teams = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Team.objects.all(), required=False
    )

    def validate_username(self, value: str) -> str:
        if get_user_model().objects.filter(username=value).exists():
            raise serializers.ValidationError("A user with that username already exists.")
        return value


class ApiKeySerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    prefix = serializers.CharField(read_only=True)
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all())
    allowed_models = RouteNameField(many=True, required=False)
    active = serializers.SerializerMethodField()

    class Meta:
        model = ApiKey
        fields = [
            "id", "name", "prefix", "team", "end_user", "allowed_models", "created_at",
            "expires_at", "revoked_at", "last_used_at", "active",
        ]  # fmt: skip
        read_only_fields = ["id", "prefix", "created_at", "revoked_at", "last_used_at"]

    def get_active(self, obj: ApiKey) -> bool:
        return obj.is_active()


class RotateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    grace_seconds = serializers.IntegerField(min_value=0, max_value=30 * 86400, default=0)


class PersonalTokenSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = PersonalToken
        fields = ["id", "name", "created_at", "expires_at", "revoked_at"]
        read_only_fields = ["id", "created_at", "revoked_at"]
