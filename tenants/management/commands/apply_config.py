"""manage.py apply_config FILE.yaml [--dry-run] [--prune]"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.config_apply import apply_config
from tenants.config_schema import ConfigError, parse_config


class Command(BaseCommand):
    help = "Apply a declarative YAML configuration (idempotent; all-or-nothing)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="print changes, apply none")
        parser.add_argument("--prune", action="store_true", help="delete what the file omits")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            data = yaml.safe_load(options["file"].read_text())
        except OSError as exc:
            raise CommandError(f"cannot read {options['file']}: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            raise CommandError(f"{options['file']}: invalid YAML: {exc}") from None
        try:
            config = parse_config(data)
            changes = apply_config(config, prune=options["prune"], dry_run=options["dry_run"])
        except ConfigError as exc:
            raise CommandError(f"{options['file']}: {exc}") from None
        prefix = "would " if options["dry_run"] else ""
        for change in changes:
            self.stdout.write(f"{prefix}{change}")
        if not changes:
            self.stdout.write("no changes")
