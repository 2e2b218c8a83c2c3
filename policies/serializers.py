"""Management API representations of policies and their versions."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from policies.models import Policy, PolicyVersion


class PolicyVersionSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    created_by = serializers.CharField(source="created_by.username", default=None, read_only=True)

    class Meta:
        model = PolicyVersion
        fields = ["id", "number", "version", "document", "note", "created_by", "created_at"]
        read_only_fields = fields


class PolicySerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    current = PolicyVersionSerializer(read_only=True)
    platform = serializers.SerializerMethodField()
    document = serializers.JSONField(write_only=True, required=False)
    note = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=300)

    class Meta:
        model = Policy
        fields = [
            "id",
            "name",
            "description",
            "platform",
            "current",
            "document",
            "note",
            "created_at",
        ]
        read_only_fields = ["id", "platform", "current", "created_at"]

    def get_platform(self, obj: Policy) -> bool:
        return obj.org_id is None


class EvaluateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """Either plain `text` (a user message) or a full request `body` of the given `kind`."""

    text = serializers.CharField(required=False, allow_blank=True, max_length=1_000_000)
    body = serializers.JSONField(required=False)
    kind = serializers.ChoiceField(choices=["chat", "messages", "embeddings"], default="chat")
    direction = serializers.ChoiceField(choices=["input", "output"], default="input")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("text" in attrs) == ("body" in attrs):
            raise serializers.ValidationError("Give exactly one of `text` or `body`.")
        return attrs


class ReplaySerializer(serializers.Serializer):  # type: ignore[type-arg]
    document = serializers.JSONField()
