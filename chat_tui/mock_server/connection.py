"""One HTTP/1.1 connection of the mock server: reading requests, writing responses.

A deliberately small parser: request line, headers, a ``Content-Length`` or chunked body,
keep-alive. Owning the bytes is what lets the faults cut a chunked body mid-stream, write
one byte at a time or stall after the headers.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from http import HTTPStatus

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 32 * 1024 * 1024
READ_SIZE = 64 * 1024


class ClientGone(Exception):
    """The client closed the connection while the server was still answering."""


class BadRequest(Exception):
    """The bytes on the wire are not an HTTP/1.1 request this server can read."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Request:
    """One parsed HTTP request; header names are lower-cased."""

    method: str
    target: str
    version: str
    headers: dict[str, str]
    body: bytes

    @property
    def path(self) -> str:
        """The target without its query string."""
        return self.target.split("?", 1)[0]

    @property
    def keep_alive(self) -> bool:
        """Whether the client wants the connection kept open after this response."""
        connection = self.headers.get("connection", "").lower()
        if self.version == "HTTP/1.0":
            return connection == "keep-alive"
        return connection != "close"


class Connection:
    """One client connection: read-ahead bytes, response writing, and a watch for the close.

    While a stream is being written, a pending one-byte read (the *watch*) completes with
    ``b""`` as soon as the client closes, so a client that goes away is noticed promptly
    even while the server sleeps between tokens or stalls on purpose.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self._buffer = bytearray()
        self._watch: asyncio.Task[bytes] | None = None

    # Reading requests

    async def read_request(self) -> Request | None:
        """The next request, or None when the client closed the connection between requests.

        Raises ``BadRequest`` for malformed input and ``asyncio.IncompleteReadError`` when the
        client goes away in the middle of a request.
        """
        head = await self._read_until(b"\r\n\r\n", MAX_HEADER_BYTES)
        if head is None:
            return None
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise BadRequest(400, f"Malformed request line: {lines[0][:80]!r}.")
        method, target, version = parts
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if not colon or not name.strip():
                raise BadRequest(400, f"Malformed header line: {line[:80]!r}.")
            headers[name.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = await self._read_chunked_body()
        else:
            body = await self._read_sized_body(headers.get("content-length", "0"))
        return Request(method, target, version, headers, body)

    async def _read_sized_body(self, length_header: str) -> bytes:
        try:
            length = int(length_header or "0")
        except ValueError:
            raise BadRequest(400, f"Invalid Content-Length: {length_header!r}.") from None
        if length < 0:
            raise BadRequest(400, f"Invalid Content-Length: {length_header!r}.")
        if length > MAX_BODY_BYTES:
            raise BadRequest(413, "Request body too large.")
        return await self._read_exactly(length)

    async def _read_chunked_body(self) -> bytes:
        body = bytearray()
        while True:
            size_line = await self._read_until(b"\r\n", 1024)
            if size_line is None:
                raise asyncio.IncompleteReadError(bytes(body), None)
            size_text = size_line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise BadRequest(400, f"Invalid chunk size: {size_text[:20]!r}.") from None
            if size == 0:
                break
            if len(body) + size > MAX_BODY_BYTES:
                raise BadRequest(413, "Request body too large.")
            body += await self._read_exactly(size)
            if await self._read_exactly(2) != b"\r\n":
                raise BadRequest(400, "Chunk not followed by CRLF.")
        # Trailer fields, if any, end with an empty line; they carry nothing we need.
        while await self._read_until(b"\r\n", MAX_HEADER_BYTES):
            pass
        return bytes(body)

    async def _fill(self) -> bool:
        """Read more bytes into the buffer; False at EOF."""
        data = await self.reader.read(READ_SIZE)
        self._buffer += data
        return bool(data)

    async def _read_until(self, marker: bytes, limit: int) -> bytes | None:
        """Bytes up to ``marker`` (consumed, not returned); None at EOF before any byte."""
        while (end := self._buffer.find(marker)) < 0:
            if len(self._buffer) > limit:
                raise BadRequest(431, "Request header fields too large.")
            if not await self._fill():
                if not self._buffer:
                    return None
                raise asyncio.IncompleteReadError(bytes(self._buffer), None)
        data = bytes(self._buffer[:end])
        del self._buffer[: end + len(marker)]
        return data

    async def _read_exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            if not await self._fill():
                raise asyncio.IncompleteReadError(bytes(self._buffer), size)
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    # Watching for the client going away

    def watch_for_close(self) -> asyncio.Task[bytes]:
        """Start (or return) the pending read that completes when the client closes."""
        if self._watch is None:
            self._watch = asyncio.ensure_future(self.reader.read(1))
        return self._watch

    @property
    def client_gone(self) -> bool:
        """True once the watch has seen EOF."""
        watch = self._watch
        if not (watch and watch.done()) or watch.cancelled():
            return False
        # A reset (the client was killed) is as gone as an end of file.
        return watch.exception() is not None or watch.result() == b""

    async def end_watch(self) -> None:
        """Stop watching; a byte the watch read belongs to the next request, so keep it."""
        watch, self._watch = self._watch, None
        if watch is None:
            return
        if watch.done():
            if not watch.cancelled() and watch.exception() is None:
                self._buffer += watch.result()
            return
        watch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watch

    # Writing

    async def write(self, data: bytes) -> None:
        """Write and drain; a client that has gone away raises ``ClientGone``."""
        if self.client_gone:
            raise ClientGone
        try:
            self.writer.write(data)
            await self.writer.drain()
        except ConnectionError as error:
            raise ClientGone from error

    async def send_response(
        self,
        status: int,
        content_type: str,
        payload: bytes,
        extra: dict[str, str] | None = None,
    ) -> None:
        """A complete response with a ``Content-Length`` body."""
        lines = [
            f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
            f"Content-Type: {content_type}",
            f"Content-Length: {len(payload)}",
        ]
        lines += [f"{name}: {value}" for name, value in (extra or {}).items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload)
        await self.writer.drain()

    def close(self) -> None:
        """Close after sending what is buffered (a FIN, not a reset)."""
        self.writer.close()
