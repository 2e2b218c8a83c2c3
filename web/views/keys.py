"""Teams and keys: create teams and keys, revoke, rotate, expiry, models, limits and budgets."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from billing.models import Budget, BudgetPeriod, RateLimit
from tenants.models import ApiKey, Role, Team
from web.decorators import KEY_MANAGERS, managed_teams, member_required
from web.forms import BudgetForm, KeyForm, KeySettingsForm, RateLimitForm, RotateForm, TeamForm


def _team(request: Any, pk: int) -> Team:
    team = get_object_or_404(Team, pk=pk, org=request.org)
    if not request.membership.can_manage_team(team):
        raise PermissionDenied("You can only manage your own teams.")
    return team


def _key(request: Any, pk: int) -> ApiKey:
    key: ApiKey = get_object_or_404(
        ApiKey.objects.select_related("team"), pk=pk, team__org=request.org
    )
    if not request.membership.can_manage_team(key.team):
        raise PermissionDenied("You can only manage keys of your own teams.")
    return key


def _owner(request: Any, kind: str, pk: int) -> dict[str, Any]:
    """The scope fields of a team's or a key's budget/limit (checked against the org)."""
    if kind == "team":
        return {"org": None, "team": _team(request, pk), "key": None}
    if kind == "key":
        return {"org": None, "team": None, "key": _key(request, pk)}
    raise PermissionDenied()


def _back(owner: dict[str, Any]) -> HttpResponse:
    if owner["key"] is not None:
        return redirect("web:key", pk=owner["key"].pk)
    return redirect("web:team", pk=owner["team"].pk)


def _budget_usage(budget: Budget | None) -> BudgetPeriod | None:
    if budget is None:
        return None
    return budget.periods.order_by("-starts_at").first()


@member_required(*KEY_MANAGERS)
def teams(request: Any) -> HttpResponse:
    form = TeamForm(request.POST or None, org=request.org)
    if request.method == "POST":
        if request.membership.role != Role.ORG_ADMIN:
            raise PermissionDenied("Only organization admins create teams.")
        if form.is_valid():
            team = form.save(commit=False)
            team.org = request.org
            team.save()
            return redirect("web:team", pk=team.pk)
    rows = managed_teams(request.membership).prefetch_related("api_keys")
    can_create = request.membership.role == Role.ORG_ADMIN
    return render(
        request, "web/teams.html", {"teams": rows, "form": form, "can_create": can_create}
    )


@member_required(*KEY_MANAGERS)
def team(request: Any, pk: int) -> HttpResponse:
    team = _team(request, pk)
    settings_form = TeamForm(request.POST or None, instance=team, org=request.org, prefix="team")
    if request.method == "POST":
        if request.membership.role != Role.ORG_ADMIN:
            raise PermissionDenied("Only organization admins change team settings.")
        if settings_form.is_valid():
            settings_form.save()
            return redirect("web:team", pk=team.pk)
    budget = Budget.objects.filter(team=team).first()
    context = {
        "team": team,
        "keys": team.api_keys.order_by("-created_at"),
        "key_form": KeyForm(org=request.org),
        "settings_form": settings_form,
        "budget": budget,
        "budget_period": _budget_usage(budget),
        "budget_form": BudgetForm(instance=budget, prefix="budget"),
        "limits": RateLimit.objects.filter(team=team).order_by("model"),
        "limit_form": RateLimitForm(prefix="limit"),
        "rotate_form": RotateForm(),
        "kind": "team",
        "is_org_admin": request.membership.role == Role.ORG_ADMIN,
    }
    return render(request, "web/team.html", context)


@never_cache
@require_POST
@member_required(*KEY_MANAGERS)
def key_create(request: Any, pk: int) -> HttpResponse:
    team = _team(request, pk)
    form = KeyForm(request.POST, org=request.org)
    if not form.is_valid():
        return render(request, "web/partials/key_form.html", {"team": team, "key_form": form})
    with transaction.atomic():
        key, plaintext = ApiKey.objects.issue(
            team=team,
            name=form.cleaned_data["name"],
            created_by=request.user,
            expires_at=form.cleaned_data["expires_at"],
            end_user=form.cleaned_data["end_user"],
        )
        key.allowed_models.set(form.cleaned_data["allowed_models"])
    return _shown_once(request, key, plaintext, replaces=None)


def _shown_once(request: Any, key: ApiKey, plaintext: str, replaces: ApiKey | None) -> HttpResponse:
    """The only response that ever carries the plaintext key: never cached, never stored."""
    context = {"key": key, "plaintext": plaintext, "replaces": replaces, "team": key.team}
    template = "web/partials/key_created.html" if request.htmx else "web/key_created.html"
    response = render(request, template, context)
    response["Cache-Control"] = "no-store"
    return response


@member_required(*KEY_MANAGERS)
def key(request: Any, pk: int) -> HttpResponse:
    key = _key(request, pk)
    initial = {"expires_at": key.expires_at, "allowed_models": key.allowed_models.all()}
    form = KeySettingsForm(request.POST or None, initial=initial, org=request.org)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            key.expires_at = form.cleaned_data["expires_at"]
            key.save(update_fields=["expires_at"])
            key.allowed_models.set(form.cleaned_data["allowed_models"])
        return redirect("web:key", pk=key.pk)
    budget = Budget.objects.filter(key=key).first()
    context = {
        "key": key,
        "team": key.team,
        "form": form,
        "budget": budget,
        "budget_period": _budget_usage(budget),
        "budget_form": BudgetForm(instance=budget, prefix="budget"),
        "limits": RateLimit.objects.filter(key=key).order_by("model"),
        "limit_form": RateLimitForm(prefix="limit"),
        "rotate_form": RotateForm(),
        "kind": "key",
    }
    return render(request, "web/key.html", context)


@require_POST
@member_required(*KEY_MANAGERS)
def key_revoke(request: Any, pk: int) -> HttpResponse:
    key = _key(request, pk)
    key.revoke()
    if request.htmx:
        return render(request, "web/partials/key_row.html", {"k": key, "rotate_form": RotateForm()})
    return redirect("web:team", pk=key.team_id)


@never_cache
@require_POST
@member_required(*KEY_MANAGERS)
def key_rotate(request: Any, pk: int) -> HttpResponse:
    old = _key(request, pk)
    form = RotateForm(request.POST)
    grace = form.cleaned_data["grace_seconds"] if form.is_valid() else 0
    new, plaintext = old.rotate(created_by=request.user, grace_seconds=grace)
    return _shown_once(request, new, plaintext, replaces=old)


@require_POST
@member_required(*KEY_MANAGERS)
def budget_save(request: Any, kind: str, pk: int) -> HttpResponse:
    owner = _owner(request, kind, pk)
    scope = {k: v for k, v in owner.items() if v is not None}
    budget = Budget.objects.filter(**scope).first() or Budget(**owner)
    form = BudgetForm(request.POST, instance=budget, prefix="budget")
    if form.is_valid():
        form.save()
    return _back(owner)


@require_POST
@member_required(*KEY_MANAGERS)
def limit_save(request: Any, kind: str, pk: int) -> HttpResponse:
    owner = _owner(request, kind, pk)
    scope = {k: v for k, v in owner.items() if v is not None}
    model = request.POST.get("limit-model", "")
    limit = RateLimit.objects.filter(**scope, model=model).first() or RateLimit(**owner)
    form = RateLimitForm(request.POST, instance=limit, prefix="limit")
    if form.is_valid():
        form.save()
    return _back(owner)


def _scoped(model: Any, request: Any, pk: int) -> Any:
    org = request.org
    q = Q(org=org) | Q(team__org=org) | Q(key__team__org=org)
    obj = get_object_or_404(model.objects.filter(q), pk=pk)
    team = obj.team or (obj.key.team if obj.key_id else None)
    if team is None and request.membership.role != Role.ORG_ADMIN:
        raise PermissionDenied()
    if team is not None and not request.membership.can_manage_team(team):
        raise PermissionDenied()
    return obj


@require_POST
@member_required(*KEY_MANAGERS)
def limit_delete(request: Any, pk: int) -> HttpResponse:
    limit = _scoped(RateLimit, request, pk)
    owner = {"team": limit.team, "key": limit.key}
    limit.delete()
    return _back(owner)


@require_POST
@member_required(*KEY_MANAGERS)
def budget_delete(request: Any, pk: int) -> HttpResponse:
    budget = _scoped(Budget, request, pk)
    owner = {"team": budget.team, "key": budget.key}
    budget.delete()
    return _back(owner)
