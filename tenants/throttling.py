"""Management API rate limiting with django-ratelimit (sync views; /v1 has its own limiter)."""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import is_ratelimited
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle


def _caller(group: str, request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    # Anonymous callers: the address plus a digest of what they presented (never the token).
    auth = request.META.get("HTTP_AUTHORIZATION", "")
    return (
        f"ip:{request.META.get('REMOTE_ADDR', '')}:{hashlib.sha256(auth.encode()).hexdigest()[:12]}"
    )


class ManagementApiThrottle(BaseThrottle):
    """GATEWAY_API_RATE per user (or per address when anonymous), shared through the cache."""

    def allow_request(self, request: Request, view: Any) -> bool:
        return not is_ratelimited(
            request._request,
            group="management-api",
            key=_caller,
            rate=settings.GATEWAY_API_RATE,
            increment=True,
        )

    def wait(self) -> float | None:
        return 60.0
