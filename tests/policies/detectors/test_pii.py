from __future__ import annotations

import pytest

from policies.detectors.pii import PiiDetector


def _types(text: str, **params: object) -> list[tuple[str, str]]:
    return [(f.type, text[f.start : f.end]) for f in PiiDetector(**params).scan(text)]


def test_email_is_found() -> None:
    assert _types("write to jane.doe@example.com now") == [("email", "jane.doe@example.com")]


def test_valid_phone_numbers_are_found() -> None:
    assert ("phone", "+49 30 901820") in _types("Ruf an: +49 30 901820")
    assert ("phone", "(415) 555-0132") in _types("call (415) 555-0132 today")


def test_luhn_valid_card_with_separators_is_found() -> None:
    assert _types("card 4111 1111 1111 1111 ok") == [("credit_card", "4111 1111 1111 1111")]
    assert _types("amex 378282246310005") == [("credit_card", "378282246310005")]


def test_card_failing_luhn_or_unknown_scheme_is_ignored() -> None:
    assert _types("card 4111 1111 1111 1112") == []
    assert _types("ref 9111111111111111") == []


def test_iban_with_valid_checksum_is_found_and_typo_is_not() -> None:
    assert _types("IBAN DE89 3704 0044 0532 0130 00.") == [("iban", "DE89 3704 0044 0532 0130 00")]
    assert _types("IBAN DE88 3704 0044 0532 0130 00.") == []
    assert _types("IBAN GB82WEST12345698765432") == [("iban", "GB82WEST12345698765432")]


@pytest.mark.parametrize(
    "ssn", ["000-12-3456", "666-12-3456", "912-34-5678", "123-00-4567", "123-45-0000"]
)
def test_invalid_ssn_ranges_are_rejected(ssn: str) -> None:
    assert _types(f"ssn {ssn}") == []


def test_valid_ssn_is_found() -> None:
    assert _types("SSN 123-45-6789") == [("us_ssn", "123-45-6789")]


def test_ip_addresses_but_not_versions_or_loopback() -> None:
    assert _types("host 203.0.113.45 and 2001:db8::8a2e:370:7334") == [
        ("ip_address", "203.0.113.45"),
        ("ip_address", "2001:db8::8a2e:370:7334"),
    ]
    assert _types("version 1.2.3.4, v2.0.0.1, 1.2.3, 1.2.3.4.5, 127.0.0.1, 0.0.0.0, a::b") == []


def test_types_param_limits_detection() -> None:
    assert _types("a@example.com 4111 1111 1111 1111", types=["credit_card"]) == [
        ("credit_card", "4111 1111 1111 1111")
    ]


def test_bad_params_raise_value_error() -> None:
    with pytest.raises(ValueError, match="types"):
        PiiDetector(types=["passport"])
    with pytest.raises(ValueError, match="default_region"):
        PiiDetector(default_region="XX")
    with pytest.raises(ValueError, match="unknown param"):
        PiiDetector(colour="red")
