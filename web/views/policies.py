"""Policies: publish versions, history and diffs, a playground and replay over the corpus."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from policies import playground
from policies.engine import compile_policy, get_compiled
from policies.models import Policy
from policies.presets import preset
from web.decorators import ADMINS, member_required
from web.forms import PlaygroundForm, PolicyForm, ReplayForm


def _policy(request: Any, pk: int) -> Policy:
    """Own policies and platform presets are visible; another org's is a 404."""
    visible = Policy.objects.filter(Q(org__isnull=True) | Q(org=request.org))
    policy: Policy = get_object_or_404(visible.select_related("current"), pk=pk)
    return policy


def _dump(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False)


@member_required(*ADMINS)
def policies(request: Any) -> HttpResponse:
    rows = Policy.objects.filter(Q(org__isnull=True) | Q(org=request.org)).select_related("current")
    context = {"policies": rows.order_by("-org_id", "name"), "org_policy_id": request.org.policy_id}
    return render(request, "web/policies.html", context)


@member_required(*ADMINS)
def policy_new(request: Any) -> HttpResponse:
    initial = {"document": _dump(preset("recommended") | {"name": "my-policy"})}
    form = PolicyForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if Policy.objects.filter(org=request.org, name=data["name"]).exists():
            form.add_error("name", "A policy with this name exists.")
        else:
            with transaction.atomic():
                policy = Policy.objects.create(
                    org=request.org, name=data["name"], description=data["description"]
                )
                policy.publish(data["document"], by=request.user, note=data["note"])
            return redirect("web:policy", pk=policy.pk)
    return render(request, "web/policy_new.html", {"form": form})


@member_required(*ADMINS)
def policy(request: Any, pk: int) -> HttpResponse:
    policy = _policy(request, pk)
    document = policy.current.document if policy.current else {"name": policy.name, "rules": []}
    initial = {"name": policy.name, "description": policy.description, "document": _dump(document)}
    form = PolicyForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if policy.org_id is None:
            raise PermissionDenied("Platform presets are read-only: create your own policy.")
        if form.is_valid():
            with transaction.atomic():
                policy.description = form.cleaned_data["description"]
                policy.save(update_fields=["description"])
                policy.publish(form.cleaned_data["document"], by=request.user,
                               note=form.cleaned_data["note"])  # fmt: skip
            return redirect("web:policy", pk=policy.pk)
    context = {
        "policy": policy,
        "form": form,
        "versions": policy.versions.select_related("created_by"),
        "playground_form": PlaygroundForm(),
        "replay_form": ReplayForm(initial={"document": _dump(document)}),
        "is_org_default": request.org.policy_id == policy.pk,
    }
    return render(request, "web/policy.html", context)


@require_POST
@member_required(*ADMINS)
def policy_use(request: Any, pk: int) -> HttpResponse:
    """Make this policy the organization's default."""
    request.org.policy = _policy(request, pk)
    request.org.save(update_fields=["policy"])
    return redirect("web:policy", pk=pk)


@member_required(*ADMINS)
def policy_diff(request: Any, pk: int) -> HttpResponse:
    policy = _policy(request, pk)
    try:
        old_n, new_n = int(request.GET["from"]), int(request.GET["to"])
    except (KeyError, ValueError):
        raise Http404("Give ?from=N&to=M version numbers.") from None
    old = get_object_or_404(policy.versions, number=old_n)
    new = get_object_or_404(policy.versions, number=new_n)
    text = playground.diff(old.document, new.document, f"v{old_n}", f"v{new_n}")
    context = {"policy": policy, "old": old, "new": new, "lines": text.splitlines()}
    return render(request, "web/policy_diff.html", context)


@require_POST
@member_required(*ADMINS)
def policy_playground(request: Any, pk: int) -> HttpResponse:
    policy = _policy(request, pk)
    form = PlaygroundForm(request.POST)
    context: dict[str, Any] = {"form": form}
    if form.is_valid() and policy.current is not None:
        text = form.cleaned_data["text"]
        decision = playground.evaluate(
            get_compiled(policy.current.document), text=text,
            direction=form.cleaned_data["direction"],
        )  # fmt: skip
        context.update(text=text, decision=decision)
    return render(request, "web/partials/playground_result.html", context)


@require_POST
@member_required(*ADMINS)
def policy_replay(request: Any, pk: int) -> HttpResponse:
    policy = _policy(request, pk)
    form = ReplayForm(request.POST)
    context: dict[str, Any] = {"form": form}
    if form.is_valid() and policy.current is not None:
        current = get_compiled(policy.current.document)
        draft = compile_policy(form.cleaned_data["document"])
        context["result"] = playground.replay(current, draft)
    return render(request, "web/partials/replay_result.html", context)
