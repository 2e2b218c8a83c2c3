"""Management API for the price book, rate limits and budgets."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from rest_framework import mixins, permissions, viewsets
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request

from billing import serializers as s
from billing.models import Budget, Price, RateLimit
from tenants.scoping import ReadOrOrgAdmin, is_platform_admin, membership_of, org_of


class PlatformWritesOnly(permissions.BasePermission):
    """Everyone signed in reads the price book; platform admins add versions."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return bool(request.user and request.user.is_authenticated)
        return is_platform_admin(request)


class PriceViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    """Price versions are append-only: a change is a new version, never an edit."""

    serializer_class = s.PriceSerializer
    permission_classes = [PlatformWritesOnly]

    def get_queryset(self) -> QuerySet[Any]:
        qs = Price.objects.order_by("model", "-effective_from", "-id")
        model = self.request.query_params.get("model")
        return qs.filter(model=model) if model else qs


def _org_filter(request: Request) -> Q:
    org = org_of(request)
    return Q(org=org) | Q(team__org=org) | Q(key__team__org=org)


class ScopedViewSet(viewsets.ModelViewSet):  # type: ignore[type-arg]
    permission_classes = [ReadOrOrgAdmin]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    model: Any = None

    def get_queryset(self) -> QuerySet[Any]:
        qs: QuerySet[Any] = self.model.objects.select_related("team", "key__team").order_by("id")
        if is_platform_admin(self.request):
            return qs
        if membership_of(self.request.user) is None:
            return qs.none()
        return qs.filter(_org_filter(self.request))

    def _owner(self, data: dict[str, Any]) -> dict[str, Any]:
        org = org_of(self.request)
        if org is None:
            raise PermissionDenied("Platform admins set limits through the Django admin.")
        team, key = data.get("team"), data.get("key")
        if team is not None and team.org_id != org.pk:
            raise NotFound("Unknown team.")
        if key is not None and key.team.org_id != org.pk:
            raise NotFound("Unknown key.")
        if team is None and key is None:
            return {"org": org, "team": None, "key": None}
        return {"org": None, "team": team, "key": key}

    def perform_create(self, serializer: Any) -> None:
        serializer.save(**self._owner(serializer.validated_data))

    def perform_update(self, serializer: Any) -> None:
        data = {**{"team": serializer.instance.team, "key": serializer.instance.key}}
        data.update({k: v for k, v in serializer.validated_data.items() if k in ("team", "key")})
        serializer.save(**self._owner(data))


class RateLimitViewSet(ScopedViewSet):
    serializer_class = s.RateLimitSerializer
    model = RateLimit


class BudgetViewSet(ScopedViewSet):
    serializer_class = s.BudgetSerializer
    model = Budget
