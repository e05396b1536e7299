"""A raw-socket HTTP/1.1 client for the mock server tests.

It keeps exactly what came over the wire (chunk sizes, line endings, a missing terminating
chunk) that httpx would hide, and it decodes independently of the server's own code.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

CHAT_PATH = "/v1/chat/completions"


def chat_body(model: str = "mock-gpt", content: str = "hi", **extra: Any) -> dict[str, Any]:
    """A streaming chat request body."""
    return {
        "model": model,
        "stream": True,
        "messages": [{"role": "user", "content": content}],
        **extra,
    }


def encode_request(
    body: dict[str, Any] | bytes | None = None,
    *,
    method: str = "POST",
    path: str = CHAT_PATH,
    headers: dict[str, str] | None = None,
    close: bool = False,
) -> bytes:
    payload = body if isinstance(body, bytes) else json.dumps(body).encode() if body else b""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if payload or method == "POST":
        lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


@dataclass
class RawResponse:
    """A response as it came over the wire."""

    status: int
    headers: dict[str, str]
    raw_body: bytes

    @property
    def chunked(self) -> bool:
        return self.headers.get("transfer-encoding") == "chunked"

    @property
    def chunk_sizes(self) -> list[int]:
        return [len(chunk) for chunk in dechunk(self.raw_body)[0]]

    @property
    def complete(self) -> bool:
        """Whether a chunked body ended with its zero-size chunk."""
        return dechunk(self.raw_body)[1]

    @property
    def body(self) -> bytes:
        if not self.chunked:
            return self.raw_body
        return b"".join(dechunk(self.raw_body)[0])

    def json(self) -> Any:
        return json.loads(self.body)


def dechunk(raw: bytes) -> tuple[list[bytes], bool]:
    """The chunks of a chunked body, and whether it ended with the zero-size chunk."""
    chunks: list[bytes] = []
    position = 0
    while True:
        line_end = raw.find(b"\r\n", position)
        if line_end < 0:
            return chunks, False
        size = int(raw[position:line_end], 16)
        if size == 0:
            return chunks, raw[line_end:] == b"\r\n\r\n"
        start = line_end + 2
        if len(raw) < start + size + 2:
            chunks.append(raw[start:])
            return chunks, False
        chunks.append(raw[start : start + size])
        position = start + size + 2


def parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers


async def request(
    port: int, body: dict[str, Any] | bytes | None = None, timeout: float = 10, **options: Any
) -> RawResponse:
    """Send one request on a fresh connection and read until the server closes it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(encode_request(body, close=True, **options))
        await writer.drain()
        data = await asyncio.wait_for(reader.read(-1), timeout)
    finally:
        writer.close()
    head, _, rest = data.partition(b"\r\n\r\n")
    status, headers = parse_head(head)
    return RawResponse(status, headers, rest)


async def read_response(reader: asyncio.StreamReader) -> RawResponse:
    """Read exactly one response off a kept-alive connection."""
    head = await reader.readuntil(b"\r\n\r\n")
    status, headers = parse_head(head[:-4])
    if "content-length" in headers:
        return RawResponse(
            status, headers, await reader.readexactly(int(headers["content-length"]))
        )
    raw = b""
    while not raw.endswith(b"0\r\n\r\n") or not dechunk(raw)[1]:
        raw += await reader.readuntil(b"\r\n")
    return RawResponse(status, headers, raw)


def sse_events(body: bytes) -> list[dict[str, Any]]:
    """SSE events, whatever the line endings: {"event", "data", "comments"} each."""
    text = body.decode().replace("\r\n", "\n").replace("\r", "\n")
    events = []
    for block in text.split("\n\n"):
        if not block:
            continue
        event: dict[str, Any] = {"event": None, "data": None, "comments": []}
        for line in block.split("\n"):
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "":
                event["comments"].append(value)
            elif field == "data":
                event["data"] = value
            elif field == "event":
                event["event"] = value
        events.append(event)
    return events


def chunks_of(body: bytes) -> list[dict[str, Any]]:
    """The JSON payloads of the data events, without ``[DONE]``."""
    return [
        json.loads(event["data"])
        for event in sse_events(body)
        if event["data"] not in (None, "[DONE]")
    ]


def content_of(chunks: list[dict[str, Any]], field: str = "content") -> str:
    return "".join(
        choice["delta"].get(field) or "" for chunk in chunks for choice in chunk.get("choices", [])
    )
