from __future__ import annotations

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from audit import changes, retention

        # SQLite triggers call sgw_audit_purge(); every connection needs the function.
        connection_created.connect(
            retention.install_sqlite_function, dispatch_uid="sgw-audit-sqlite-function"
        )
        changes.register_models()
