"""manage.py rotate_secrets: re-encrypt stored provider secrets under the newest Fernet key."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from gateway_project import crypto
from proxy.models import ProviderCredential


class Command(BaseCommand):
    help = "Re-encrypt provider secrets with the first key of GATEWAY_ENCRYPTION_KEYS."

    def handle(self, *args: Any, **options: Any) -> None:
        count = 0
        with transaction.atomic():
            for provider in ProviderCredential.objects.exclude(
                secret_encrypted=""
            ).select_for_update():
                provider.secret_encrypted = crypto.rotate(provider.secret_encrypted)
                provider.save(update_fields=["secret_encrypted", "updated_at"])
                count += 1
        self.stdout.write(f"re-encrypted {count} provider secret(s)")
