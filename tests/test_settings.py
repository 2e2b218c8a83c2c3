"""Secure by default: production mode refuses to start without secrets; check --deploy is clean."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROD_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "prod-secret-" + "k" * 60,
    "GATEWAY_KEY_PEPPER": "prod-pepper-" + "p" * 30,
    "GATEWAY_ENCRYPTION_KEYS": "dGVzdC1vbmx5LWZlcm5ldC1rZXktbm90LXNlY3JldCE=",
    "ALLOWED_HOSTS": "gateway.example.com",
}


def manage(*args, env):
    base = {k: v for k, v in os.environ.items() if k not in PROD_ENV and k != "SECURE_HTTPS"}
    base.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=base, capture_output=True, text=True
    )


def test_missing_secret_key_is_a_startup_error():
    env = {k: v for k, v in PROD_ENV.items() if k != "SECRET_KEY"}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_missing_encryption_key_is_a_startup_error():
    env = {k: v for k, v in PROD_ENV.items() if k != "GATEWAY_ENCRYPTION_KEYS"}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "GATEWAY_ENCRYPTION_KEYS must be set" in result.stderr


def test_check_deploy_is_clean_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PROD_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
