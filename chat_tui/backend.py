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


class Lease:
    """The connection and target one reply uses, from its first try to its last retry.

    A model switch while the reply streams does not touch it: the backend keeps a leased
    connection open until the lease is released, and later replies go to the new target.
    """

    def __init__(self, client: ChatClient, target: Target) -> None:
        self.client = client
        self.target = target

    def stream(self, messages: Sequence[Mapping[str, Any]], **parameters: Any) -> ChatStream:
        """A stream of the reply to ``messages`` from the leased target."""
        return self.client.stream_chat(messages, self.target.model, **parameters)


class Backend:
    """Owns the HTTP client (and the demo server when the target is the offline demo)."""

    def __init__(self, target: Target, *, demo_rate: float = DEMO_TOKENS_PER_SECOND) -> None:
        self.target = target
        self._demo_rate = demo_rate
        self._client: ChatClient | None = None
        self._demo_server: Any = None
        self._starting = asyncio.Lock()
        #: Open leases per client.
        self._leases: dict[ChatClient, int] = {}
        #: Clients (and their demo servers) replaced by a switch while a lease held them:
        #: closed when their last lease is released.
        self._retired: dict[ChatClient, Any] = {}

    @property
    def is_demo(self) -> bool:
        return self.target.provider.demo

    async def start(self) -> None:
        """Open the client for the current target (starting the demo server if needed).

        With no model named, the endpoint's first listed model becomes the target's; a
        ``ConfigError`` says how to name one when there is none (and ``start`` asks again
        next time)."""
        async with self._starting:
            if self._client is None:
                await self._open(self.target)
            if not self.target.model and self._client is not None:
                from chat_tui.discovery import with_listed_model

                self.target = await with_listed_model(self.target, self._client)

    @property
    def started(self) -> bool:
        return self._client is not None

    async def switch(self, target: Target) -> None:
        """Point later replies at another provider or model. A reply streaming on a lease
        keeps its connection until it ends."""
        if target.provider == self.target.provider and target.api_key == self.target.api_key:
            self.target = target
            return
        client, server = self._client, self._demo_server
        self._client = self._demo_server = None
        if client is not None and self._leases.get(client):
            self._retired[client] = server
        else:
            await _close(client, server)
        self.target = target
        await self._open(target)

    def lease(self) -> Lease:
        """The current connection and target for one reply; release it when the reply ends."""
        if self._client is None:
            raise RuntimeError("Backend.start() must be awaited first")
        self._leases[self._client] = self._leases.get(self._client, 0) + 1
        return Lease(self._client, self.target)

    async def release(self, lease: Lease) -> None:
        """The reply on ``lease`` ended: close its connection if a switch retired it."""
        client = lease.client
        left = self._leases.get(client, 0) - 1
        if left > 0:
            self._leases[client] = left
            return
        self._leases.pop(client, None)
        if client in self._retired:
            await _close(client, self._retired.pop(client))

    async def close(self) -> None:
        """Close every connection, those still leased included (the app is going away)."""
        retired, self._retired = self._retired, {}
        for client, server in retired.items():
            await _close(client, server)
        self._leases.clear()
        await _close(self._client, self._demo_server)
        self._client = self._demo_server = None

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


async def _close(client: ChatClient | None, demo_server: Any) -> None:
    if client is not None:
        await client.aclose()
    if demo_server is not None:
        await demo_server.__aexit__(None, None, None)
