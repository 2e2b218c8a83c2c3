"""manage.py seal_audit: seal committed audit rows now (the worker does it every minute)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Append signed seal blocks over every committed, unsealed audit row."

    def handle(self, *args: Any, **options: Any) -> None:
        from audit.sealing import seal_all

        for chain, count in seal_all().items():
            self.stdout.write(f"{chain}: sealed {count} rows")
