"""manage.py export_audit_seal [--output FILE]: the newest seal of each chain as JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Write the newest audit seal (block number, hash, signature per chain) as JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", type=Path, help="file to write (default: stdout)")
        parser.add_argument(
            "--no-seal-first", action="store_true", help="export the heads as they are"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from audit import sealing

        if not options["no_seal_first"]:
            sealing.seal_all()
        output: Path | None = options["output"]
        if output is None:
            text = orjson.dumps(sealing.current_seal(), option=orjson.OPT_INDENT_2).decode()
            self.stdout.write(text)
            return
        sealing.write_seal(output)
        self.stderr.write(f"wrote {output}; keep it outside the database")
