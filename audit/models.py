"""Append-only request audit records.

Records hold copies (ids, slugs, prefixes), not foreign keys: deleting an organization or key
must never delete or rewrite its audit trail. The database refuses UPDATE and DELETE on
audit_auditrecord (see the migration's trigger) except through the retention purge.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import models
from django.utils import timezone

MONEY: dict[str, Any] = {"max_digits": 20, "decimal_places": 10}


class AuditRecord(models.Model):
    id = models.BigAutoField(primary_key=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    request_id = models.CharField(max_length=64, unique=True)
    org_id = models.BigIntegerField(null=True, db_index=True)
    org_slug = models.CharField(max_length=64, blank=True)
    team_id = models.BigIntegerField(null=True)
    team_slug = models.CharField(max_length=64, blank=True)
    key_id = models.BigIntegerField(null=True)
    key_prefix = models.CharField(max_length=32, blank=True)
    end_user = models.CharField(max_length=200, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    endpoint = models.CharField(max_length=64)
    model_requested = models.CharField(max_length=200, blank=True)
    model_served = models.CharField(max_length=200, blank=True)
    provider = models.CharField(max_length=64, blank=True)
    deployment_id = models.BigIntegerField(null=True)
    policy_version = models.CharField(max_length=64, blank=True)
    decision = models.CharField(max_length=16, blank=True)  # allow | flag | redact | block
    output_decision = models.CharField(max_length=16, blank=True)
    rule_ids = models.JSONField(default=list)
    risk_score = models.PositiveSmallIntegerField(default=0)
    prompt_tokens = models.BigIntegerField(default=0)
    completion_tokens = models.BigIntegerField(default=0)
    cost_usd = models.DecimalField(**MONEY, default=Decimal(0))
    status = models.PositiveSmallIntegerField()
    error_code = models.CharField(max_length=64, blank=True)
    stream = models.BooleanField(default=False)
    latency_ms = models.FloatField(default=0)
    attempts = models.JSONField(default=list)
    # HMAC-SHA256(GATEWAY_AUDIT_KEY, normalised prompt): proves what was sent without storing it.
    prompt_hmac = models.CharField(max_length=64, blank=True)
    # Only when the team enabled capture: the redacted prompt/response, Fernet-encrypted.
    captured = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["org_id", "created_at"], name="audit_org_time"),
            models.Index(fields=["org_id", "team_id", "created_at"], name="audit_team_time"),
        ]


class SealBlock(models.Model):
    """One signed block of a hash chain over audit rows (see audit/sealing.py).

    `header` is the canonical JSON that is hashed and signed; the other columns repeat parts of
    it for querying and are checked against it by verification.
    """

    chain = models.CharField(max_length=16)  # "requests" (AuditRecord) | "changes" (LogEntry)
    seq = models.BigIntegerField()
    kind = models.CharField(max_length=8)  # "records" | "purge"
    created_at = models.DateTimeField(default=timezone.now)
    first_at = models.DateTimeField(null=True)
    last_at = models.DateTimeField(null=True, db_index=True)
    count = models.IntegerField(default=0)
    prev_hash = models.CharField(max_length=64)
    block_hash = models.CharField(max_length=64)
    signature = models.CharField(max_length=64)
    header = models.TextField()
    # Canonical JSON list of [row id, label, 16-hex digest prefix], in id order.
    entries = models.TextField(default="[]")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["chain", "seq"], name="audit_seal_chain_seq"),
        ]

    def __str__(self) -> str:
        return f"{self.chain} #{self.seq} ({self.kind}, {self.count})"
