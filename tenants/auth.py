"""Authentication of /v1 requests: API key -> KeyContext, without a database query per request.

Resolved keys live in an in-process dict keyed by the keyed hash of the presented key. The
dict is dropped whenever the configuration epoch moves (tenants/epoch.py), and each entry
also expires after GATEWAY_KEY_CACHE_TTL_S. An entry is only stored if the epoch did not
move while it was being loaded, so a request that was in flight during a revocation can never
write the revoked key back into the cache.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from asgiref.sync import sync_to_async
from django.conf import settings
from django.utils import timezone

from billing.rules import BudgetRule, LimitRule
from policies.engine import CompiledPolicy
from tenants import keys
from tenants.epoch import EpochWatcher
from tenants.throttle import AuthThrottle

_NEGATIVE_TTL_S = 5.0


@dataclass(frozen=True, slots=True)
class KeyContext:
    """Everything the data plane needs to know about a caller, cached per process."""

    key_id: int
    key_prefix: str
    key_name: str
    end_user: str
    team_id: int
    team_slug: str
    org_id: int
    org_slug: str
    org_time_zone: str
    # None: every model route visible to the organization.
    allowed_models: frozenset[str] | None
    expires_at: datetime | None
    revoked_at: datetime | None
    limit_rules: tuple[LimitRule, ...] = ()
    budget_rules: tuple[BudgetRule, ...] = ()
    policy: CompiledPolicy | None = None
    capture_prompts: bool = False

    def is_active(self, now: datetime) -> bool:
        if self.revoked_at is not None and self.revoked_at <= now:
            return False
        return self.expires_at is None or self.expires_at > now

    def may_use(self, model: str) -> bool:
        return self.allowed_models is None or model in self.allowed_models


class AuthError(Exception):
    """Authentication failed; status 401 (bad key) or 429 (too many failures from this IP)."""

    def __init__(self, status: int, code: str, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after


def _model_names(manager: object) -> frozenset[str] | None:
    names = frozenset(manager.values_list("name", flat=True))  # type: ignore[attr-defined]
    return names or None


def load_key_context(presented: str) -> KeyContext | None:
    """Read a key and its team from the database (sync; called on cache misses only)."""
    from billing.rules import load_rules
    from tenants.models import ApiKey

    key = ApiKey.objects.for_key(presented)
    if key is None:
        return None
    team_models = _model_names(key.team.allowed_models)
    key_models = _model_names(key.allowed_models)
    if team_models is None:
        allowed = key_models
    elif key_models is None:
        allowed = team_models
    else:
        allowed = team_models & key_models
    limits, budgets = load_rules(key.team.org_id, key.team_id, key.pk)
    return KeyContext(
        key_id=key.pk,
        key_prefix=key.prefix,
        key_name=key.name,
        end_user=key.end_user,
        team_id=key.team_id,
        team_slug=key.team.slug,
        org_id=key.team.org_id,
        org_slug=key.team.org.slug,
        org_time_zone=key.team.org.time_zone,
        allowed_models=allowed,
        expires_at=key.expires_at,
        revoked_at=key.revoked_at,
        limit_rules=limits,
        budget_rules=budgets,
        policy=_effective_policy(key.team),
        capture_prompts=key.team.capture_prompts,
    )


def _effective_policy(team: object) -> CompiledPolicy | None:
    """The team's policy, else its organization's, else the platform default preset."""
    from policies.models import Policy

    policy_id = team.policy_id or team.org.policy_id  # type: ignore[attr-defined]
    if policy_id is not None:
        policy = Policy.objects.select_related("current").filter(pk=policy_id).first()
    else:
        name = settings.GATEWAY_DEFAULT_POLICY
        policy = Policy.objects.select_related("current").filter(org=None, name=name).first()
    if policy is None or policy.current is None:
        return None
    compiled: CompiledPolicy = policy.current.compiled()
    return compiled


def presented_key(authorization: str | None, x_api_key: str | None) -> str | None:
    """The key from `Authorization: Bearer` (OpenAI SDK) or `x-api-key` (Anthropic SDK)."""
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    if x_api_key and x_api_key.strip():
        return x_api_key.strip()
    return None


class KeyResolver:
    """Per-process key cache with epoch invalidation and per-IP failure throttling."""

    def __init__(self, throttle: AuthThrottle | None = None) -> None:
        self._entries: dict[str, tuple[KeyContext | None, float]] = {}
        self._epoch = EpochWatcher()
        self._throttle = throttle or AuthThrottle()

    async def authenticate(self, presented: str | None, client_ip: str) -> KeyContext:
        """Return the caller's context or raise AuthError (401 for any bad key, 429 if throttled)."""
        if await self._epoch.refresh():
            self._entries.clear()
        if not presented:
            raise AuthError(401, "invalid_api_key", "Missing API key. Send it as a Bearer token.")
        digest = keys.hash_key(presented)
        now = time.monotonic()
        entry = self._entries.get(digest)
        if entry is None or entry[1] <= now:
            if await self._throttle.is_blocked(client_ip):
                raise self._throttled()
            entry = await self._load(presented, digest, now)
        ctx = entry[0]
        if ctx is None or not ctx.is_active(timezone.now()):
            await self._fail(client_ip)
        assert ctx is not None
        return ctx

    async def _load(
        self, presented: str, digest: str, now: float
    ) -> tuple[KeyContext | None, float]:
        epoch_before = self._epoch.value
        ctx = await sync_to_async(load_key_context)(presented)
        ttl = settings.GATEWAY_KEY_CACHE_TTL_S if ctx is not None else _NEGATIVE_TTL_S
        entry = (ctx, now + ttl)
        if self._epoch.value == epoch_before:
            self._entries[digest] = entry
        return entry

    async def _fail(self, client_ip: str) -> None:
        if await self._throttle.record_failure(client_ip):
            raise self._throttled()
        raise AuthError(401, "invalid_api_key", "Incorrect API key provided.")

    @staticmethod
    def _throttled() -> AuthError:
        return AuthError(
            429,
            "too_many_auth_failures",
            "Too many failed authentication attempts from this address; try again later.",
            retry_after=60,
        )

    def clear(self) -> None:
        """Forget every cached key (tests, explicit invalidation)."""
        self._entries.clear()
        self._epoch.force_stale()


@cache
def _trusted_networks() -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(n, strict=False) for n in settings.GATEWAY_TRUSTED_PROXIES)


def _is_trusted(ip: str) -> bool:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(addr in net for net in _trusted_networks())


def client_ip(peer: str, forwarded_for: str | None) -> str:
    """The client address: X-Forwarded-For hops count only while they come from trusted proxies."""
    if not forwarded_for or not _is_trusted(peer):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop):
            return hop
    return hops[0] if hops else peer
