"""Tenant scoping for the management API: every query goes through the caller's organization."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import permissions
from rest_framework.request import Request

from tenants.models import Membership, Organization, Role


def membership_of(user: Any) -> Membership | None:
    """The user's membership, or None (superusers may have none)."""
    if not user or not user.is_authenticated:
        return None
    try:
        membership: Membership = user.membership
    except Membership.DoesNotExist:
        return None
    return membership


def org_of(request: Request) -> Organization | None:
    """The caller's organization; None for platform superusers without one."""
    membership = membership_of(request.user)
    return membership.org if membership else None


def is_platform_admin(request: Request) -> bool:
    return bool(request.user and request.user.is_superuser and membership_of(request.user) is None)


def scope(request: Request, queryset: QuerySet[Any], org_path: str) -> QuerySet[Any]:
    """Filter a queryset to the caller's organization (platform admins see everything)."""
    if is_platform_admin(request):
        return queryset
    org = org_of(request)
    if org is None:
        return queryset.none()
    return queryset.filter(**{org_path: org})


def has_role(request: Request, *roles: Role) -> bool:
    if is_platform_admin(request):
        return True
    membership = membership_of(request.user)
    return membership is not None and membership.role in roles


class ReadOrOrgAdmin(permissions.BasePermission):
    """Any member of the organization reads; only org admins write."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return is_platform_admin(request) or membership_of(request.user) is not None
        return has_role(request, Role.ORG_ADMIN)


class ReadOrKeyManager(permissions.BasePermission):
    """Members read; org and team admins write (team admins only for their teams)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return is_platform_admin(request) or membership_of(request.user) is not None
        return has_role(request, Role.ORG_ADMIN, Role.TEAM_ADMIN)
