"""manage.py bootstrap_demo: an idempotent demo tenant, admin login, API key and mock model."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from policies.models import Policy
from proxy.models import Deployment, ModelRoute, ProviderCredential, ProviderKind
from tenants.models import ApiKey, Membership, Organization, Role, Team

ORG, TEAM, USERNAME, KEY_NAME, MODEL = "demo", "default", "admin", "demo-key", "demo"


class Command(BaseCommand):
    help = "Create the demo organization, team, admin user, API key and the `demo` mock model."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            Policy.objects.sync_presets()
            org, _ = Organization.objects.get_or_create(slug=ORG, defaults={"name": "Demo"})
            team, _ = Team.objects.get_or_create(org=org, slug=TEAM, defaults={"name": "Default"})
            self._mock_route()
            password = self._admin(org)
            plaintext = self._key(team)
        base = settings.SITE_URL.rstrip("/")
        if password:
            self.stdout.write(f"Admin login: {USERNAME} / {password}  (web UI: {base}/login/)")
        else:
            self.stdout.write(
                f"Admin login {USERNAME!r} exists; reset it with "
                f"`python manage.py changepassword {USERNAME}`."
            )
        if plaintext:
            self.stdout.write(f"Demo API key (shown once): {plaintext}")
        else:
            self.stdout.write(
                f"Demo API key {KEY_NAME!r} exists; get a new one with "
                f"`python manage.py create_api_key --team {ORG}/{TEAM} --name another-key`."
            )
        self.stdout.write(f"Try it: OpenAI(base_url='{base}/v1', api_key=KEY), model='{MODEL}'.")

    @staticmethod
    def _mock_route() -> None:
        provider, _ = ProviderCredential.objects.get_or_create(
            org=None, name="mock", defaults={"kind": ProviderKind.MOCK}
        )
        route, created = ModelRoute.objects.get_or_create(
            org=None, name=MODEL, defaults={"description": "Built-in mock provider (echo)."}
        )
        if created or not route.deployments.exists():
            Deployment.objects.create(route=route, provider=provider, upstream_model="mock-echo")

    @staticmethod
    def _admin(org: Organization) -> str | None:
        user_model = get_user_model()
        if user_model.objects.filter(username=USERNAME).exists():
            return None
        password = secrets.token_urlsafe(12)
        user = user_model.objects.create_superuser(USERNAME, "admin@demo.invalid", password)
        Membership.objects.create(user=user, org=org, role=Role.ORG_ADMIN)
        return password

    @staticmethod
    def _key(team: Team) -> str | None:
        if ApiKey.objects.filter(team=team, name=KEY_NAME).exists():
            return None
        _, plaintext = ApiKey.objects.issue(team=team, name=KEY_NAME)
        return plaintext
