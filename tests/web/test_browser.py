"""The UI in a real browser against a real gateway with real /v1 traffic (openai SDK)."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import openai
import pytest
from django.db import connection
from django.utils import timezone
from pypdf import PdfReader

from audit.models import AuditRecord
from billing.rollups import refresh_rollups
from tenants.models import ApiKey, Team
from tests.e2e.helpers import fixed_price_route, wait_settled
from tests.server import start_gateway
from tests.web.browser import chromium, shot, sign_in  # noqa: F401  (fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
TENTH_NANO = Decimal("1e-10")


def _month_bounds_utc(now: datetime) -> tuple[datetime, datetime]:
    start = datetime(now.year, now.month, 1, tzinfo=UTC)
    end = datetime(now.year + (now.month == 12), now.month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def _usage_sql(org_id: int, start: datetime, end: datetime) -> tuple[Decimal, int]:
    """The month's usage summed with the test's own SQL, not the product's aggregation."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(SUM(cost_usd), 0), COUNT(*) FROM billing_usagerecord"
            " WHERE org_id = %s AND created_at >= %s AND created_at < %s",
            [org_id, start, end],
        )
        total, count = cursor.fetchone()
    return Decimal(str(total)).quantize(TENTH_NANO), int(count)


def _admin_sets_up_team_key_budget(page):
    page.click("text=Teams & keys")
    shot(page, "01-teams")
    page.fill("#team-form input[name=name]", "Platform")
    page.fill("#team-form input[name=slug]", "platform")
    page.fill("#team-form input[name=cost_center]", "CC-7")
    page.click("#team-form button[type=submit]")
    page.wait_for_selector("h1:has-text('Platform')")
    page.fill("#key-form input[name=name]", "platform-app")
    page.click("#key-form button[type=submit]")
    page.wait_for_selector("#new-key")
    plaintext = page.input_value("#new-key-value")
    assert plaintext.startswith("sgw-")
    assert "shown only once" in page.inner_text("#new-key")
    shot(page, "02-key-created")
    page.fill("#budget-form input[name=budget-limit_usd]", "100")
    page.fill("#budget-form input[name=budget-alert_at_text]", "50,80,100")
    page.click("#budget-form button[type=submit]")
    page.wait_for_selector("text=Update budget")
    assert plaintext not in page.content()  # never shown again
    shot(page, "03-team")
    return plaintext


def _send_traffic(base_url: str, plaintext: str) -> None:
    client = openai.OpenAI(base_url=f"{base_url}/v1", api_key=plaintext, max_retries=0)
    for i in range(5):
        answer = client.chat.completions.create(
            model="fixed", messages=[{"role": "user", "content": f"hello {i}"}], max_tokens=20
        )
        assert answer.choices[0].message is not None
    with pytest.raises(openai.BadRequestError):  # the default policy blocks secrets
        client.chat.completions.create(
            model="fixed",
            messages=[{"role": "user", "content": "my key is AKIAIOSFODNN7EXAMPLE ok?"}],
        )


def _refresh(org_id: int) -> None:
    wait_settled()
    now = timezone.now()
    refresh_rollups(now - timedelta(days=32), now + timedelta(hours=1), org_id=org_id)


def test_admin_finance_other_org_and_member_in_a_browser(world, tmp_path, chromium):  # noqa: F811
    fixed_price_route("fixed", per_request="0.0015", output="2")
    server = start_gateway(tmp_path)
    try:
        admin = sign_in(chromium, server.url, "alice")
        shot(admin, "00-overview-empty")
        plaintext = _admin_sets_up_team_key_budget(admin)
        team = Team.objects.get(org=world.acme, slug="platform")
        key = ApiKey.objects.get(team=team)

        _send_traffic(server.url, plaintext)
        _refresh(world.acme.pk)
        records = AuditRecord.objects.filter(org_id=world.acme.pk)
        assert records.count() == 6

        admin.goto("/")
        assert admin.inner_text("#total-requests") == "6"
        assert "platform-app" in admin.inner_text("#top-keys")
        assert "Platform (monthly)" in admin.inner_text("#budgets")
        assert admin.locator("figure svg").count() == 5
        shot(admin, "04-overview")

        admin.click("text=Audit log")
        admin.select_option("select[name=decision]", "block")
        admin.click("form.filters button[type=submit]")
        admin.wait_for_url(re.compile(r".*decision=block.*"))
        assert admin.locator("#records tbody tr").count() == 1
        shot(admin, "05-audit")
        blocked = records.get(decision="block")
        admin.goto(f"/audit/{blocked.pk}/")
        assert "block" in admin.inner_text("#decision")
        shot(admin, "06-audit-detail")

        admin.goto("/providers/")
        shot(admin, "07-providers")
        admin.goto("/policies/")
        admin.click("a:text-is('recommended')")
        admin.wait_for_selector("#playground-result", state="attached")
        admin.fill("textarea[name=text]", "Write to jane.doe@example.com about the plan")
        admin.click("text=Evaluate")
        admin.wait_for_selector("#decision mark")
        assert "jane.doe@example.com" in admin.inner_text("#decision mark")
        shot(admin, "08-policy-playground")
        admin.goto("/changes/")
        shot(admin, "09-changes")
        admin.context.close()

        finance = sign_in(chromium, server.url, "bob")
        finance.click("text=Reports")
        shot(finance, "10-reports")
        now = timezone.now()
        finance.goto(f"/reports/{now:%Y-%m}/")
        finance.wait_for_selector("#prices table")
        assert "CC-7" in finance.inner_text("#report-table")
        shot(finance, "11-report-month")
        with finance.expect_download() as csv_download:
            finance.click("#csv-link")
        csv_text = Path(csv_download.value.path()).read_text(encoding="utf-8")
        with finance.expect_download() as pdf_download:
            finance.click("#pdf-link")
        pdf = PdfReader(pdf_download.value.path())
        pdf_text = "".join(p.extract_text() for p in pdf.pages)
        expected_cost, expected_count = _usage_sql(world.acme.pk, *_month_bounds_utc(now))
        assert expected_count == 5 and expected_cost > 0
        rows = list(csv.DictReader(io.StringIO(csv_text)))
        total = next(r for r in rows if r["type"] == "total_usage")
        assert Decimal(total["cost_usd"]) == expected_cost
        assert sum(Decimal(r["cost_usd"]) for r in rows if r["type"] == "usage") == expected_cost
        pdf_total = re.search(r"Total usage cost \(USD\): ([0-9.]+)", pdf_text).group(1)
        assert Decimal(pdf_total) == expected_cost
        assert finance.goto("/teams/").status == 403
        finance.context.close()

        other = sign_in(chromium, server.url, "charlie")
        for url in (f"/teams/{team.pk}/", f"/keys/{key.pk}/", f"/audit/{blocked.pk}/"):
            assert other.goto(url).status == 404, url
        shot(other, "12-other-org-404")
        other.goto("/")
        assert other.inner_text("#total-requests") == "0"
        assert "platform" not in other.content().lower()
        other.goto("/audit/")
        assert other.locator("#records tbody tr td a").count() == 0
        other.context.close()

        member = sign_in(chromium, server.url, "erin")
        for url in ("/teams/", "/providers/", "/policies/", "/audit/", "/reports/",
                    f"/reports/{now:%Y-%m}.csv"):  # fmt: skip
            assert member.goto(url).status == 403, url
        shot(member, "13-member-403")
        member.goto("/")
        shot(member, "14-member-overview")
        member.context.close()
    finally:
        server.stop()
