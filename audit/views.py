"""Management API: search and export of request audit records and usage rows."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request

from audit.exports import apply_filters, export
from audit.models import AuditRecord
from billing.models import UsageRecord
from tenants.models import Role
from tenants.scoping import has_role, is_platform_admin, membership_of

AUDIT_FIELDS = [
    "id", "created_at", "request_id", "org_slug", "team_slug", "key_prefix", "end_user",
    "client_ip", "endpoint", "model_requested", "model_served", "provider", "policy_version",
    "decision", "output_decision", "rule_ids", "risk_score", "prompt_tokens", "completion_tokens",
    "cost_usd", "status", "error_code", "stream", "latency_ms", "attempts", "prompt_hmac",
]  # fmt: skip
USAGE_FIELDS = [
    "id", "created_at", "request_id", "team_id", "key_prefix", "end_user", "endpoint",
    "model_requested", "model_served", "provider", "prompt_tokens", "completion_tokens",
    "cached_tokens", "cache_write_tokens", "reasoning_tokens", "usage_estimated", "cost_usd",
    "price_id", "status", "stream", "latency_ms",
]  # fmt: skip
FILTERS = [
    OpenApiParameter(n, str, description=d)
    for n, d in [
        ("since", "ISO time, inclusive"), ("until", "ISO time, exclusive"),
        ("team", "team slug"), ("key", "key prefix"), ("model", "model requested"),
        ("decision", "allow, flag, redact or block (audit only)"), ("status", "HTTP status"),
    ]
]  # fmt: skip


class CanReadRecords(permissions.BasePermission):
    """Org admins and finance see their organization; team admins their teams."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return has_role(request, Role.ORG_ADMIN, Role.FINANCE, Role.TEAM_ADMIN)


class AuditRecordSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = AuditRecord
        fields = AUDIT_FIELDS


class UsageRecordSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = UsageRecord
        fields = USAGE_FIELDS


def _scoped(request: Request, qs: QuerySet[Any], org_field: str, team_field: str) -> QuerySet[Any]:
    if is_platform_admin(request):
        return qs
    membership = membership_of(request.user)
    if membership is None:
        return qs.none()
    qs = qs.filter(**{org_field: membership.org_id})
    if membership.role == Role.TEAM_ADMIN:
        qs = qs.filter(**{f"{team_field}__in": list(membership.teams.values_list("pk", flat=True))})
    return qs


class RecordViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    permission_classes = [CanReadRecords]
    fields: list[str] = []
    export_name = ""

    @extend_schema(parameters=[*FILTERS, OpenApiParameter("as", str, description="csv or jsonl")])
    @action(detail=False, methods=["get"])
    def export(self, request: Request) -> StreamingHttpResponse:
        return export(
            self.filter_queryset(self.get_queryset()),
            self.fields,
            request.query_params.get("as", "csv"),
            self.export_name,
        )

    @extend_schema(parameters=FILTERS)
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        return super().list(request, *args, **kwargs)


class AuditRecordViewSet(RecordViewSet):
    serializer_class = AuditRecordSerializer
    fields = AUDIT_FIELDS
    export_name = "audit"

    def get_queryset(self) -> QuerySet[Any]:
        qs = _scoped(
            self.request, AuditRecord.objects.order_by("-created_at", "-id"), "org_id", "team_id"
        )
        qs = apply_filters(
            qs, self.request.query_params, team_field="team_slug", key_field="key_prefix"
        )
        decision = self.request.query_params.get("decision")
        return qs.filter(decision=decision) if decision else qs


class UsageRecordViewSet(RecordViewSet):
    serializer_class = UsageRecordSerializer
    fields = USAGE_FIELDS
    export_name = "usage"

    def get_queryset(self) -> QuerySet[Any]:
        qs = _scoped(
            self.request, UsageRecord.objects.order_by("-created_at", "-id"), "org_id", "team_id"
        )
        return apply_filters(
            qs, self.request.query_params, team_field="team__slug", key_field="key_prefix"
        )
