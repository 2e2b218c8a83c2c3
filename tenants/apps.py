from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import m2m_changed

        from proxy.models import ModelRoute  # noqa: F401  (ensures the through models exist)
        from tenants import checks  # noqa: F401  (registers the deployment checks)
        from tenants.models import ApiKey, Team

        # Allowed-model lists change through M2M managers, which bypass save(); the only thing
        # this receiver does is move the cache epoch (tenants/epoch.py), no business logic.
        for through in (Team.allowed_models.through, ApiKey.allowed_models.through):
            m2m_changed.connect(_bump_on_m2m, sender=through, dispatch_uid=f"epoch-{through}")


def _bump_on_m2m(action: str, **kwargs: Any) -> None:
    if action in {"post_add", "post_remove", "post_clear"}:
        from tenants.epoch import bump_config_epoch

        bump_config_epoch()
