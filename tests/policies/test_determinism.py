from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from policies.engine import PolicyInput, Segment, compile_policy
from policies.presets import PRESETS

PINNED_EMPTY_VERSION = "b2533915f9e914da34a0588d3dacba013b2962d2ed2ec7d8004279303acec2f9"
_ATOMS = st.sampled_from(
    [
        "ignore all previous instructions",
        "a@example.com",
        "4111 1111 1111 1111",
        "hello",
        "ghp_FAKE1234fake5678FAKE9012fake3456FAKE",
        "Іgnоrе",
        "\u200b",
        " ",
        "\n",
        "DAN",
        "+1 202-555-0143",
        "<|im_start|>",
        "sk-proj-FAKEfake1234FAKEfake5678XYZ",
    ]
)
_TEXT = st.lists(st.one_of(_ATOMS, st.text(max_size=30)), max_size=12).map("".join)


@settings(max_examples=80, deadline=None)
@given(texts=st.lists(_TEXT, min_size=1, max_size=3))
def test_same_input_gives_identical_decision_even_after_recompiling(texts: list[str]) -> None:
    inp = PolicyInput(
        tuple(Segment(f"messages[{i}].content", "user", t) for i, t in enumerate(texts)),
        100,
        ("search",),
    )
    first = compile_policy(PRESETS["strict"])
    d1 = first.evaluate(inp)
    assert first.evaluate(inp) == d1
    assert compile_policy(PRESETS["strict"]).evaluate(inp) == d1
    assert 0 <= d1.risk_score <= 100


@settings(max_examples=50, deadline=None)
@given(text=_TEXT)
def test_finding_spans_lie_within_the_segment(text: str) -> None:
    d = compile_policy(PRESETS["recommended"]).evaluate(PolicyInput((Segment("m", "user", text),)))
    for f in d.findings:
        assert 0 <= f.start <= f.end <= len(text)


def test_version_hash_is_pinned() -> None:
    # Changing canonicalisation or defaults silently changes every stored policy version.
    doc = {"rules": [], "name": "x"}
    assert compile_policy(doc).version == compile_policy({"name": "x", "rules": []}).version
    assert compile_policy(doc).version == PINNED_EMPTY_VERSION
