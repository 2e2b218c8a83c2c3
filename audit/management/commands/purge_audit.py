"""manage.py purge_audit --before DATE: delete sealed audit rows older than DATE (UTC)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Delete audit rows (and their seal blocks) older than a date, leaving a purge block."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--before", required=True, help="YYYY-MM-DD or ISO datetime (UTC)")

    def handle(self, *args: Any, **options: Any) -> None:
        from audit.retention import purge_before

        try:
            cutoff = datetime.fromisoformat(options["before"])
        except ValueError as exc:
            raise CommandError(f"--before: {exc}") from exc
        if cutoff.tzinfo is None:
            cutoff = cutoff.replace(tzinfo=UTC)
        for chain, count in purge_before(cutoff).items():
            self.stdout.write(f"{chain}: purged {count} rows before {cutoff.isoformat()}")
