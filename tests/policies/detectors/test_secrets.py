from __future__ import annotations

import base64
import json

import pytest

from policies.detectors.secrets import SecretsDetector, shannon_entropy

FAKE = {
    "openai_key": "sk-proj-" + "Ab3dEfGh1jKlMn0pQrStUvWxYz123456FAKEfake99",
    "anthropic_key": "sk-ant-api03-" + "FAKEfake0123456789abcdefghijklmnopqrstuvwxyzAB",
    "aws_access_key_id": "AKIAFAKEFAKEFAKE2345",
    "github_token": "ghp_" + "FAKE1234fake5678FAKE9012fake3456FAKE",
    "gitlab_token": "glpat-FAKEfake1234FAKEfake",
    "slack_token": "xoxb-123456789012-FAKEfakeFAKEfake",
    "stripe_key": "sk_live_" + "FAKE1234fake5678FAKE9012",
    "google_api_key": "AIza" + "SyFAKEfake1234567890abcdefghijklmno",
    "gateway_key": "sgw-" + "FAKE_fake-1234567890abcdefghijklmnopqrstuvwxyzAB",
}


@pytest.mark.parametrize(("kind", "value"), sorted(FAKE.items()))
def test_provider_key_formats_are_found(kind: str, value: str) -> None:
    text = f"my key is {value} please help"
    found = SecretsDetector().scan(text)
    assert [(f.type, text[f.start : f.end]) for f in found] == [(kind, value)]


def test_pem_private_key_block_is_found() -> None:
    text = "-----BEGIN RSA PRIVATE KEY-----\nMIIFAKE\n-----END RSA PRIVATE KEY-----"
    assert [f.type for f in SecretsDetector().scan(text)] == ["private_key"]


def test_jwt_requires_header_with_alg() -> None:
    head = base64.urlsafe_b64encode(json.dumps({"alg": "HS256"}).encode()).decode().rstrip("=")
    body = base64.urlsafe_b64encode(b'{"sub":"fake"}').decode().rstrip("=")
    good = f"{head}.{body}.c2lnbmF0dXJlZmFrZQ"
    assert [f.type for f in SecretsDetector().scan(f"Bearer {good}")] == ["jwt"]
    bad_head = base64.urlsafe_b64encode(b'{"typ":"x"}').decode().rstrip("=")
    assert SecretsDetector().scan(f"{bad_head}.{body}.c2lnbmF0dXJlZmFrZQ") == []


def test_aws_secret_needs_context() -> None:
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYFAKEFAKEKE"
    found = SecretsDetector().scan(f"aws_secret_access_key = {secret}")
    assert [f.type for f in found] == ["aws_secret_access_key"]


def test_url_with_credentials_but_not_placeholder_password() -> None:
    assert [f.type for f in SecretsDetector().scan("postgres://app:S3cr3tFake@db:5432/x")] == [
        "url_credentials"
    ]
    assert SecretsDetector().scan("postgres://user:password@localhost/db") == []


def test_entropy_fallback_fires_on_random_token_with_context() -> None:
    found = SecretsDetector().scan('api_key = "Zx8Kq2LmN4pR7tV9wY1bC3dF5gH6jJ0k"')
    assert [f.type for f in found] == ["high_entropy"]


@pytest.mark.parametrize(
    "text",
    [
        "Fixed in commit 3f2c1a9b8e7d6c5b4a39281706f5e4d3c2b1a098 yesterday.",
        "request 123e4567-e89b-12d3-a456-426614174000 failed",
        "see /usr/local/lib/python3.11/site-packages/django/core/handlers",
        "docs at https://github.com/example-org/example-repo/blob/main/README.md",
        "AbstractSingletonProxyFactoryBean and test_user_authentication_flow_v2",
        "The quick brown fox jumps over the lazy dog, again and again, all afternoon.",
    ],
)
def test_entropy_fallback_ignores_ordinary_strings(text: str) -> None:
    assert SecretsDetector().scan(text) == []


def test_shannon_entropy_of_uniform_string() -> None:
    assert shannon_entropy("abcd") == pytest.approx(2.0)
    assert shannon_entropy("") == 0.0


def test_bad_params_raise() -> None:
    with pytest.raises(ValueError, match="min_entropy"):
        SecretsDetector(min_entropy=9)
