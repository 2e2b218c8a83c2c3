"""Finance reports: totals from rollups, CSV/PDF, month-over-month, close, adjustments, email."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest
from pypdf import PdfReader

from billing import reports
from billing.models import Adjustment, Budget, MonthClose, Rollup
from tests.web.conftest import rollup

pytestmark = pytest.mark.django_db


@pytest.fixture
def months(world):
    current = reports.current_month(world.acme)
    last = reports.previous_month(current)
    before = reports.previous_month(last)
    return current, last, before


@pytest.fixture
def usage(world, months):
    _, last, before = months
    start = reports.month_bounds(world.acme, last)[0]
    rollup(org=world.acme, team=world.search, key=world.acme_key, at=start, granularity="month",
           requests=10, cost="1.2500000001", prompt_tokens=100, completion_tokens=50)  # fmt: skip
    rollup(org=world.acme, team=world.ads, model="gpt-x", at=start, granularity="month",
           requests=4, cost="0.75")  # fmt: skip
    rollup(org=world.acme, team=world.search, at=reports.month_bounds(world.acme, before)[0],
           granularity="month", cost="1")  # fmt: skip
    rollup(org=world.globex, team=world.rnd, at=start, granularity="month", cost="50")
    world.search.cost_center = "CC-42"
    world.search.save()
    Budget.objects.create(team=world.search, limit_usd=Decimal(5))
    return last


def test_report_totals_and_month_over_month(world, usage):
    report = reports.build_report(world.acme, usage)
    assert report["totals"]["cost_usd"] == "2.0000000001"
    assert report["totals"]["requests"] == 14
    search = next(t for t in report["teams"] if t["slug"] == "search")
    assert search["cost_center"] == "CC-42" and search["change_pct"] == "25.0"
    assert search["budget_usd"] == "5.0000000000" and search["budget_used_pct"] == "25.0"
    assert search["models"][0]["keys"][0]["prefix"] == world.acme_key.prefix


def test_falls_back_to_daily_rollups(world, months):
    _, last, _ = months
    start = reports.month_bounds(world.acme, last)[0]
    rollup(org=world.acme, team=world.search, at=start, cost="1")
    rollup(org=world.acme, team=world.search, at=start.replace(day=3), cost="2")
    assert reports.build_report(world.acme, last)["totals"]["cost_usd"] == "3.0000000000"


def test_page_csv_and_pdf(world, as_user, usage):
    bob = as_user("bob")
    page = bob.get(f"/reports/{usage:%Y-%m}/").content.decode()
    assert "CC-42" in page and "$2.0000" in page and "25.0 %" in page
    response = bob.get(f"/reports/{usage:%Y-%m}.csv")
    assert response["Content-Disposition"].endswith(f'acme-{usage:%Y-%m}.csv"')
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    usage_rows = [r for r in rows if r["type"] == "usage"]
    assert sum(Decimal(r["cost_usd"]) for r in usage_rows) == Decimal("2.0000000001")
    assert next(r for r in rows if r["type"] == "total_usage")["cost_usd"] == "2.0000000001"
    pdf = bob.get(f"/reports/{usage:%Y-%m}.pdf")
    assert pdf["Content-Type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert re.search(r"Total usage cost \(USD\): 2\.0000000001", text)
    assert "CC-42" in text


def test_other_org_numbers_never_leak(world, as_user, usage):
    page = as_user("charlie").get(f"/reports/{usage:%Y-%m}.csv").content.decode()
    assert "search" not in page and "50.0000000000" in page


def test_price_versions_partial(world, as_user, usage):
    response = as_user("bob").get(f"/reports/{usage:%Y-%m}/prices/")
    assert response.status_code == 200 and b"No priced usage" in response.content


def test_close_freezes_the_month(world, as_user, usage):
    response = as_user("bob").post(f"/reports/{usage:%Y-%m}/close/")
    assert response.status_code == 302
    closed = MonthClose.objects.get(org=world.acme, month=usage)
    assert closed.verify() and closed.closed_by == world.bob
    # Later data or price changes cannot alter the closed month.
    Rollup.objects.filter(org_id=world.acme.pk).update(cost_usd=Decimal(999))
    report = reports.build_report(world.acme, usage)
    assert report["totals"]["cost_usd"] == "2.0000000001"
    page = as_user("alice").get(f"/reports/{usage:%Y-%m}/").content.decode()
    assert closed.checksum in page and "verified" in page
    with pytest.raises(ValueError):
        closed.save()
    with pytest.raises(ValueError):
        closed.delete()
    with pytest.raises(reports.ReportError):
        reports.close_month(org=world.acme, month=usage)


def test_current_month_cannot_be_closed(world, months):
    with pytest.raises(reports.ReportError):
        reports.close_month(org=world.acme, month=months[0])


def test_adjustment_goes_into_the_open_month(world, as_user, months):
    current = months[0]
    data = {"team": world.search.pk, "amount_usd": "-0.5", "reason": "refund outage"}
    assert as_user("bob").post("/reports/adjustments/", data).status_code == 302
    adj = Adjustment.objects.get(org=world.acme)
    assert adj.month == current and adj.created_by == world.bob
    report = reports.build_report(world.acme, current)
    assert report["totals"]["adjustments_usd"] == "-0.5000000000"
    assert report["totals"]["total_usd"] == "-0.5000000000"
    rows = reports.report_csv(report)
    assert "adjustment" in rows and "refund outage" in rows


def test_adjustment_for_another_orgs_team_is_refused(world, as_user):
    data = {"team": world.rnd.pk, "amount_usd": "1", "reason": "x"}
    as_user("bob").post("/reports/adjustments/", data)
    assert not Adjustment.objects.exists()


def test_monthly_task_mails_finance(world, usage, mailoutbox, eager_celery):
    from billing.tasks import monthly_reports_task

    assert monthly_reports_task.delay().get() == 1
    (mail,) = mailoutbox
    assert mail.to == ["bob@example.com"] and f"{usage:%Y-%m}" in mail.subject
    name, content, _ = mail.attachments[0]
    assert name == f"acme-{usage:%Y-%m}.csv" and "2.0000000001" in content


def test_bad_month_is_404(world, as_user):
    assert as_user("bob").get("/reports/2026-13/").status_code == 404
