"""Monthly cost reports from Rollup rows: org -> team -> model -> key, CSV/PDF, month close.

Totals always come from billing.models.Rollup; only the price-version breakdown of one month
reads UsageRecord (Rollup has no price column). Amounts are Decimal, serialised as strings.
A closed month is served from its MonthClose snapshot, never recomputed.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from billing.models import Adjustment, Budget, MonthClose, Period, Price, Rollup, UsageRecord
from billing.periods import period_bounds
from tenants.models import ApiKey, Membership, Organization, Role, Team

ZERO = Decimal(0)
CENTS = Decimal("1e-10")  # the precision of every money column (MONEY in billing.models)
_SUMS = ("requests", "blocked", "errors", "prompt_tokens", "completion_tokens", "cost_usd")


class ReportError(Exception):
    """A month that cannot be closed or booked into."""


def parse_month(text: str) -> date:
    """'2026-11' -> date(2026, 11, 1); ValueError otherwise."""
    return datetime.strptime(text, "%Y-%m").date().replace(day=1)


def current_month(org: Organization, now: datetime | None = None) -> date:
    local = (now or timezone.now()).astimezone(ZoneInfo(org.time_zone))
    return local.date().replace(day=1)


def previous_month(month: date) -> date:
    return (month.replace(day=1) - timedelta(days=1)).replace(day=1)


def month_bounds(org: Organization, month: date) -> tuple[datetime, datetime]:
    """[start, end) of the month at local midnight in the organization's time zone, in UTC."""
    middle = datetime(month.year, month.month, 15, 12, tzinfo=ZoneInfo(org.time_zone))
    return period_bounds(Period.MONTHLY, org.time_zone, middle)


def month_rollups(org: Organization, month: date) -> QuerySet[Rollup]:
    """The month's rollup rows at the coarsest granularity that has any (month, day, hour)."""
    start, end = month_bounds(org, month)
    rows = Rollup.objects.filter(org_id=org.pk, period_start__gte=start, period_start__lt=end)
    for granularity in (Rollup.Granularity.MONTH, Rollup.Granularity.DAY):
        coarse = rows.filter(granularity=granularity)
        if coarse.exists():
            return coarse
    return rows.filter(granularity=Rollup.Granularity.HOUR)


def money(value: Any) -> str:
    """A fixed-scale string, the same on every database backend."""
    return str(Decimal(value or 0).quantize(CENTS))


def _change(current: Decimal, previous: Decimal) -> str | None:
    if not previous:
        return None
    return str(((current - previous) / previous * 100).quantize(Decimal("0.1")))


def _amounts(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {name: int(row.get(name) or 0) for name in _SUMS if name != "cost_usd"}
    out["cost_usd"] = money(row.get("cost_usd"))
    return out


def _add(into: dict[str, Any], row: dict[str, Any]) -> None:
    for name in _SUMS:
        if name == "cost_usd":
            into[name] = money(Decimal(into.get(name, "0")) + Decimal(row["cost_usd"]))
        else:
            into[name] = into.get(name, 0) + row[name]


def build_report(org: Organization, month: date) -> dict[str, Any]:
    """The month's report: the frozen snapshot when closed, else computed from rollups."""
    closed = MonthClose.objects.filter(org=org, month=month).first()
    if closed is not None:
        snapshot: dict[str, Any] = closed.report
        return snapshot
    return live_report(org, month)


def live_report(org: Organization, month: date) -> dict[str, Any]:
    """Compute the report for an open month from Rollup rows (plus the month's adjustments)."""
    start, end = month_bounds(org, month)
    sums = {name: Sum(name) for name in _SUMS}
    rows: list[dict[str, Any]] = list(
        month_rollups(org, month).values("team_id", "model", "key_id").annotate(**sums)
        .order_by("team_id", "model")
    )  # fmt: skip
    previous = dict(
        month_rollups(org, previous_month(month))
        .values("team_id").annotate(cost=Sum("cost_usd")).values_list("team_id", "cost")
    )  # fmt: skip
    teams = {t.pk: t for t in Team.objects.filter(org=org)}
    key_ids = {r["key_id"] for r in rows}
    keys = {k.pk: k for k in ApiKey.objects.filter(pk__in=key_ids, team__org=org)}
    budgets = {
        b.team_id: b.limit_usd
        for b in Budget.objects.filter(team__org=org, period=Period.MONTHLY, key__isnull=True)
    }
    org_budget = Budget.objects.filter(org=org, period=Period.MONTHLY).first()
    by_team: dict[int, dict[str, Any]] = {}
    models: dict[tuple[int, str], dict[str, Any]] = {}
    totals: dict[str, Any] = {}
    for row in rows:
        amounts = _amounts(row)
        team_id = row["team_id"]
        if team_id not in by_team:
            team = teams.get(team_id)
            by_team[team_id] = {
                "team_id": team_id,
                "slug": team.slug if team else f"deleted-{team_id}",
                "name": team.name if team else f"deleted team #{team_id}",
                "cost_center": team.cost_center if team else "",
                "models": [],
            }
        model = models.get((team_id, row["model"]))
        if model is None:
            model = models[(team_id, row["model"])] = {"model": row["model"], "keys": []}
            by_team[team_id]["models"].append(model)
        key = keys.get(row["key_id"])
        model["keys"].append({
            "key_id": row["key_id"],
            "prefix": key.prefix if key else "",
            "name": key.name if key else ("(no key)" if not row["key_id"] else "deleted key"),
            **amounts,
        })  # fmt: skip
        for level in (model, by_team[team_id], totals):
            _add(level, amounts)
    adjustments = list(Adjustment.objects.filter(org=org, month=month).select_related("team"))
    adjusted: dict[int | None, Decimal] = defaultdict(Decimal)
    for adj in adjustments:
        adjusted[adj.team_id] += adj.amount_usd
    team_rows = sorted(by_team.values(), key=lambda t: (t["name"].lower(), t["team_id"]))
    for team_row in team_rows:
        cost, prev = Decimal(team_row["cost_usd"]), Decimal(previous.get(team_row["team_id"]) or 0)
        limit = budgets.get(team_row["team_id"])
        team_row.update(
            previous_cost_usd=money(prev),
            change_pct=_change(cost, prev),
            budget_usd=money(limit) if limit is not None else None,
            budget_used_pct=str((cost / limit * 100).quantize(Decimal("0.1"))) if limit else None,
            adjustments_usd=money(adjusted.get(team_row["team_id"], ZERO)),
        )
    cost = Decimal(totals.get("cost_usd", "0"))
    prev_total = sum((Decimal(v or 0) for v in previous.values()), ZERO)
    adjustment_total = sum((a.amount_usd for a in adjustments), ZERO)
    totals = {name: totals.get(name, 0) for name in _SUMS} | {
        "cost_usd": money(cost),
        "previous_cost_usd": money(prev_total),
        "change_pct": _change(cost, prev_total),
        "adjustments_usd": money(adjustment_total),
        "total_usd": money(cost + adjustment_total),
        "budget_usd": money(org_budget.limit_usd) if org_budget else None,
    }
    return {
        "org": org.slug,
        "org_name": org.name,
        "month": f"{month:%Y-%m}",
        "time_zone": org.time_zone,
        "period": [start.isoformat(), end.isoformat()],
        "currency": "USD",
        "generated_at": timezone.now().astimezone(UTC).isoformat(),
        "totals": totals,
        "teams": team_rows,
        "adjustments": [
            {
                "team": a.team.name if a.team else "",
                "amount_usd": money(a.amount_usd),
                "reason": a.reason,
                "by": str(a.created_by or ""),
                "at": a.created_at.isoformat(),
            }
            for a in adjustments
        ],  # fmt: skip
    }


def price_versions(org: Organization, month: date) -> list[dict[str, Any]]:
    """Requests and cost per served model and price version (reads UsageRecord of one month)."""
    start, end = month_bounds(org, month)
    rows = list(
        UsageRecord.objects.filter(org=org, created_at__gte=start, created_at__lt=end)
        .values("model_served", "price_id")
        .annotate(requests=Count("id"), cost=Sum("cost_usd"))
        .order_by("model_served", "price_id")
    )
    prices = Price.objects.in_bulk([r["price_id"] for r in rows if r["price_id"]])
    out = []
    for row in rows:
        price = prices.get(row["price_id"])
        out.append({
            "model": row["model_served"] or "(none)",
            "price_id": row["price_id"],
            "price": str(price) if price else "no price (free)",
            "effective_from": price.effective_from.isoformat() if price else None,
            "requests": row["requests"],
            "cost_usd": money(row["cost"]),
        })  # fmt: skip
    return out


def close_month(*, org: Organization, month: date, by: Any = None) -> MonthClose:
    """Freeze an ended month: its report and price versions become an immutable snapshot."""
    _, end = month_bounds(org, month)
    if end > timezone.now():
        raise ReportError("Only a month that has ended can be closed.")
    report = live_report(org, month)
    report["prices"] = price_versions(org, month)
    report["closed_by"] = str(by or "")
    try:
        with transaction.atomic():
            return MonthClose.objects.create(
                org=org, month=month, report=report, checksum=MonthClose.checksum_of(report),
                closed_by=by,
            )  # fmt: skip
    except IntegrityError:
        raise ReportError(f"{month:%Y-%m} is already closed.") from None


def add_adjustment(
    *, org: Organization, amount: Decimal, reason: str, team: Team | None = None, by: Any = None
) -> Adjustment:
    """Book a correction into the current (open) month of the organization."""
    if team is not None and team.org_id != org.pk:
        raise ReportError("Unknown team.")
    month = current_month(org)
    if MonthClose.objects.filter(org=org, month=month).exists():
        raise ReportError(f"{month:%Y-%m} is closed.")
    return Adjustment.objects.create(
        org=org, team=team, month=month, amount_usd=amount, reason=reason, created_by=by
    )


CSV_HEADER = ["type", "month", "organization", "team", "cost_center", "model", "key_prefix",
              "key_name", "requests", "prompt_tokens", "completion_tokens", "cost_usd"]  # fmt: skip


def report_csv(report: dict[str, Any]) -> str:
    """One usage row per team/model/key, then adjustments, then the totals."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    base = [report["month"], report["org"]]
    for team in report["teams"]:
        for model in team["models"]:
            for key in model["keys"]:
                writer.writerow(["usage", *base, team["slug"], team["cost_center"],
                                 model["model"], key["prefix"], key["name"], key["requests"],
                                 key["prompt_tokens"], key["completion_tokens"], key["cost_usd"]])  # fmt: skip
    for adj in report["adjustments"]:
        writer.writerow(["adjustment", *base, adj["team"], "", "", "", adj["reason"], "", "", "",
                         adj["amount_usd"]])  # fmt: skip
    t = report["totals"]
    writer.writerow(["total_usage", *base, "", "", "", "", "", t["requests"], t["prompt_tokens"],
                     t["completion_tokens"], t["cost_usd"]])  # fmt: skip
    writer.writerow(["total", *base, "", "", "", "", "", "", "", "", t["total_usd"]])
    return out.getvalue()


def monthly_emails(month: date | None = None) -> int:
    """Prepare each organization's report for the previous month and mail its finance users."""
    from django.core.mail import EmailMessage

    sent = 0
    finance = Membership.objects.filter(role=Role.FINANCE).exclude(user__email="")
    for org in Organization.objects.filter(pk__in=finance.values("org_id")):
        target = month or previous_month(current_month(org))
        report = build_report(org, target)
        recipients = list(finance.filter(org=org).values_list("user__email", flat=True))
        link = f"{settings.SITE_URL.rstrip('/')}/reports/{target:%Y-%m}/"
        body = (f"The {target:%Y-%m} cost report of {org.name} is ready: {link}\n\n"
                f"Usage: {report['totals']['cost_usd']} USD; with adjustments: "
                f"{report['totals']['total_usd']} USD.\n")  # fmt: skip
        message = EmailMessage(f"[Gateway] {org.name} cost report {target:%Y-%m}", body,
                               to=recipients)  # fmt: skip
        message.attach(f"{org.slug}-{target:%Y-%m}.csv", report_csv(report), "text/csv")
        sent += message.send()
    return sent


def report_pdf(report: dict[str, Any]) -> bytes:
    """A printable PDF of the report (reportlab): totals, teams with models and keys, prices."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    t = report["totals"]
    story: list[Any] = [
        Paragraph(f"Cost report {report['month']}: {report['org_name']}", styles["Title"]),
        Paragraph(f"Period {report['period'][0]} to {report['period'][1]} "
                  f"({report['time_zone']}); generated {report['generated_at']}", styles["Normal"]),
        Paragraph(f"Total usage cost (USD): {t['cost_usd']}", styles["Heading2"]),
        Paragraph(f"Adjustments (USD): {t['adjustments_usd']}; total (USD): {t['total_usd']}; "
                  f"previous month (USD): {t['previous_cost_usd']}; change: "
                  f"{t['change_pct'] or 'n/a'} %", styles["Normal"]),
        Spacer(1, 12),
    ]  # fmt: skip
    rows: list[list[Any]] = [["Team", "Cost centre", "Model", "Key", "Requests", "Tokens",
                              "Cost (USD)", "Budget (USD)", "Change %"]]  # fmt: skip
    for team in report["teams"]:
        rows.append([team["name"], team["cost_center"], "", "", team["requests"],
                     team["prompt_tokens"] + team["completion_tokens"], team["cost_usd"],
                     team["budget_usd"] or "", team["change_pct"] or ""])  # fmt: skip
        for model in team["models"]:
            for key in model["keys"]:
                rows.append(["", "", model["model"], f"{key['name']} {key['prefix']}",
                             key["requests"], key["prompt_tokens"] + key["completion_tokens"],
                             key["cost_usd"], "", ""])  # fmt: skip
    table = Table(rows, repeatRows=1)
    table.setStyle(TableStyle([
        ("FONTSIZE", (0, 0), (-1, -1), 7), ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey), ("ALIGN", (4, 1), (-1, -1), "RIGHT"),
    ]))  # fmt: skip
    story.append(table)
    if report.get("prices"):
        story += [Spacer(1, 12), Paragraph("Price versions used", styles["Heading3"])]
        prices = [["Model", "Price version", "Requests", "Cost (USD)"]]
        prices += [[p["model"], p["price"], p["requests"], p["cost_usd"]] for p in report["prices"]]
        story.append(Table(prices, style=[("FONTSIZE", (0, 0), (-1, -1), 7)]))
    if report.get("checksum"):
        story.append(Paragraph(f"Closed; snapshot sha256 {report['checksum']}", styles["Normal"]))
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=landscape(A4), title=f"Cost report {report['month']}")
    doc.build(story)
    return out.getvalue()
