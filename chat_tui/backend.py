"""The app's connection to the current provider: one client, swapped when the model changes.

Plain asyncio: the TUI asks it for streams and never sees HTTP.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from chat_tui.config import Target

if TYPE_CHECKING:
    from chat_tui.client import ChatClient, ChatStream

#: The offline demo streams at a pleasant reading speed rather than all at once.
DEMO_TOKENS_PER_SECOND = 120.0


class Backend:
    """Owns the HTTP client (and the demo server when the target is the offline demo)."""

    def __init__(self, target: Target, *, demo_rate: float = DEMO_TOKENS_PER_SECOND) -> None:
        self.target = target
        self._demo_rate = demo_rate
        self._client: ChatClient | None = None
        self._demo_server: Any = None
        self._starting = asyncio.Lock()

    @property
    def is_demo(self) -> bool:
        return self.target.provider.demo

    async def start(self) -> None:
        """Open the client for the current target (starting the demo server if needed)."""
        async with self._starting:
            if self._client is None:
                await self._open(self.target)

    @property
    def started(self) -> bool:
        return self._client is not None

    async def switch(self, target: Target) -> None:
        """Point later replies at another provider or model."""
        if target.provider == self.target.provider and target.api_key == self.target.api_key:
            self.target = target
            return
        await self.close()
        self.target = target
        await self._open(target)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        if self._demo_server is not None:
            await self._demo_server.__aexit__(None, None, None)
            self._demo_server = None

    def stream(self, messages: Sequence[Mapping[str, Any]], **parameters: Any) -> ChatStream:
        """A stream of the next reply to ``messages`` from the current model."""
        if self._client is None:
            raise RuntimeError("Backend.start() must be awaited first")
        return self._client.stream_chat(messages, self.target.model, **parameters)

    async def list_models(self) -> list[str]:
        if self._client is None:
            raise RuntimeError("Backend.start() must be awaited first")
        return await self._client.list_models()

    async def _open(self, target: Target) -> None:
        from chat_tui.client import ChatClient

        provider = target.provider
        if provider.demo:
            from chat_tui.mock_server import MockServer

            server = MockServer(tokens_per_second=self._demo_rate)
            await server.__aenter__()
            self._demo_server = server
            self._client = ChatClient(server.base_url)
            return
        self._client = ChatClient(
            provider.base_url,
            target.api_key,
            headers=dict(provider.headers),
            send_stream_options=provider.send_stream_options,
            connect_timeout=provider.connect_timeout,
            read_timeout=provider.read_timeout,
            verify=str(provider.ca_bundle) if provider.ca_bundle else True,
        )
