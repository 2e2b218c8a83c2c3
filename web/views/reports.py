"""Finance: monthly cost reports with CSV/PDF export, month close and adjustments."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from billing import reports
from billing.models import MonthClose
from web.decorators import COST_READERS, member_required
from web.forms import AdjustmentForm


def _month(text: str) -> date:
    try:
        return reports.parse_month(text)
    except ValueError:
        raise Http404("Unknown month.") from None


def _report(request: Any, month: date) -> tuple[dict[str, Any], MonthClose | None]:
    closed = MonthClose.objects.filter(org=request.org, month=month).first()
    if closed is not None:
        return closed.report | {"checksum": closed.checksum}, closed
    return reports.live_report(request.org, month), None


@member_required(*COST_READERS)
def index(request: Any) -> HttpResponse:
    current = reports.current_month(request.org)
    months = [current]
    for _ in range(11):
        months.append(reports.previous_month(months[-1]))
    closed = dict(
        MonthClose.objects.filter(org=request.org, month__in=months).values_list(
            "month", "closed_at"
        )
    )
    context = {
        "months": [(m, closed.get(m)) for m in months],
        "current": current,
        "form": AdjustmentForm(org=request.org),
    }
    return render(request, "web/reports.html", context)


@member_required(*COST_READERS)
def month(request: Any, month: str) -> HttpResponse:
    when = _month(month)
    report, closed = _report(request, when)
    context = {
        "report": report,
        "closed": closed,
        "intact": closed.verify() if closed else None,
        "month": when,
        "can_close": closed is None
        and reports.month_bounds(request.org, when)[1] <= timezone.now(),
    }
    return render(request, "web/report.html", context)


@member_required(*COST_READERS)
def prices(request: Any, month: str) -> HttpResponse:
    """Loaded after the page: the price-version breakdown reads the month's usage rows."""
    when = _month(month)
    report, closed = _report(request, when)
    rows = report.get("prices") if closed else reports.price_versions(request.org, when)
    return render(request, "web/partials/report_prices.html", {"prices": rows or []})


@member_required(*COST_READERS)
def export_csv(request: Any, month: str) -> HttpResponse:
    report, _ = _report(request, _month(month))
    response = HttpResponse(reports.report_csv(report), content_type="text/csv; charset=utf-8")
    filename = f"{request.org.slug}-{report['month']}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@member_required(*COST_READERS)
def export_pdf(request: Any, month: str) -> HttpResponse:
    report, _ = _report(request, _month(month))
    response = HttpResponse(reports.report_pdf(report), content_type="application/pdf")
    filename = f"{request.org.slug}-{report['month']}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_POST
@member_required(*COST_READERS)
def close(request: Any, month: str) -> HttpResponse:
    when = _month(month)
    try:
        reports.close_month(org=request.org, month=when, by=request.user)
        messages.success(request, f"{when:%Y-%m} is closed; its report is frozen.")
    except reports.ReportError as exc:
        messages.error(request, str(exc))
    return redirect("web:report", month=f"{when:%Y-%m}")


@require_POST
@member_required(*COST_READERS)
def adjustment(request: Any) -> HttpResponse:
    form = AdjustmentForm(request.POST, org=request.org)
    if form.is_valid():
        try:
            adj = reports.add_adjustment(
                org=request.org,
                team=form.cleaned_data["team"],
                amount=form.cleaned_data["amount_usd"],
                reason=form.cleaned_data["reason"],
                by=request.user,
            )
            messages.success(request, f"Adjustment booked into {adj.month:%Y-%m}.")
        except reports.ReportError as exc:
            messages.error(request, str(exc))
    else:
        messages.error(request, "Adjustment not booked: check amount and reason.")
    return redirect("web:reports")
