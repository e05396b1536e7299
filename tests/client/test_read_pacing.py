"""Paced reading (``ChatStream.read_interval``): once caught up with the server, the client
reads the socket at most once per interval, so events that arrive one by one are read in
groups; nothing is lost, reordered or held back at the end. And one TLS context serves
every client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from anyio._backends._asyncio import SocketStream

from chat_tui.client import ChatClient, ContentDelta, Finish, StreamEvent
from chat_tui.client.openai import tls_context
from chat_tui.mock_server import MockServer, tokenize

REPLY = " ".join(f"word{index}" for index in range(120))
PROMPT = [{"role": "user", "content": "go"}]
#: 120 tokens, one per event, 200 a second: 0.6 s of trickle.
TRICKLE = "mock-gpt+rate-200+per-event-1"


@pytest.fixture
def socket_reads(monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    """Counts the reads of any socket made through anyio (which httpx uses here)."""
    reads = 0
    receive = SocketStream.receive

    async def counted(self: SocketStream, max_bytes: int = 65536) -> bytes:
        nonlocal reads
        reads += 1
        return await receive(self, max_bytes)

    monkeypatch.setattr(SocketStream, "receive", counted)
    return lambda: reads


async def stream_all(server: MockServer, model: str, interval: float) -> list[StreamEvent]:
    async with (
        ChatClient(server.base_url) as client,
        client.stream_chat(PROMPT, model) as stream,
    ):
        stream.read_interval = interval
        return [event async for event in stream]


def text_of(events: list[StreamEvent]) -> str:
    return "".join(event.text for event in events if isinstance(event, ContentDelta))


@pytest.fixture
async def server() -> AsyncIterator[MockServer]:
    async with MockServer(reply_text=REPLY) as running:
        yield running


async def test_a_trickle_is_read_in_groups_not_event_by_event(
    server: MockServer, socket_reads: Callable[[], int]
) -> None:
    tokens = len(tokenize(REPLY))
    assert tokens >= 100
    events = await stream_all(server, TRICKLE, interval=0.05)
    assert text_of(events) == REPLY
    assert [e.reason for e in events if isinstance(e, Finish)] == ["stop"]
    # 0.6 s of events read every 50 ms: about a dozen reads (and the headers), not 120.
    assert socket_reads() <= tokens // 4, socket_reads()


async def test_unpaced_reads_follow_the_events(
    server: MockServer, socket_reads: Callable[[], int]
) -> None:
    """The control: without pacing, the same trickle wakes the reader for most events
    (which is what the pacing saves)."""
    tokens = len(tokenize(REPLY))
    events = await stream_all(server, TRICKLE, interval=0.0)
    assert text_of(events) == REPLY
    assert socket_reads() >= tokens // 2, socket_reads()


async def test_a_burst_is_read_whole_whatever_the_interval(server: MockServer) -> None:
    """A backlog is read without pausing: with an interval of a minute, a burst still
    ends (the test would time out if each chunk waited)."""
    events = await stream_all(server, "mock-gpt", interval=60.0)
    assert text_of(events) == REPLY


async def test_the_last_events_are_not_held_back(server: MockServer) -> None:
    """The end of the reply and its finish reason come through though the reader was
    pausing when they arrived."""
    events = await stream_all(server, "mock-gpt+rate-50+per-event-5", interval=0.05)
    assert text_of(events) == REPLY
    assert [e.reason for e in events if isinstance(e, Finish)] == ["stop"]


def test_one_tls_context_serves_every_client() -> None:
    first = ChatClient("https://example.invalid/v1")
    second = ChatClient("http://127.0.0.1:1/v1")
    contexts: list[Any] = [
        client._http._transport._pool._ssl_context  # type: ignore[attr-defined]
        for client in (first, second)
    ]
    assert contexts[0] is contexts[1] is tls_context(True)
