"""An incremental Server-Sent Events decoder that follows the WHATWG EventSource spec.

Why not httpx-sse: it is close, but it decodes through httpx's text layer, which keeps a
leading UTF-8 byte-order mark, so the first event of a BOM-prefixed stream is silently lost
(its field name becomes ``"\\ufeffdata"``); and its stack of generators per line is measurably
slower on streams of tens of thousands of tiny events. This decoder works on raw bytes: line
breaks are ASCII and never occur inside a multi-byte UTF-8 sequence, so each complete line
can be decoded on its own and a character split across network reads simply waits in the
buffer with the rest of its line.
"""

from __future__ import annotations

from dataclasses import dataclass

_BOM = b"\xef\xbb\xbf"


@dataclass(slots=True)
class ServerSentEvent:
    """One dispatched event."""

    data: str
    event: str = "message"
    id: str = ""
    retry: int | None = None


class SSEDecoder:
    """Feed it bytes as they arrive; it returns the events each feed completes."""

    def __init__(self) -> None:
        self._buffer = b""
        self._started = False
        self._skip_lf = False
        self._data: list[str] = []
        self._event_type = ""
        self._last_event_id = ""
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Decode one network read; returns the events it completed (often none)."""
        if self._skip_lf:
            # The previous read ended in CR: a LF starting this one is the CRLF's second half.
            self._skip_lf = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        if not chunk:
            return []
        data = self._buffer + chunk if self._buffer else chunk
        if not self._started:
            # The BOM may itself be split across reads: wait until it can be told apart.
            if len(data) < len(_BOM) and _BOM.startswith(data):
                self._buffer = data
                return []
            self._started = True
            if data.startswith(_BOM):
                data = data[len(_BOM) :]
        if b"\r" in data:
            self._skip_lf = data.endswith(b"\r")
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = data.split(b"\n")
        self._buffer = lines.pop()
        events: list[ServerSentEvent] = []
        for line in lines:
            event = self._process_line(line)
            if event is not None:
                events.append(event)
        return events

    def close(self) -> list[ServerSentEvent]:
        """End of stream: flush what a lenient reader should still deliver.

        The spec drops an event that is not followed by a blank line. Real servers
        sometimes close straight after the last ``data:`` line, so a complete final
        line is still dispatched; an unterminated partial line is dispatched too,
        since a truncated JSON payload is rejected later by the JSON parser anyway.
        """
        events: list[ServerSentEvent] = []
        if self._buffer:
            event = self._process_line(self._buffer)
            self._buffer = b""
            if event is not None:
                events.append(event)
        event = self._process_line(b"")
        if event is not None:
            events.append(event)
        return events

    def _process_line(self, raw: bytes) -> ServerSentEvent | None:
        if not raw:
            return self._dispatch()
        if raw[0] == 0x3A:  # ":" starts a comment, e.g. ": OPENROUTER PROCESSING"
            return None
        line = raw.decode("utf-8", errors="replace")
        field, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event_type = value
        elif field == "id":
            if "\0" not in value:
                self._last_event_id = value
        elif field == "retry" and value.isascii() and value.isdigit():
            self._retry = int(value)
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        if not self._data:
            self._event_type = ""
            return None
        event = ServerSentEvent(
            data="\n".join(self._data),
            event=self._event_type or "message",
            id=self._last_event_id,
            retry=self._retry,
        )
        self._data = []
        self._event_type = ""
        return event
