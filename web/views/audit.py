"""Audit log browser (request records) and the admin change history (django-auditlog)."""

from __future__ import annotations

from typing import Any

from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q, QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render

from audit.models import AuditRecord
from audit.records import open_capture
from billing.models import Budget, RateLimit
from policies.models import Policy, PolicyVersion
from proxy.models import Deployment, ModelRoute, ProviderCredential
from tenants.models import ApiKey, Membership, Organization, Role, Team
from web.decorators import AUDIT_READERS, COST_READERS, member_required, visible_team_ids
from web.forms import AuditFilterForm

PAGE = 50


def _records(request: Any) -> QuerySet[AuditRecord]:
    records = AuditRecord.objects.filter(org_id=request.org.pk)
    team_ids = visible_team_ids(request.membership)
    return records if team_ids is None else records.filter(team_id__in=team_ids)


@member_required(*AUDIT_READERS)
def audit(request: Any) -> HttpResponse:
    teams = Team.objects.filter(org=request.org).order_by("name")
    team_ids = visible_team_ids(request.membership)
    if team_ids is not None:
        teams = teams.filter(pk__in=team_ids)
    form = AuditFilterForm(request.GET or None, teams=teams)
    records = form.filter(_records(request)).order_by("-created_at", "-id")
    # Offset paging with a look-ahead row: no COUNT(*) over a large append-only table.
    raw_page = request.GET.get("page", "1")
    page = max(int(raw_page), 1) if raw_page.isdigit() else 1
    rows = list(records[(page - 1) * PAGE : page * PAGE + 1])
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "records": rows[:PAGE],
        "page": page,
        "has_next": len(rows) > PAGE,
        "query": query.urlencode(),
        "team_names": dict(teams.values_list("pk", "name")),
    }
    return render(request, "web/audit.html", context)


@member_required(*AUDIT_READERS)
def audit_detail(request: Any, pk: int) -> HttpResponse:
    record = get_object_or_404(_records(request), pk=pk)
    team = Team.objects.filter(pk=record.team_id or 0, org=request.org).first()
    capture: dict[str, Any] | None = None
    # Captured text is shown to admins only, and only while the team has capture enabled.
    may_read = request.membership.role in (Role.ORG_ADMIN, Role.TEAM_ADMIN)
    if record.captured and team is not None and team.capture_prompts and may_read:
        capture = open_capture(record.captured)
    context = {"record": record, "team": team, "capture": capture}
    return render(request, "web/audit_detail.html", context)


def _org_objects(org: Organization) -> Q:
    """LogEntry rows about the organization's own objects (other orgs' changes never match)."""
    owned: list[tuple[Any, QuerySet[Any]]] = [
        (Organization, Organization.objects.filter(pk=org.pk)),
        (Team, Team.objects.filter(org=org)),
        (ApiKey, ApiKey.objects.filter(team__org=org)),
        (Membership, Membership.objects.filter(org=org)),
        (ProviderCredential, ProviderCredential.objects.filter(org=org)),
        (ModelRoute, ModelRoute.objects.filter(org=org)),
        (Deployment, Deployment.objects.filter(route__org=org)),
        (Policy, Policy.objects.filter(org=org)),
        (PolicyVersion, PolicyVersion.objects.filter(policy__org=org)),
        (Budget, Budget.objects.filter(Q(org=org) | Q(team__org=org) | Q(key__team__org=org))),
        (
            RateLimit,
            RateLimit.objects.filter(Q(org=org) | Q(team__org=org) | Q(key__team__org=org)),
        ),
    ]
    types = ContentType.objects.get_for_models(*(model for model, _ in owned))
    q = Q(pk__in=[])
    for model, objects in owned:
        q |= Q(content_type=types[model], object_id__in=objects.values("pk"))
    return q


@member_required(*COST_READERS)
def changes(request: Any) -> HttpResponse:
    entries = (
        LogEntry.objects.filter(_org_objects(request.org))
        .select_related("actor", "content_type")
        .order_by("-timestamp")[:200]
    )
    return render(request, "web/changes.html", {"entries": entries})
