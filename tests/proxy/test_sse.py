from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proxy.sse import SSEDecoder, SSEEvent, encode_event


def _decode_all(chunks: list[bytes]) -> list[SSEEvent]:
    decoder = SSEDecoder()
    events: list[SSEEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    return events


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(max(cut, 0), len(data)) for cut in cuts})
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def test_encode_event_frames_name_and_data_with_blank_line_terminator() -> None:
    assert encode_event('{"a":1}', event="message_start") == (
        b'event: message_start\ndata: {"a":1}\n\n'
    )


def test_encode_event_without_name_writes_only_data() -> None:
    assert encode_event(b"[DONE]") == b"data: [DONE]\n\n"


def test_encode_event_splits_multiline_data_into_several_data_lines() -> None:
    assert encode_event("a\nb\r\nc\rd") == b"data: a\ndata: b\ndata: c\ndata: d\n\n"


def test_encode_event_rejects_line_break_in_event_name() -> None:
    with pytest.raises(ValueError):
        encode_event("x", event="bad\nname")


def test_decoder_joins_multiple_data_lines_with_newline() -> None:
    events = _decode_all([b"event: e\ndata: one\ndata: two\n\n"])
    assert events == [SSEEvent(event="e", data="one\ntwo")]


def test_decoder_handles_crlf_cr_and_lf_line_endings() -> None:
    raw = b"data: a\r\n\r\ndata: b\r\rdata: c\n\n"
    assert [e.data for e in _decode_all([raw])] == ["a", "b", "c"]


def test_decoder_keeps_crlf_split_across_chunks_as_one_line_ending() -> None:
    # "\r" ends one chunk and "\n" starts the next: that is one line break, not two,
    # so the event must not be dispatched before its second data line.
    events = _decode_all([b"data: a\r", b"\ndata: b\r\n\r\n"])
    assert events == [SSEEvent(event=None, data="a\nb")]


def test_decoder_ignores_comment_lines_and_blocks_without_data() -> None:
    raw = b": keep-alive\n\nevent: lonely\n\n:comment\ndata: x\n\n"
    assert _decode_all([raw]) == [SSEEvent(event=None, data="x")]


def test_decoder_strips_only_one_leading_space_and_accepts_no_space() -> None:
    raw = b"data:no-space\n\ndata:  two-spaces\n\ndata\n\n"
    assert [e.data for e in _decode_all([raw])] == ["no-space", " two-spaces", ""]


def test_decoder_ignores_id_and_retry_fields() -> None:
    assert _decode_all([b"id: 7\nretry: 10\ndata: x\n\n"]) == [SSEEvent(event=None, data="x")]


def test_decoder_waits_for_blank_line_before_dispatching() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: partial") == []
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"\n") == [SSEEvent(event=None, data="partial")]


def test_decoder_reassembles_utf8_character_split_across_chunks() -> None:
    raw = "data: héllo ✓\n\n".encode()
    cut = raw.index("✓".encode()) + 1
    assert _decode_all([raw[:cut], raw[cut:]]) == [SSEEvent(event=None, data="héllo ✓")]


def test_decoder_drops_leading_byte_order_mark() -> None:
    assert _decode_all([b"\xef\xbb\xbfdata: x\n\n"]) == [SSEEvent(event=None, data="x")]


_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=30)
_EVENTS = st.lists(
    st.tuples(st.none() | st.from_regex(r"[a-z_]{1,12}", fullmatch=True), _TEXT), max_size=6
)


@settings(max_examples=200, deadline=None)
@given(events=_EVENTS, cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12))
def test_encoded_events_decode_identically_under_any_chunking(
    events: list[tuple[str | None, str]], cuts: list[int]
) -> None:
    wire = b"".join(encode_event(data, event=name) for name, data in events)
    decoded = _decode_all(_split(wire, cuts))
    # Line breaks of any style inside data come back as "\n".
    expected = [
        SSEEvent(event=name, data=data.replace("\r\n", "\n").replace("\r", "\n"))
        for name, data in events
    ]
    assert decoded == expected


@settings(max_examples=100, deadline=None)
@given(
    separator=st.sampled_from([b"\n", b"\r\n", b"\r"]),
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=10),
)
def test_any_line_ending_style_decodes_the_same_under_any_chunking(
    separator: bytes, cuts: list[int]
) -> None:
    lines = [b"event: ping", b"data: {}", b"", b": c", b"data: a", b"data: b", b"", b""]
    wire = separator.join(lines)
    assert _decode_all(_split(wire, cuts)) == [
        SSEEvent(event="ping", data="{}"),
        SSEEvent(event=None, data="a\nb"),
    ]
