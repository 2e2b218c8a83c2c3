"""Admin changes: django-auditlog on every configuration model, plus explicit entries.

auditlog records save()/delete()/m2m changes with actor, time and diff. Secret columns are
masked completely: auditlog's default mask keeps the second half of the value, so the mask used
here replaces any value with a constant, showing only that the field changed. Writes that
bypass model signals (queryset.update, bulk_create, apply_config) call `record_change` to
write the same kind of LogEntry row; those rows are sealed with the rest (chain "changes").
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import models

MASK = "***changed***"
# Never stored in a change entry, not even in part.
SECRET_FIELDS = frozenset({"key_hash", "lookup_id", "secret_encrypted"})
# Bulk updates touching only these are bookkeeping, not admin changes.
QUIET_FIELDS = frozenset({"last_used_at", "updated_at"})
_ACTIONS = {"create": 0, "update": 1, "delete": 2, "access": 3}


def mask_secret(value: str) -> str:
    """auditlog mask_callable: the value is replaced entirely, whatever it was."""
    return MASK


def _registrations() -> list[tuple[type[models.Model], dict[str, Any]]]:
    from billing.models import Budget, Price, RateLimit
    from policies.models import Policy, PolicyVersion
    from proxy.models import Deployment, ModelRoute, ProviderCredential
    from tenants.models import ApiKey, Membership, Organization, PersonalToken, Team

    secret = {"mask_callable": "audit.changes.mask_secret"}
    return [
        (Organization, {}),
        (Team, {"m2m_fields": {"allowed_models"}}),
        (Membership, {"m2m_fields": {"teams"}}),
        (ApiKey, {"mask_fields": ["key_hash", "lookup_id"], "exclude_fields": ["last_used_at"],
                  "m2m_fields": {"allowed_models"}, **secret}),
        (PersonalToken, {"mask_fields": ["key_hash", "lookup_id"], **secret}),
        (ProviderCredential, {"mask_fields": ["secret_encrypted"],
                              "exclude_fields": ["updated_at"], **secret}),
        (ModelRoute, {}),
        (Deployment, {}),
        (Policy, {}),
        (PolicyVersion, {}),
        (RateLimit, {}),
        (Budget, {}),
        (Price, {}),
    ]  # fmt: skip


def register_models() -> None:
    """Register the configuration models with auditlog (idempotent; from AppConfig.ready)."""
    from auditlog.registry import auditlog

    for model, options in _registrations():
        if not auditlog.contains(model):
            auditlog.register(model, **options)


def _masked(changes: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in changes.items():
        if name in SECRET_FIELDS or "secret" in name or "password" in name:
            out[name] = [MASK, MASK] if isinstance(value, list | tuple) else MASK
        elif isinstance(value, list | tuple):
            out[name] = [v if v is None else str(v) for v in value]
        else:
            out[name] = str(value)
    return out


def _subject(obj_or_label: Any) -> dict[str, Any]:
    """content_type/object_* columns for an instance, a model class (bulk) or a plain label."""
    from tenants.models import ConfigEpoch

    if isinstance(obj_or_label, models.Model):
        pk = obj_or_label.pk
        return {
            "content_type": ContentType.objects.get_for_model(obj_or_label),
            "object_pk": str(pk), "object_id": pk if isinstance(pk, int) else None,
            "object_repr": str(obj_or_label)[:1000],
        }  # fmt: skip
    if isinstance(obj_or_label, type) and issubclass(obj_or_label, models.Model):
        ct = ContentType.objects.get_for_model(obj_or_label)
        return {"content_type": ct, "object_pk": "*", "object_repr": f"{ct.model} (bulk)"}
    # Configuration lines name objects that may not exist (yet): filed under ConfigEpoch.
    ct = ContentType.objects.get_for_model(ConfigEpoch)
    return {"content_type": ct, "object_pk": "", "object_repr": str(obj_or_label)[:1000]}


def record_change(*, actor: Any, obj_or_label: Any, action: str | int,
                  changes: dict[str, Any], extra: dict[str, Any] | None = None) -> Any:  # fmt: skip
    """Write one explicit LogEntry (secrets masked); actor is a user, a name or None."""
    from auditlog.cid import get_cid
    from auditlog.models import LogEntry

    data = dict(extra or {})
    user = actor if isinstance(actor, get_user_model()) else None
    if actor is not None and user is None:
        data["actor"] = str(actor)
    entry = LogEntry(
        action=_ACTIONS[action] if isinstance(action, str) else action,
        changes=_masked(changes), changes_text="", cid=get_cid(), actor=user,
        actor_email=getattr(user, "email", None) if user else None,
        additional_data=data or None, **_subject(obj_or_label),
    )  # fmt: skip
    entry.save()
    return entry


def record_config_changes(lines: Iterable[str]) -> None:
    """One entry per applied apply_config change line (rolled back with a dry run)."""
    for line in lines:
        verb, _, rest = line.partition(" ")
        action = verb if verb in _ACTIONS else "update"
        record_change(actor="apply_config", obj_or_label=rest or line, action=action,
                      changes={"apply_config": line}, extra={"source": "apply_config"})  # fmt: skip


def record_bulk_update(model: type[models.Model], count: int, values: dict[str, Any]) -> None:
    """One summary entry per queryset.update() on an audited model (signals do not fire)."""
    from auditlog.registry import auditlog

    if not auditlog.contains(model) or set(values) <= QUIET_FIELDS:
        return
    changes = {name: [None, value] for name, value in values.items()}
    record_change(actor=None, obj_or_label=model, action="update", changes=changes,
                  extra={"bulk": True, "rows": count})  # fmt: skip
