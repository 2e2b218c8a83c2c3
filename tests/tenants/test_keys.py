from __future__ import annotations

import base64

from tenants import keys


def test_key_has_prefix_and_256_bits_of_randomness():
    material = keys.generate()
    assert material.plaintext.startswith("sgw-")
    random_part = material.plaintext[4:]
    assert len(base64.urlsafe_b64decode(random_part + "=")) == 32


def test_lookup_id_comes_from_the_random_part_not_the_prefix():
    material = keys.generate()
    assert material.lookup_id == material.plaintext[4:20]
    assert keys.lookup_id_of(material.plaintext) == material.lookup_id


def test_malformed_keys_have_no_lookup_id():
    assert keys.lookup_id_of("sk-abc") is None
    assert keys.lookup_id_of("sgw-short") is None
    assert keys.lookup_id_of(keys.generate().plaintext + "x") is None


def test_hash_depends_on_pepper_not_secret_key(settings):
    material = keys.generate()
    settings.SECRET_KEY = "rotated-secret-key-" + "x" * 40
    assert keys.matches(material.plaintext, material.key_hash)
    settings.GATEWAY_KEY_PEPPER = "another-pepper"
    assert not keys.matches(material.plaintext, material.key_hash)


def test_hash_is_not_the_plaintext():
    material = keys.generate()
    assert material.plaintext not in material.key_hash
    assert len(material.key_hash) == 64
