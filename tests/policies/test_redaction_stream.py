from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from policies.redaction import StreamRestorer

MAPPING = {"[EMAIL_1]": "jane@example.com", "[PHONE_1]": "+1 415 555 0134"}
TEXT = "mail [EMAIL_1] or call [PHONE_1]; [not a placeholder] stays"


@given(st.lists(st.integers(min_value=1, max_value=len(TEXT)), max_size=12))
def test_any_chunking_restores_the_same_text(cuts):
    points = sorted(set(cuts))
    pieces = [TEXT[a:b] for a, b in zip([0, *points], [*points, len(TEXT)], strict=False)]
    restorer = StreamRestorer(MAPPING)
    out = "".join(restorer.feed(p) for p in pieces) + restorer.flush()
    assert out == "mail jane@example.com or call +1 415 555 0134; [not a placeholder] stays"
