"""API key material: generation, parsing and keyed hashing (cf. hc/accounts/models.py).

A key is `sgw-` + 43 urlsafe base64 characters (256 bits). The lookup id is the first 16
characters of the random part (never the fixed prefix), so the database finds a key by an
indexed column and then compares HMAC-SHA256(pepper, key) in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.conf import settings

API_KEY_PREFIX = "sgw-"
PERSONAL_TOKEN_PREFIX = "sgwp-"
_RANDOM_BYTES = 32
LOOKUP_LEN = 16
_RANDOM_LEN = 43  # len(urlsafe_b64encode(32 bytes)) without padding


@dataclass(frozen=True)
class NewKey:
    plaintext: str
    lookup_id: str
    key_hash: str


def hash_key(plaintext: str) -> str:
    """Keyed hash with the dedicated pepper, not SECRET_KEY."""
    pepper = settings.GATEWAY_KEY_PEPPER.encode()
    return hmac.new(pepper, plaintext.encode(), hashlib.sha256).hexdigest()


def generate(prefix: str = API_KEY_PREFIX) -> NewKey:
    """Return a fresh key with its lookup id and hash."""
    random_part = secrets.token_urlsafe(_RANDOM_BYTES)
    plaintext = prefix + random_part
    return NewKey(plaintext, random_part[:LOOKUP_LEN], hash_key(plaintext))


def lookup_id_of(plaintext: str, prefix: str = API_KEY_PREFIX) -> str | None:
    """Return the lookup id of a well-formed key, or None for anything else."""
    if not plaintext.startswith(prefix):
        return None
    random_part = plaintext[len(prefix) :]
    if len(random_part) != _RANDOM_LEN:
        return None
    return random_part[:LOOKUP_LEN]


def matches(plaintext: str, key_hash: str) -> bool:
    """Constant-time comparison of a presented key against a stored hash."""
    return hmac.compare_digest(hash_key(plaintext), key_hash)


def display_prefix(lookup_id: str, prefix: str = API_KEY_PREFIX) -> str:
    """What admins, logs and audit records may show of a key."""
    return f"{prefix}{lookup_id[:8]}"
