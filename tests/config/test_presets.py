"""probe_local() against real servers on loopback, and the import boundary."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from types import MappingProxyType

import pytest

from chat_tui.config import PRESETS, ProviderConfig, probe_local


async def _answer(
    status: str, body: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    await reader.readuntil(b"\r\n\r\n")
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
    writer.write(f"{head}Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
    await writer.drain()
    writer.close()


@pytest.fixture
async def models_server() -> AsyncIterator[str]:
    """A loopback server answering ``GET /v1/models`` like Ollama; yields its base URL."""
    body = b'{"object": "list", "data": [{"id": "llama3.2", "object": "model"}]}'
    server = await asyncio.start_server(lambda r, w: _answer("200 OK", body, r, w), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}/v1"


@pytest.fixture
async def not_found_server() -> AsyncIterator[str]:
    """Something else on a port: answers every request with 404."""
    server = await asyncio.start_server(
        lambda r, w: _answer("404 Not Found", b"{}", r, w), "127.0.0.1", 0
    )
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}/v1/"


def closed_port() -> int:
    """A loopback port with nothing listening (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_probe_finds_the_server_that_answers(
    models_server: str, not_found_server: str
) -> None:
    providers = dict(PRESETS)
    providers["ollama"] = replace(PRESETS["ollama"], base_url=models_server)
    providers["lmstudio"] = replace(PRESETS["lmstudio"], base_url=not_found_server)
    for name in ("llamacpp", "vllm"):
        providers[name] = replace(PRESETS[name], base_url=f"http://127.0.0.1:{closed_port()}/v1")
    assert await probe_local(MappingProxyType(providers)) == {"ollama"}


async def test_probe_is_parallel_and_bounded(models_server: str) -> None:
    # Twenty silent servers must not take twenty timeouts.
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    providers = {
        f"slow{n}": ProviderConfig(f"slow{n}", f"http://127.0.0.1:{port}/v1", local=True)
        for n in range(20)
    }
    providers["ollama"] = replace(PRESETS["ollama"], base_url=models_server)
    async with server:
        loop = asyncio.get_running_loop()
        started = loop.time()
        found = await probe_local(providers, timeout=0.2)
        elapsed = loop.time() - started
    assert found == {"ollama"}
    assert elapsed < 2.0


async def test_probe_skips_remote_and_non_local_providers() -> None:
    providers = {
        # Not loopback: never probed, even when marked local.
        "lan": ProviderConfig("lan", "http://192.0.2.1:11434/v1", local=True),
        "openai": PRESETS["openai"],
        "demo": PRESETS["demo"],
    }
    assert await probe_local(providers, timeout=0.1) == set()


def test_config_does_not_import_textual() -> None:
    code = (
        "import sys, chat_tui.config, chat_tui.config.load, chat_tui.config.resolve; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
