"""Sign-in lockout: repeated failures for one username from one client IP lock that pair out."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache


def _key(username: str, ip: str) -> str:
    digest = hashlib.sha256(f"{username.strip().lower()}|{ip}".encode()).hexdigest()[:32]
    return f"web:login-failures:{digest}"


def is_locked(username: str, ip: str) -> bool:
    return int(cache.get(_key(username, ip), 0)) >= settings.WEB_LOGIN_MAX_FAILURES


def record_failure(username: str, ip: str) -> None:
    """Count a failure; the window restarts with each failure (lockout lasts from the last one)."""
    key = _key(username, ip)
    count = int(cache.get(key, 0)) + 1
    cache.set(key, count, settings.WEB_LOGIN_LOCKOUT_S)


def clear(username: str, ip: str) -> None:
    cache.delete(_key(username, ip))
