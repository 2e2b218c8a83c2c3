"""`flush` that may empty the append-only audit tables (test teardown, local resets).

Django's flush (also run between transactional tests) empties every table; the audit triggers
would refuse it. It needs owner-level rights anyway: in production the application role has
no DELETE or TRUNCATE on the audit tables (docs/audit.md), so this cannot erase them there.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands import flush


class Command(flush.Command):
    def handle(self, **options: Any) -> None:
        from audit.retention import purge_allowed

        with purge_allowed(options["database"], session=True):
            super().handle(**options)
