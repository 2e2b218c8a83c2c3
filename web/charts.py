"""Overview figures from billing.models.Rollup (never raw usage rows), drawn as server-side SVG."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pygal
from django.db.models import F, Q, QuerySet, Sum
from django.db.models.functions import TruncWeek
from django.utils import timezone
from pygal.style import Style

from billing.models import Budget, BudgetPeriod, Rollup
from tenants.models import ApiKey, Organization, Team

MAX_SERIES = 6
RANGES = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30),
          "90d": timedelta(days=90)}  # fmt: skip
_STYLE = Style(
    background="white",
    plot_background="white",
    font_family="system-ui, sans-serif",
    colors=("#2357d9", "#e67e22", "#16a085", "#8e44ad", "#c0392b", "#7f8c8d", "#2c3e50"),
)
_METRICS = ("requests", "blocked", "errors", "upstream_errors", "prompt_tokens",
            "completion_tokens", "cost_usd")  # fmt: skip


def rollups(
    org: Organization, start: datetime, end: datetime, team_ids: list[int] | None, fine: bool
) -> QuerySet[Rollup]:
    """Rollup rows of the org in [start, end): hourly if `fine` or no daily rows exist."""
    base = Rollup.objects.filter(org_id=org.pk, period_start__gte=start, period_start__lt=end)
    if team_ids is not None:
        base = base.filter(team_id__in=team_ids)
    if not fine:
        daily = base.filter(granularity=Rollup.Granularity.DAY)
        if daily.exists():
            return daily
    return base.filter(granularity=Rollup.Granularity.HOUR)


def _sums() -> dict[str, Any]:
    return {name: Sum(name) for name in _METRICS}


@dataclass
class BudgetBar:
    label: str
    limit: Decimal
    spent: Decimal
    hard: bool
    marks: list[int]

    @property
    def percent(self) -> float:
        return float(self.spent / self.limit * 100) if self.limit else 0.0

    @property
    def width(self) -> float:
        return min(self.percent, 100.0)


@dataclass
class Overview:
    totals: dict[str, Any]
    charts: dict[str, str] = field(default_factory=dict)
    top_keys: list[dict[str, Any]] = field(default_factory=list)
    budgets: list[BudgetBar] = field(default_factory=list)


def build_overview(
    org: Organization, *, team_ids: list[int] | None, span: str, now: datetime | None = None
) -> Overview:
    """Everything the overview page shows for the teams the viewer may see."""
    now = now or timezone.now()
    start = now - RANGES.get(span, RANGES["30d"])
    rows = rollups(org, start, now, team_ids, fine=span == "24h")
    totals = {k: v or 0 for k, v in rows.aggregate(**_sums()).items()}
    totals["error_rate"] = _rate(totals["upstream_errors"], totals["requests"])
    overview = Overview(totals=totals)
    tz = ZoneInfo(org.time_zone)
    label = "%H:%M" if span == "24h" else ("week %m-%d" if span == "90d" else "%m-%d")
    # 90 days are drawn per week: pygal's rendering time grows with the number of points.
    bucket = TruncWeek("period_start", tzinfo=tz) if span == "90d" else F("period_start")
    rows_by = rows.annotate(bucket=bucket)
    by_team = list(rows_by.values("bucket", "team_id").annotate(**_sums()).order_by())
    by_model = list(rows_by.values("bucket", "model").annotate(**_sums()).order_by())
    periods = sorted({r["bucket"] for r in by_team})
    labels = [p.astimezone(tz).strftime(label) for p in periods]
    teams = dict(Team.objects.filter(org=org).values_list("pk", "name"))
    team_name = lambda pk: teams.get(pk, f"team #{pk}")  # noqa: E731
    overview.charts = {
        "Requests per team": _stacked(by_team, periods, labels, "team_id", "requests", team_name),
        "Spend per team (USD)": _stacked(
            by_team, periods, labels, "team_id", "cost_usd", team_name
        ),
        "Tokens per model": _stacked(by_model, periods, labels, "model", "tokens", str),
        "Blocked requests per team": _stacked(
            by_team, periods, labels, "team_id", "blocked", team_name, line=True
        ),
        "Upstream error rate (%)": _error_rate(by_team, periods, labels),
    }
    overview.top_keys = _top_keys(rows, teams)
    overview.budgets = budget_bars(org, team_ids, now)
    return overview


def _rate(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0


def _value(row: dict[str, Any], metric: str) -> float:
    if metric == "tokens":
        return float((row["prompt_tokens"] or 0) + (row["completion_tokens"] or 0))
    return float(row[metric] or 0)


def _stacked(
    rows: list[dict[str, Any]],
    periods: list[datetime],
    labels: list[str],
    key: str,
    metric: str,
    name: Any,
    line: bool = False,
) -> str:
    """A stacked bar (or line) chart of the top series; the rest is summed into "other"."""
    series: dict[Any, dict[datetime, float]] = defaultdict(lambda: defaultdict(float))
    for row in rows:
        series[row[key]][row["bucket"]] += _value(row, metric)
    ranked = sorted(series, key=lambda s: -sum(series[s].values()))
    shown, rest = ranked[:MAX_SERIES], ranked[MAX_SERIES:]
    chart = _chart(pygal.Line if line else pygal.StackedBar, labels)
    for s in shown:
        chart.add(name(s), [series[s].get(p, 0.0) for p in periods])
    if rest:
        chart.add("other", [sum(series[s].get(p, 0.0) for s in rest) for p in periods])
    return _svg(chart)


def _error_rate(rows: list[dict[str, Any]], periods: list[datetime], labels: list[str]) -> str:
    requests: dict[datetime, int] = defaultdict(int)
    errors: dict[datetime, int] = defaultdict(int)
    for row in rows:
        requests[row["bucket"]] += row["requests"] or 0
        errors[row["bucket"]] += row["upstream_errors"] or 0
    chart = _chart(pygal.Line, labels)
    chart.add("upstream errors", [_rate(errors[p], requests[p]) for p in periods])
    return _svg(chart)


def _chart(kind: Any, labels: list[str]) -> Any:
    # js=[]: pygal's default pulls its tooltip script from a CDN; the UI must work offline.
    chart = kind(
        style=_STYLE, js=[], height=300, width=640, legend_at_bottom=True, legend_box_size=10,
        show_minor_x_labels=False, x_label_rotation=0, truncate_legend=28,
        disable_xml_declaration=True, no_data_text="No traffic in this range", explicit_size=False,
        show_dots=len(labels) < 40, tooltip_border_radius=2,
    )  # fmt: skip
    chart.x_labels = labels
    chart.x_labels_major_every = max(1, len(labels) // 8)
    return chart


def _svg(chart: Any) -> str:
    return str(chart.render(is_unicode=True))


def _top_keys(rows: QuerySet[Rollup], teams: dict[int, str]) -> list[dict[str, Any]]:
    top = list(
        rows.exclude(key_id=0).values("key_id").annotate(**_sums()).order_by("-cost_usd")[:10]
    )
    keys = ApiKey.objects.filter(pk__in=[r["key_id"] for r in top]).values("pk", "name",
                                                                          "lookup_id", "team_id")  # fmt: skip
    info = {k["pk"]: k for k in keys}
    for row in top:
        key = info.get(row["key_id"])
        row["name"] = key["name"] if key else f"deleted key #{row['key_id']}"
        row["prefix"] = ApiKey(lookup_id=key["lookup_id"]).prefix if key else ""
        row["team"] = teams.get(key["team_id"], "") if key else ""
        row["tokens"] = (row["prompt_tokens"] or 0) + (row["completion_tokens"] or 0)
    return top


def budget_bars(org: Organization, team_ids: list[int] | None, now: datetime) -> list[BudgetBar]:
    """Current-period budget use of the org, its teams and keys (BudgetPeriod counters)."""
    budgets = Budget.objects.filter(Q(org=org) | Q(team__org=org) | Q(key__team__org=org))
    if team_ids is not None:
        budgets = budgets.filter(Q(team_id__in=team_ids) | Q(key__team_id__in=team_ids))
    budgets = budgets.select_related("team", "key")
    periods = BudgetPeriod.objects.filter(budget__in=budgets, starts_at__lte=now, ends_at__gt=now)
    spent = {p.budget_id: p.spent for p in periods}
    bars = []
    for b in budgets:
        scope = b.key.name if b.key_id else (b.team.name if b.team_id else org.name)
        label = f"{scope} ({b.get_period_display().lower()})"
        marks = [int(m) for m in b.alert_at if 0 < int(m) <= 100]
        bars.append(BudgetBar(label, b.limit_usd, spent.get(b.pk, Decimal(0)), b.hard, marks))
    return sorted(bars, key=lambda bar: -bar.percent)
