"""HTTP proxies from the usual environment variables are used (httpx's trust_env)."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from chat_tui.client import ChatClient, ContentDelta
from chat_tui.mock_server import MockServer


class ForwardProxy:
    """A minimal plain-HTTP forward proxy on loopback that counts what passes through it."""

    def __init__(self) -> None:
        self.requests: list[bytes] = []
        self.port = 0

    async def __aenter__(self) -> ForwardProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        method, target, version = head.split(b"\r\n", 1)[0].split(b" ")
        self.requests.append(target)
        hostport, _, path = target.removeprefix(b"http://").partition(b"/")
        host, _, port = hostport.partition(b":")
        upstream_reader, upstream_writer = await asyncio.open_connection(host.decode(), int(port))
        rest = head.split(b"\r\n", 1)[1]
        upstream_writer.write(b" ".join([method, b"/" + path, version]) + b"\r\n" + rest)

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))


async def test_requests_go_through_the_proxy_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with MockServer(reply_text="through the proxy") as server, ForwardProxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        async with (
            ChatClient(server.base_url) as client,
            client.stream_chat([{"role": "user", "content": "hi"}], "mock-gpt") as stream,
        ):
            text = "".join([e.text async for e in stream if isinstance(e, ContentDelta)])
    assert text == "through the proxy"
    assert proxy.requests == [f"{server.base_url}/chat/completions".encode()]
