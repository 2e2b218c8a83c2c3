"""Providers and model routes. Provider secrets are write-only: no page renders a stored one."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from proxy.models import Deployment, ModelRoute, ProviderCredential
from web.decorators import ADMINS, member_required
from web.forms import DeploymentForm, ProviderForm, RouteForm


def _visible(model: Any, request: Any) -> Any:
    return model.objects.filter(Q(org__isnull=True) | Q(org=request.org))


def _own(model: Any, request: Any, pk: int) -> Any:
    """An object the org may edit: its own; platform rows are read-only, other orgs' are 404."""
    obj = get_object_or_404(_visible(model, request), pk=pk)
    if obj.org_id is None and request.method == "POST":
        raise PermissionDenied("Platform-wide providers and routes are managed by platform admins.")
    return obj


@member_required(*ADMINS)
def providers(request: Any) -> HttpResponse:
    context = {
        "providers": _visible(ProviderCredential, request).order_by("org_id", "name"),
        "routes": _visible(ModelRoute, request)
        .prefetch_related("deployments__provider")
        .order_by("org_id", "name"),
    }
    return render(request, "web/providers.html", context)


@member_required(*ADMINS)
def provider_edit(request: Any, pk: int | None = None) -> HttpResponse:
    provider = _own(ProviderCredential, request, pk) if pk else ProviderCredential(org=request.org)
    form = ProviderForm(request.POST or None, instance=provider)
    if request.method == "POST" and form.is_valid():
        form.save()
        return redirect("web:providers")
    return render(request, "web/provider_form.html", {"form": form, "provider": provider})


@member_required(*ADMINS)
def route_edit(request: Any, pk: int | None = None) -> HttpResponse:
    route = _own(ModelRoute, request, pk) if pk else ModelRoute(org=request.org)
    form = RouteForm(request.POST or None, instance=route)
    if request.method == "POST" and form.is_valid():
        route = form.save()
        return redirect("web:route", pk=route.pk)
    context = {
        "form": form,
        "route": route,
        "deployments": Deployment.objects.filter(route=route).select_related("provider")
        if route.pk
        else [],
        "deployment_form": DeploymentForm(org=request.org),
    }
    return render(request, "web/route_form.html", context)


@require_POST
@member_required(*ADMINS)
def deployment_add(request: Any, pk: int) -> HttpResponse:
    route = _own(ModelRoute, request, pk)
    form = DeploymentForm(request.POST, org=request.org)
    if form.is_valid():
        deployment = form.save(commit=False)
        deployment.route = route
        deployment.save()
    return redirect("web:route", pk=route.pk)


@require_POST
@member_required(*ADMINS)
def deployment_delete(request: Any, pk: int) -> HttpResponse:
    deployment = get_object_or_404(Deployment, pk=pk, route__org=request.org)
    route_pk = deployment.route_id
    deployment.delete()
    return redirect("web:route", pk=route_pk)
