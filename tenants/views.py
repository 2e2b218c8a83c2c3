"""Management API for organizations, teams, members, API keys and personal tokens."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from tenants import serializers as s
from tenants.models import ApiKey, Membership, PersonalToken, Team
from tenants.scoping import (
    ReadOrKeyManager,
    ReadOrOrgAdmin,
    is_platform_admin,
    membership_of,
    org_of,
    scope,
)


class OrganizationViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    serializer_class = s.OrganizationSerializer
    permission_classes = [ReadOrOrgAdmin]

    def get_queryset(self) -> QuerySet[Any]:
        return _org_queryset(self.request)


def _org_queryset(request: Request) -> QuerySet[Any]:
    from tenants.models import Organization

    if is_platform_admin(request):
        return Organization.objects.order_by("id")
    org = org_of(request)
    return Organization.objects.filter(pk=org.pk) if org else Organization.objects.none()


def _check_team(request: Request, team: Team) -> None:
    """Teams of other organizations do not exist for the caller; team admins need theirs."""
    if is_platform_admin(request):
        return
    membership = membership_of(request.user)
    if membership is None or team.org_id != membership.org_id:
        raise NotFound()
    if not membership.can_manage_team(team):
        raise PermissionDenied("You can only manage keys of your own teams.")


class TeamViewSet(viewsets.ModelViewSet):  # type: ignore[type-arg]
    serializer_class = s.TeamSerializer
    permission_classes = [ReadOrOrgAdmin]

    def get_queryset(self) -> QuerySet[Any]:
        return scope(self.request, Team.objects.select_related("org").order_by("id"), "org")

    def perform_create(self, serializer: Any) -> None:
        org = org_of(self.request)
        if org is None:
            raise PermissionDenied("Platform admins create teams through the Django admin.")
        serializer.save(org=org)


class MemberViewSet(viewsets.ModelViewSet):  # type: ignore[type-arg]
    serializer_class = s.MembershipSerializer
    permission_classes = [ReadOrOrgAdmin]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Any]:
        qs = Membership.objects.select_related("user").prefetch_related("teams").order_by("id")
        return scope(self.request, qs, "org")

    @extend_schema(request=s.NewMemberSerializer, responses=s.MembershipSerializer)
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        org = org_of(request)
        if org is None:
            raise PermissionDenied("Platform admins add members through the Django admin.")
        data = s.NewMemberSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        teams = data.validated_data.get("teams", [])
        if any(t.org_id != org.pk for t in teams):
            raise NotFound("Unknown team.")
        with transaction.atomic():
            user = get_user_model().objects.create_user(
                username=data.validated_data["username"],
                email=data.validated_data.get("email", ""),
                password=data.validated_data["password"],
            )
            membership = Membership.objects.create(
                user=user, org=org, role=data.validated_data["role"]
            )
            membership.teams.set(teams)
        return Response(self.get_serializer(membership).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer: Any) -> None:
        teams = serializer.validated_data.get("teams", [])
        if any(t.org_id != serializer.instance.org_id for t in teams):
            raise NotFound("Unknown team.")
        serializer.save()

    def perform_destroy(self, instance: Membership) -> None:
        instance.user.delete()


class ApiKeyViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    serializer_class = s.ApiKeySerializer
    permission_classes = [ReadOrKeyManager]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Any]:
        qs = ApiKey.objects.select_related("team").prefetch_related("allowed_models")
        return scope(self.request, qs.order_by("id"), "team__org")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        team = serializer.validated_data["team"]
        _check_team(request, team)
        with transaction.atomic():
            key, plaintext = ApiKey.objects.issue(
                team=team,
                name=serializer.validated_data["name"],
                created_by=request.user,
                expires_at=serializer.validated_data.get("expires_at"),
                end_user=serializer.validated_data.get("end_user", ""),
            )
            key.allowed_models.set(serializer.validated_data.get("allowed_models", []))
        body = dict(self.get_serializer(key).data)
        body["key"] = plaintext  # shown once, never again
        return Response(body, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer: Any) -> None:
        _check_team(self.request, serializer.instance.team)
        if "team" in serializer.validated_data:
            _check_team(self.request, serializer.validated_data["team"])
        serializer.save()

    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        key = self.get_object()
        _check_team(request, key.team)
        key.revoke()
        return Response(self.get_serializer(key).data)

    @extend_schema(request=s.RotateSerializer, responses=s.ApiKeySerializer)
    @action(detail=True, methods=["post"])
    def rotate(self, request: Request, pk: str | None = None) -> Response:
        key = self.get_object()
        _check_team(request, key.team)
        params = s.RotateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        new, plaintext = key.rotate(
            created_by=request.user, grace_seconds=params.validated_data["grace_seconds"]
        )
        body = dict(self.get_serializer(new).data)
        body["key"] = plaintext
        body["replaces"] = key.pk
        return Response(body, status=status.HTTP_201_CREATED)


class PersonalTokenViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    """The caller's own tokens: another user's token is simply not found."""

    serializer_class = s.PersonalTokenSerializer

    def get_queryset(self) -> QuerySet[Any]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return PersonalToken.objects.none()
        user: Any = self.request.user  # authenticated: IsAuthenticated runs first
        return PersonalToken.objects.filter(user=user, revoked_at__isnull=True)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token, plaintext = PersonalToken.objects.issue(
            user=request.user,
            name=serializer.validated_data["name"],
            expires_at=serializer.validated_data.get("expires_at"),
        )
        body = dict(self.get_serializer(token).data)
        body["token"] = plaintext
        return Response(body, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: PersonalToken) -> None:
        instance.revoked_at = timezone.now()
        instance.save(update_fields=["revoked_at"])
