"""Small view decorators: who may see a page, and the organization every query is scoped to."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from tenants.models import Membership, Organization, Role, Team
from tenants.scoping import membership_of

View = Callable[..., HttpResponse]

ADMINS = (Role.ORG_ADMIN,)
KEY_MANAGERS = (Role.ORG_ADMIN, Role.TEAM_ADMIN)
COST_READERS = (Role.ORG_ADMIN, Role.FINANCE)
AUDIT_READERS = (Role.ORG_ADMIN, Role.FINANCE, Role.TEAM_ADMIN)


class OrgRequest(HttpRequest):
    """A request of a signed-in member: `membership` and `org` are set by `member_required`."""

    membership: Membership
    org: Organization


def member_required(*roles: Role) -> Callable[[View], View]:
    """Signed in, a member of an organization, and (if given) holding one of `roles`."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            membership = membership_of(request.user)
            if membership is None:
                raise PermissionDenied("Your account is not a member of an organization.")
            if roles and membership.role not in roles:
                raise PermissionDenied("Your role does not allow this page.")
            request.membership = membership  # type: ignore[attr-defined]
            request.org = membership.org  # type: ignore[attr-defined]
            return view(request, *args, **kwargs)

        return login_required(wrapper)

    return decorator


def visible_team_ids(membership: Membership) -> list[int] | None:
    """Teams whose data the member sees; None means every team of the organization."""
    if membership.role in (Role.ORG_ADMIN, Role.FINANCE):
        return None
    return list(membership.teams.values_list("pk", flat=True))


def managed_teams(membership: Membership) -> Any:
    """Teams whose keys, limits and budgets the member may change."""
    teams = Team.objects.filter(org=membership.org).order_by("name")
    if membership.role == Role.ORG_ADMIN:
        return teams
    if membership.role == Role.TEAM_ADMIN:
        return teams.filter(pk__in=membership.teams.values("pk"))
    return teams.none()
