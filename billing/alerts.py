"""Budget threshold alerts by email and webhook (sent from a Celery task, never the hot path)."""

from __future__ import annotations

import logging

import httpx
from django.conf import settings
from django.core.mail import send_mail

from billing.models import Budget, BudgetPeriod
from proxy.http import post_webhook
from tenants.models import Membership, Role

log = logging.getLogger(__name__)


def alert_payload(budget: Budget, period: BudgetPeriod, threshold: int) -> dict[str, object]:
    return {
        "event": "budget.threshold",
        "budget_id": budget.pk,
        "scope": budget.scope.value,
        "period": budget.period,
        "period_start": period.starts_at.isoformat(),
        "threshold_percent": threshold,
        "limit_usd": str(budget.limit_usd),
        "spent_usd": str(period.spent),
    }


def recipients(budget: Budget) -> list[str]:
    """The budget's own addresses plus the organization's admins and finance users."""
    emails = [str(e) for e in budget.alert_emails]
    members = Membership.objects.filter(
        org_id=budget.owner_org_id, role__in=[Role.ORG_ADMIN, Role.FINANCE]
    ).select_related("user")
    emails += [m.user.email for m in members if m.user.email]
    return sorted(set(emails))


def send_budget_alert(budget_id: int, period_id: int, threshold: int) -> None:
    """Deliver one threshold alert; the claim in billing.budgets already made it once-only."""
    budget = Budget.objects.get(pk=budget_id)
    period = BudgetPeriod.objects.get(pk=period_id)
    payload = alert_payload(budget, period, threshold)
    to = recipients(budget)
    if to:
        send_mail(
            subject=f"Budget {threshold}% used ({budget.scope.value} budget {budget.pk})",
            message="\n".join(f"{k}: {v}" for k, v in payload.items()),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=to,
        )
    if budget.alert_webhook:
        try:
            post_webhook(budget.alert_webhook, payload)
        except (httpx.HTTPError, OSError) as exc:
            log.warning("budget webhook failed: %s", type(exc).__name__)
