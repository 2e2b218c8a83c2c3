"""The overview: traffic, tokens, spend, blocks, errors and budgets, from rollups only."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.shortcuts import render

from web.charts import RANGES, build_overview
from web.decorators import member_required, visible_team_ids


@member_required()
def overview(request: Any) -> HttpResponse:
    span = request.GET.get("range", "30d")
    span = span if span in RANGES else "30d"
    data = build_overview(request.org, team_ids=visible_team_ids(request.membership), span=span)
    context = {"data": data, "span": span, "ranges": list(RANGES)}
    return render(request, "web/overview.html", context)
