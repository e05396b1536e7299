"""The server notices promptly when a client walks away from a stream, and stops."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest

from chat_tui.mock_server import MockServer
from tests.conftest import MockServerFactory
from tests.mock_server.wire import chat_body, encode_request

PROMPT_DETECTION_SECONDS = 0.5


async def open_stream(server: MockServer, model: str) -> tuple[asyncio.StreamWriter, bytes]:
    """Start a stream on a raw socket and read its first bytes; returns the open writer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(encode_request(chat_body(model)))
    await writer.drain()
    first = await asyncio.wait_for(reader.read(4096), 5)
    return writer, first


@pytest.mark.parametrize(
    "model",
    [
        "mock-gpt+tokens-2000+rate-50",
        "mock-gpt+stall",
        "mock-gpt+stall-5",
        "mock-gpt+keepalive+rate-20",
    ],
)
async def test_a_closed_stream_is_counted_promptly(
    mock_server_factory: MockServerFactory, model: str
) -> None:
    async with mock_server_factory() as server:
        writer, first = await open_stream(server, model)
        assert first.startswith(b"HTTP/1.1 200 OK")
        writer.close()
        closed = time.monotonic()
        assert await server.wait_for_disconnect(PROMPT_DETECTION_SECONDS)
        assert time.monotonic() - closed < PROMPT_DETECTION_SECONDS
        assert server.disconnects == 1


async def test_a_burst_stops_when_the_client_leaves(
    mock_server_factory: MockServerFactory,
) -> None:
    """Even with no rate limit, a write to the closed socket ends the request."""
    async with mock_server_factory() as server:
        writer, _ = await open_stream(server, "mock-gpt+tokens-50000")
        writer.close()
        assert await server.wait_for_disconnect(PROMPT_DETECTION_SECONDS)


async def test_httpx_cancel_mid_stream_is_seen(mock_server_factory: MockServerFactory) -> None:
    async with mock_server_factory() as server, httpx.AsyncClient() as client:
        url = f"{server.base_url}/chat/completions"
        body = chat_body("mock-gpt+tokens-5000+rate-200")
        async with client.stream("POST", url, json=body) as response:
            async for line in response.aiter_lines():
                if line.startswith("data: ") and json.loads(line[6:])["choices"][0]["delta"].get(
                    "content"
                ):
                    break
        assert await server.wait_for_disconnect(PROMPT_DETECTION_SECONDS)


async def test_finished_streams_are_not_disconnects(
    mock_server_factory: MockServerFactory,
) -> None:
    async with mock_server_factory(reply_text="all of it") as server:
        async with httpx.AsyncClient() as client:
            for model in (
                "mock-gpt",
                "mock-gpt+no-done",
                "mock-gpt+error-event",
                "mock-gpt+drop-1",
            ):
                try:
                    await client.post(f"{server.base_url}/chat/completions", json=chat_body(model))
                except httpx.RemoteProtocolError:
                    assert model.endswith("drop-1")
        assert not await server.wait_for_disconnect(0.2)
        assert server.disconnects == 0


async def test_the_server_stops_writing_after_a_disconnect(
    mock_server_factory: MockServerFactory,
) -> None:
    async with mock_server_factory() as server:
        writer, _ = await open_stream(server, "mock-gpt+tokens-100000+rate-1000")
        writer.close()
        assert await server.wait_for_disconnect(PROMPT_DETECTION_SECONDS)
        # Its connection task is over: nothing is left running for that request.
        await asyncio.sleep(0.05)
        assert server.open_connections == 0


async def test_a_reset_connection_is_a_disconnect_not_a_logged_traceback(
    mock_server_factory: MockServerFactory,
) -> None:
    """A client killed mid-stream resets the connection: the server counts it as gone and
    asyncio logs no "Unhandled exception in client_connected_cb"."""
    import socket
    import struct

    loop = asyncio.get_running_loop()
    logged: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _loop, context: logged.append(context))
    async with mock_server_factory() as server:
        writer, _ = await open_stream(server, "mock-gpt+tokens-2000+rate-50")
        raw = writer.get_extra_info("socket")
        # Linger 0: close sends RST, as the kernel does for a killed process with unread data.
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()
        assert await server.wait_for_disconnect(PROMPT_DETECTION_SECONDS)
        await asyncio.sleep(0.1)
    assert logged == []
