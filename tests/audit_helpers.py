"""Audit and usage rows for tests."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from audit.models import AuditRecord
from billing.models import UsageRecord


def globex_records(world: Any) -> dict[str, Any]:
    """One audit record and one usage row belonging to the globex organization."""
    audit = AuditRecord.objects.create(
        request_id="req-globex", org_id=world.globex.pk, org_slug="globex", team_id=world.rnd.pk,
        team_slug="rnd", key_id=world.globex_key.pk, key_prefix=world.globex_key.prefix,
        endpoint="/v1/chat/completions", model_requested="demo", status=200,
    )  # fmt: skip
    usage = UsageRecord.objects.create(
        request_id="req-globex", org=world.globex, team=world.rnd, key=world.globex_key,
        key_prefix=world.globex_key.prefix, endpoint="/v1/chat/completions",
        model_requested="demo", status=200, cost_usd=Decimal("0.5"),
    )  # fmt: skip
    return {"auditrecord": audit, "usagerecord": usage}
