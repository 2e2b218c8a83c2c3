"""Regenerate the PII / secrets span corpora (deterministic; all values are FAKE).

Run: python -m policies.corpus.generate  (writes pii.jsonl and secrets.jsonl beside this file).
Card numbers, IBANs and keys are synthesised with a seeded RNG; look-alikes deliberately fail
checksums or ranges and are labelled with no entities.
"""

from __future__ import annotations

import base64
import json
import random
import string
from pathlib import Path
from typing import Any

from policies.detectors.checksums import IBAN_LENGTHS, luhn_ok

HERE = Path(__file__).parent
Item = dict[str, Any]


def _fill(template: str, values: list[tuple[str, str]]) -> Item:
    """Fill {} slots left to right, recording typed spans ('' type = look-alike, no entity)."""
    text, ents = "", []
    parts = template.split("{}")
    for i, part in enumerate(parts[:-1]):
        text += part
        kind, value = values[i]
        if kind:
            ents.append({"type": kind, "start": len(text), "end": len(text) + len(value)})
        text += value
    text += parts[-1]
    return {"text": text, "entities": ents}


def _luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    return next(body + d for d in string.digits if luhn_ok(body + d))


def _group(num: str, sep: str) -> str:
    return sep.join(num[i : i + 4] for i in range(0, len(num), 4)) if sep else num


def _iban(country: str, rng: random.Random) -> str:
    bban = "".join(rng.choice(string.digits) for _ in range(IBAN_LENGTHS[country] - 4))
    num = int("".join(str(int(c, 36)) for c in bban + country + "00"))
    return f"{country}{98 - num % 97:02d}{bban}"


def _rand(rng: random.Random, n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


_PII_TEMPLATES = [
    "Please contact {} for the invoice.",
    "Mein Kontakt: {} (bitte vertraulich).",
    "Écrivez-moi à {} avant vendredi.",
    "Mi correo es {} y mi horario es de 9 a 5.",
    "Forwarding the thread from {} about the renewal.",
    "cc: {}; bcc: none",
]


def _pii_positive(rng: random.Random) -> list[Item]:
    items: list[Item] = []
    emails = [
        "jane.doe@example.com",
        "m.mueller@firma-beispiel.de",
        "support+billing@acme.io",
        "j_smith42@mail.example.org",
        "claire.dupont@exemple.fr",
        "ops-team@corp.example.net",
    ]
    for i, e in enumerate(emails * 3):
        items.append(_fill(_PII_TEMPLATES[i % len(_PII_TEMPLATES)], [("email", e)]))
    phones = [
        "+1 202-555-0143",
        "(415) 555-0132",
        "+44 20 7946 0958",
        "+49 30 901820",
        "+33 1 42 68 53 00",
        "+1 (646) 555-0199",
        "212-555-0175",
        "+34 912 34 56 78",
    ]
    for p in phones * 2:
        tpl = rng.choice(
            [
                "Call me at {} after lunch.",
                "Phone: {}",
                "Ruf mich an unter {}.",
                "Mon numéro: {} merci",
                "Llámame al {} por favor.",
            ]
        )
        items.append(_fill(tpl, [("phone", p)]))
    for prefix, length in [
        ("4", 16),
        ("51", 16),
        ("2221", 16),
        ("34", 15),
        ("37", 15),
        ("6011", 16),
        ("3530", 16),
        ("4", 13),
    ] * 3:
        num = _luhn_complete(prefix, length, rng)
        sep = rng.choice(["", " ", "-"]) if length == 16 else ""
        items.append(
            _fill(
                rng.choice(
                    [
                        "My card is {} exp 09/27.",
                        "Karte: {} bitte belasten",
                        "charge {} for the order",
                        "numéro de carte {}",
                    ]
                ),
                [("credit_card", _group(num, sep))],
            )
        )
    for country in ["DE", "GB", "FR", "ES", "NL", "IT", "CH", "AT", "BE", "PL"] * 2:
        iban = _iban(country, rng)
        shown = _group(iban, " ") if rng.random() < 0.5 else iban
        items.append(
            _fill(
                rng.choice(
                    [
                        "IBAN: {}",
                        "Please wire to {} today.",
                        "Überweisung an {} (Miete)",
                        "Virement sur {} svp",
                    ]
                ),
                [("iban", shown)],
            )
        )
    for _ in range(15):
        ssn = f"{rng.randint(1, 665):03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"
        items.append(
            _fill(
                rng.choice(["SSN {} on file", "social security number: {}", "Employee SSN is {}."]),
                [("us_ssn", ssn)],
            )
        )
    for ip in [
        "203.0.113.45",
        "198.51.100.7",
        "10.20.30.40",
        "192.168.1.20",
        "172.16.5.4",
        "2001:db8::8a2e:370:7334",
        "fe80::1ff:fe23:4567:890a",
        "8.8.8.8",
    ] * 2:
        items.append(
            _fill(
                rng.choice(
                    [
                        "The server at {} is down.",
                        "ssh admin@ {} failed",
                        "Blocked IP {} in the firewall",
                        "host={} port=5432",
                    ]
                ),
                [("ip_address", ip)],
            )
        )
    items.append(
        _fill(
            "Mixed: {} or {}, card {}.",
            [
                ("email", "a.b@example.com"),
                ("phone", "+1 202-555-0188"),
                ("credit_card", _group(_luhn_complete("4", 16, rng), " ")),
            ],
        )
    )
    return items


def _pii_lookalikes(rng: random.Random) -> list[Item]:
    out: list[Item] = []
    for prefix, length in [("4", 16), ("51", 16), ("37", 15)] * 4:
        good = _luhn_complete(prefix, length, rng)
        bad = good[:-1] + str((int(good[-1]) + 1) % 10)
        out.append(_fill("Card {} declined?", [("", _group(bad, " "))]))
    for _ in range(6):
        num = _luhn_complete("9", 16, rng)  # Luhn-valid, unknown scheme
        out.append(_fill("Order reference {}", [("", num)]))
    for country in ["DE", "GB", "FR", "NL", "ES", "IT"]:
        iban = _iban(country, rng)
        wrong = iban[:2] + f"{(int(iban[2:4]) + 1) % 100:02d}" + iban[4:]
        out.append(_fill("IBAN {} (typo?)", [("", wrong)]))
        out.append(_fill("Account {} is short", [("", iban[:-2])]))
    for ssn in ["000-12-3456", "666-45-6789", "912-34-5678", "123-00-4567", "123-45-0000"]:
        out.append(_fill("SSN {} is invalid", [("", ssn)]))
    for s in [
        "version 1.2.3.4",
        "v2.10.0.1",
        "1.2.3",
        "256.1.1.1",
        "0.0.0.0",
        "127.0.0.1",
        "1.2.3.4.5",
        "999.999.999.999",
    ]:
        out.append(_fill("Upgrade to {} tomorrow", [("", s)]))
    for s in [
        "2024-01-15",
        "12:30:45",
        "ISBN 978-3-16-148410-0",
        "order #123456789",
        "user@localhost",
        "std::vector<int>",
        "555-0100",
    ]:
        out.append(_fill("Note: {}", [("", s)]))
    for item in out:
        item["lookalike"] = True
    return out


def _secret_values(rng: random.Random) -> list[tuple[str, str]]:
    b64u = string.ascii_letters + string.digits + "_-"
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').decode().rstrip("=")
    payload = base64.urlsafe_b64encode(b'{"sub":"fake-user","iat":1700000000}').decode()
    pem = (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEFAKEFAKEFAKE"
        + _rand(rng, 48)
        + "\n-----END RSA PRIVATE KEY-----"
    )
    return [
        ("openai_key", "sk-proj-" + _rand(rng, 48, b64u)),
        ("openai_key", "sk-" + _rand(rng, 48)),
        ("anthropic_key", "sk-ant-api03-" + _rand(rng, 80, b64u)),
        ("aws_access_key_id", "AKIA" + _rand(rng, 16, string.ascii_uppercase + "234567")),
        ("aws_access_key_id", "ASIA" + _rand(rng, 16, string.ascii_uppercase + "234567")),
        ("github_token", "ghp_" + _rand(rng, 36)),
        ("github_token", "gho_" + _rand(rng, 36)),
        ("github_token", "github_pat_" + _rand(rng, 22) + "_" + _rand(rng, 59)),
        ("gitlab_token", "glpat-" + _rand(rng, 20, b64u)),
        ("slack_token", "xoxb-" + _rand(rng, 12, string.digits) + "-" + _rand(rng, 24)),
        ("stripe_key", "sk_live_" + _rand(rng, 24)),
        ("stripe_key", "rk_live_" + _rand(rng, 24)),
        ("stripe_key", "sk_test_" + _rand(rng, 24)),
        ("google_api_key", "AIza" + _rand(rng, 35, b64u)),
        ("gateway_key", "sgw-" + _rand(rng, 43, b64u)),
        ("jwt", f"{header}.{payload.rstrip('=')}.{_rand(rng, 43, b64u)}"),
        ("private_key", pem),
        ("url_credentials", f"postgres://app:{_rand(rng, 14)}@db.internal.example:5432/app"),
    ]


def _secrets_items(rng: random.Random) -> list[Item]:
    templates = [
        "Here is my key {} can you debug this?",
        "export TOKEN={}",
        "config = {{'key': '{}'}}".replace("{{", "{").replace("}}", "}"),
        "Mein Schlüssel lautet {} bitte prüfen.",
        "La clé est {} mais ça ne marche pas.",
        "Error 401 with credential {}",
    ]
    items: list[Item] = []
    for round_ in range(3):
        for kind, value in _secret_values(rng):
            tpl = templates[(round_ + len(items)) % len(templates)]
            items.append(_fill(tpl, [(kind, value)]))
    for _ in range(6):
        akia = "AKIA" + _rand(rng, 16, string.ascii_uppercase + "234567")
        secret = _rand(rng, 40, string.ascii_letters + string.digits + "/+")
        items.append(
            _fill(
                "aws_access_key_id={}\naws_secret_access_key={}",
                [("aws_access_key_id", akia), ("aws_secret_access_key", secret)],
            )
        )
    for _ in range(6):
        items.append(_fill('api_key = "{}"', [("high_entropy", _rand(rng, 32))]))
    return items


def _secrets_lookalikes(rng: random.Random) -> list[Item]:
    out = [
        _fill("Fixed in commit {} on main.", [("", _rand(rng, 40, "0123456789abcdef"))]),
        _fill("Request id {}", [("", "123e4567-e89b-12d3-a456-426614174000")]),
        _fill("See {} for details", [("", "/usr/local/lib/python3.11/site-packages/django")]),
        _fill(
            "Docs: {}", [("", "https://github.com/example-org/example-repo/blob/main/README.md")]
        ),
        _fill("Use the placeholder {} in docs", [("", "sk-...")]),
        _fill("Token prefix {} is too short", [("", "ghp_abc123")]),
        _fill("Key id {} (truncated)", [("", "AKIA1234")]),
        _fill("Connect to {}", [("", "postgres://user:password@localhost/db")]),
        _fill("Class {} is long", [("", "AbstractSingletonProxyFactoryBean")]),
        _fill("Test name {}", [("", "test_user_authentication_flow_v2")]),
        _fill("sha256 {}", [("", _rand(rng, 64, "0123456789abcdef"))]),
        _fill("Not a JWT: {}", [("", "eyJub3RhIjoiand0In0.eyJzdWIiOiJ4In0.c2lnbmF0dXJl")]),
        _fill("Use scikit-learn: {}", [("", "sk-learn is not a package name")]),
        _fill("Our wiki page {}", [("", "https://wiki.example.com/Engineering/OnCall_Runbook")]),
        _fill("The file {} changed", [("", "src/components/UserProfileSettingsPanel.tsx")]),
    ]
    for item in out:
        item["lookalike"] = True
    return out


def _write(path: Path, items: list[Item]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for item in items:
            fh.write(json.dumps(item, ensure_ascii=False, sort_keys=True) + "\n")


def main() -> None:
    """Write pii.jsonl and secrets.jsonl."""
    rng = random.Random(20240601)
    _write(HERE / "pii.jsonl", _pii_positive(rng) + _pii_lookalikes(rng))
    _write(HERE / "secrets.jsonl", _secrets_items(rng) + _secrets_lookalikes(rng))


if __name__ == "__main__":
    main()
