"""Management API for policies: publish versions, diff them, evaluate text, replay drafts."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from policies import playground
from policies import serializers as s
from policies.config import PolicyConfigError
from policies.engine import compile_policy, get_compiled
from policies.models import Policy
from tenants.scoping import ReadOrOrgAdmin, is_platform_admin, membership_of, org_of


class PlatformPoliciesReadOnly(permissions.BasePermission):
    message = "Platform presets are managed by the platform admins; create your own policy."

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        if request.method in permissions.SAFE_METHODS or view.action in ("evaluate", "replay"):
            return True
        return obj.org_id is not None or is_platform_admin(request)


def _publish(policy: Policy, document: Any, request: Request, note: str) -> None:
    try:
        policy.publish(document, by=request.user, note=note)
    except PolicyConfigError as exc:
        raise ValidationError({"document": [f"{exc.path}: {exc.message}"]}) from None


class PolicyViewSet(viewsets.ModelViewSet):  # type: ignore[type-arg]
    serializer_class = s.PolicySerializer
    permission_classes = [ReadOrOrgAdmin, PlatformPoliciesReadOnly]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_permissions(self) -> list[Any]:
        if self.action in ("evaluate", "replay"):  # read-only computations: any member
            return [permissions.IsAuthenticated(), PlatformPoliciesReadOnly()]
        return list(super().get_permissions())

    def get_queryset(self) -> QuerySet[Any]:
        qs = Policy.objects.select_related("current__created_by").order_by("org_id", "name")
        if is_platform_admin(self.request):
            return qs
        if membership_of(self.request.user) is None:
            return qs.none()
        return qs.filter(Q(org__isnull=True) | Q(org=org_of(self.request)))

    def perform_create(self, serializer: Any) -> None:
        document = serializer.validated_data.pop("document", None)
        note = serializer.validated_data.pop("note", "")
        if document is None:
            raise ValidationError({"document": ["This field is required."]})
        org = org_of(self.request)
        if org is None and not is_platform_admin(self.request):
            raise PermissionDenied()
        with transaction.atomic():
            policy = serializer.save(org=org)
            _publish(policy, document, self.request, note)

    def perform_update(self, serializer: Any) -> None:
        document = serializer.validated_data.pop("document", None)
        note = serializer.validated_data.pop("note", "")
        with transaction.atomic():
            policy = serializer.save()
            if document is not None:
                _publish(policy, document, self.request, note)

    @action(detail=True, methods=["get"])
    def versions(self, request: Request, pk: str | None = None) -> Response:
        policy = self.get_object()
        data = s.PolicyVersionSerializer(policy.versions.all(), many=True).data
        return Response(data)

    @extend_schema(
        parameters=[
            OpenApiParameter("from", int, description="version number"),
            OpenApiParameter("to", int, description="version number"),
        ]
    )
    @action(detail=True, methods=["get"])
    def diff(self, request: Request, pk: str | None = None) -> Response:
        policy = self.get_object()
        try:
            old_n, new_n = int(request.query_params["from"]), int(request.query_params["to"])
        except (KeyError, ValueError):
            raise ValidationError("Give ?from=N&to=M version numbers.") from None
        old = get_object_or_404(policy.versions, number=old_n)
        new = get_object_or_404(policy.versions, number=new_n)
        text = playground.diff(old.document, new.document, f"v{old_n}", f"v{new_n}")
        return Response({"from": old.version, "to": new.version, "diff": text})

    @extend_schema(request=s.EvaluateSerializer, responses={200: dict})
    @action(detail=True, methods=["post"])
    def evaluate(self, request: Request, pk: str | None = None) -> Response:
        policy = self.get_object()
        params = s.EvaluateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        if policy.current is None:
            raise ValidationError("This policy has no published version.")
        try:
            result = playground.evaluate(
                get_compiled(policy.current.document), **params.validated_data
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            raise ValidationError({"body": ["Not a valid request body for this kind."]}) from None
        return Response(result)

    @extend_schema(request=s.ReplaySerializer, responses={200: dict})
    @action(detail=True, methods=["post"])
    def replay(self, request: Request, pk: str | None = None) -> Response:
        policy = self.get_object()
        params = s.ReplaySerializer(data=request.data)
        params.is_valid(raise_exception=True)
        try:
            draft = compile_policy(params.validated_data["document"])
        except PolicyConfigError as exc:
            raise ValidationError({"document": [f"{exc.path}: {exc.message}"]}) from None
        if policy.current is None:
            raise ValidationError("This policy has no published version.")
        current = get_compiled(policy.current.document)
        return Response(playground.replay(current, draft), status=status.HTTP_200_OK)
