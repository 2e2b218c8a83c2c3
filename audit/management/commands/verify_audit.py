"""manage.py verify_audit [--seal FILE]: exit 1 and name the first tampered row or block."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Recompute every audit seal block and row digest; compare with an exported seal."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--seal",
            type=Path,
            help="exported seal (export_audit_seal, or GATEWAY_AUDIT_SEAL_FILE, the default)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from audit.verify import verify_all

        seal: Path | None = options["seal"]
        if seal is None and settings.GATEWAY_AUDIT_SEAL_FILE:
            default = Path(settings.GATEWAY_AUDIT_SEAL_FILE)
            seal = default if default.exists() else None
        if seal is not None and not seal.exists():
            raise CommandError(f"seal file {seal} not found")
        if seal is None:
            self.stderr.write(
                "no exported seal given: truncation of the newest blocks is not checked"
            )
        reports = verify_all(seal_path=seal)
        for report in reports:
            if report.finding is not None:
                raise CommandError(f"audit verification FAILED: {report.finding}")
        for report in reports:
            self.stdout.write(report.summary())
        self.stdout.write(self.style.SUCCESS("audit trail verified"))
