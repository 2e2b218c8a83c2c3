"""manage.py create_api_key --team ORG/TEAM --name NAME: prints only the key on its last line."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.models import ApiKey, Team


class Command(BaseCommand):
    help = "Create an API key for a team and print it (shown once, never stored)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--team", required=True, help="ORG/TEAM slugs")
        parser.add_argument("--name", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        org_slug, _, team_slug = options["team"].partition("/")
        team = Team.objects.filter(org__slug=org_slug, slug=team_slug).first()
        if team is None:
            raise CommandError(f"no team {options['team']!r} (expected ORG/TEAM)")
        key, plaintext = ApiKey.objects.issue(team=team, name=options["name"])
        self.stderr.write(f"Created key {key.prefix}... for {team}. It will not be shown again.")
        self.stdout.write(plaintext)
