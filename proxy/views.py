"""Management API for provider credentials and model routes (the /v1 data plane is proxy/asgi.py)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from proxy import serializers as s
from proxy.models import Deployment, ModelRoute, ProviderCredential
from tenants.scoping import ReadOrOrgAdmin, is_platform_admin, org_of


def _visible(request: Request, queryset: QuerySet[Any]) -> QuerySet[Any]:
    if is_platform_admin(request):
        return queryset
    org = org_of(request)
    if org is None:
        return queryset.none()
    return queryset.filter(Q(org__isnull=True) | Q(org=org))


class PlatformRowsReadOnly(permissions.BasePermission):
    """Platform-wide rows are readable by tenants but only platform admins change them."""

    message = "Platform-wide entries are managed by the platform admins."

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        return obj.org_id is not None or is_platform_admin(request)


class ProviderCredentialViewSet(viewsets.ModelViewSet):  # type: ignore[type-arg]
    serializer_class = s.ProviderCredentialSerializer
    permission_classes = [ReadOrOrgAdmin, PlatformRowsReadOnly]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Any]:
        return _visible(self.request, ProviderCredential.objects.order_by("id"))

    def perform_create(self, serializer: Any) -> None:
        secret = serializer.validated_data.pop("secret", "")
        provider = ProviderCredential(org=org_of(self.request), **serializer.validated_data)
        provider.set_secret(secret)
        provider.save()
        serializer.instance = provider

    def perform_update(self, serializer: Any) -> None:
        secret = serializer.validated_data.pop("secret", None)
        provider = serializer.save()
        if secret is not None:
            provider.set_secret(secret)
            provider.save(update_fields=["secret_encrypted", "updated_at"])


class ModelRouteViewSet(viewsets.ModelViewSet):  # type: ignore[type-arg]
    permission_classes = [ReadOrOrgAdmin, PlatformRowsReadOnly]
    http_method_names = ["get", "post", "put", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Any]:
        qs = ModelRoute.objects.prefetch_related("deployments__provider").order_by("id")
        return _visible(self.request, qs)

    def get_serializer_class(self) -> Any:
        if self.request.method in ("POST", "PUT"):
            return s.ModelRouteWriteSerializer
        return s.ModelRouteSerializer

    @extend_schema(request=s.ModelRouteWriteSerializer, responses=s.ModelRouteSerializer)
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        route = ModelRoute(org=org_of(request))
        self._save_route(route, serializer.validated_data)
        return Response(s.ModelRouteSerializer(route).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.ModelRouteWriteSerializer, responses=s.ModelRouteSerializer)
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        route = self.get_object()
        serializer = self.get_serializer(route, data=request.data)
        serializer.is_valid(raise_exception=True)
        self._save_route(route, serializer.validated_data)
        return Response(s.ModelRouteSerializer(route).data)

    @staticmethod
    def _save_route(route: ModelRoute, data: dict[str, Any]) -> None:
        with transaction.atomic():
            route.name = data["name"]
            route.description = data.get("description", "")
            route.save()
            route.deployments.all().delete()
            for dep in data["deployments"]:
                Deployment.objects.create(route=route, **dep)
