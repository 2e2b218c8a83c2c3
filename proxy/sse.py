"""Server-sent events (SSE) framing: an encoder and an incremental decoder.

Follows the WHATWG "event stream interpretation" rules that both the OpenAI and the
Anthropic SDKs implement. Pure: no I/O.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

__all__ = ["SSEDecoder", "SSEEvent", "encode_event"]

_LINE_END = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One dispatched event: its `event:` name (None when absent) and its joined data."""

    event: str | None
    data: str


def encode_event(data: bytes | str, event: str | None = None) -> bytes:
    """Frame one event: optional `event:` line, one `data:` line per data line, blank line."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    parts: list[str] = []
    if event is not None:
        if _LINE_END.search(event):
            raise ValueError("SSE event names cannot contain line breaks")
        parts.append(f"event: {event}\n")
    # A line break inside data would end the field early, so every line gets its own
    # `data:` field; the decoder joins them back with "\n".
    parts.extend(f"data: {line}\n" for line in _LINE_END.split(text))
    parts.append("\n")
    return "".join(parts).encode("utf-8")


class SSEDecoder:
    """Incremental SSE parser: feed raw bytes as they arrive, get complete events back."""

    def __init__(self) -> None:
        # "utf-8-sig" drops a leading BOM as the spec requires; invalid bytes are replaced
        # rather than raised, also per spec. The incremental decoder keeps a multi-byte
        # character that is split across two chunks.
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
        self._pending = ""
        # True when the last chunk ended in "\r": a "\n" opening the next chunk belongs
        # to the same CRLF line ending and must not produce an extra (blank) line.
        self._skip_lf = False
        self._event: str | None = None
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Consume a chunk (any byte boundary) and return the events it completed."""
        text = self._decoder.decode(chunk)
        if not text:
            return []
        if self._skip_lf and text.startswith("\n"):
            text = text[1:]
        self._skip_lf = False
        buffer = self._pending + text
        events: list[SSEEvent] = []
        pos = 0
        for match in _LINE_END.finditer(buffer):
            event = self._process_line(buffer[pos : match.start()])
            if event is not None:
                events.append(event)
            pos = match.end()
            self._skip_lf = match.group() == "\r" and pos == len(buffer)
        self._pending = buffer[pos:]
        return events

    def _process_line(self, line: str) -> SSEEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None  # comment, used as keep-alive by some servers
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        # `id` and `retry` only matter for browser reconnection; other fields are ignored.
        return None

    def _dispatch(self) -> SSEEvent | None:
        data, event = self._data, self._event
        self._data, self._event = [], None
        # Per spec a block without any `data:` field is not an event.
        if not data:
            return None
        return SSEEvent(event=event or None, data="\n".join(data))
