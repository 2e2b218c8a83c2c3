"""Writing request audit records: one INSERT per request, in the settlement transaction."""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from typing import Any

import orjson
from django.conf import settings

from audit.models import AuditRecord
from gateway_project import crypto


def prompt_hmac(texts: list[str]) -> str:
    """Keyed hash of the normalised prompt: short prompts cannot be recovered by guessing."""
    normalised = "\n".join(" ".join(unicodedata.normalize("NFKC", t).split()) for t in texts)
    key = settings.GATEWAY_AUDIT_KEY.encode()
    return hmac.new(key, normalised.encode(), hashlib.sha256).hexdigest()


def seal_capture(prompt: Any, response: str | None) -> str:
    """Encrypt captured (already redacted) text for storage."""
    return crypto.encrypt(orjson.dumps({"prompt": prompt, "response": response}).decode())


def open_capture(token: str) -> dict[str, Any]:
    """Decrypt a captured prompt/response (admin views with capture enabled only)."""
    result: dict[str, Any] = orjson.loads(crypto.decrypt(token))
    return result


def record(fields: dict[str, Any]) -> AuditRecord:
    """Append one request record (sync; call inside the request's final transaction)."""
    return AuditRecord.objects.create(**fields)
