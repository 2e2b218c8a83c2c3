from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from proxy.models import ModelRoute
from tenants.models import ApiKey

pytestmark = pytest.mark.django_db


def test_bootstrap_demo_is_idempotent_and_prints_credentials_once():
    first, second = StringIO(), StringIO()
    call_command("bootstrap_demo", stdout=first)
    call_command("bootstrap_demo", stdout=second)
    assert "Demo API key (shown once): sgw-" in first.getvalue()
    assert "Admin login: admin / " in first.getvalue()
    assert "sgw-" not in second.getvalue().replace("create_api_key", "")
    assert "exists" in second.getvalue() and "create_api_key" in second.getvalue()
    assert ApiKey.objects.count() == 1
    route = ModelRoute.objects.get(name="demo")
    assert route.deployments.get().provider.kind == "mock"


def test_create_api_key_prints_only_the_key_on_its_last_line(world):
    out = StringIO()
    call_command(
        "create_api_key", "--team", "acme/search", "--name", "cli", stdout=out, stderr=StringIO()
    )
    last = out.getvalue().strip().splitlines()[-1]
    assert ApiKey.objects.for_key(last).name == "cli"


def test_create_api_key_rejects_an_unknown_team(world):
    with pytest.raises(CommandError, match="no team"):
        call_command("create_api_key", "--team", "acme/nope", "--name", "x", stderr=StringIO())


def test_rotate_secrets_moves_secrets_to_the_newest_key(world, settings):
    from cryptography.fernet import Fernet

    from gateway_project import crypto
    from proxy.models import ProviderCredential

    provider = ProviderCredential(name="oa", kind="openai", base_url="https://api.openai.com/v1")
    provider.set_secret("sk-rotate-me")
    provider.save()
    old_keys = list(settings.GATEWAY_ENCRYPTION_KEYS)
    settings.GATEWAY_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), *old_keys]
    crypto.reset_cache()
    try:
        call_command("rotate_secrets", stdout=StringIO())
        settings.GATEWAY_ENCRYPTION_KEYS = settings.GATEWAY_ENCRYPTION_KEYS[:1]
        crypto.reset_cache()
        provider.refresh_from_db()
        assert provider.secret() == "sk-rotate-me"
    finally:
        settings.GATEWAY_ENCRYPTION_KEYS = old_keys
        crypto.reset_cache()
