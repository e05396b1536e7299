"""The mock server on a thread of its own, for tests whose app runs in another event loop
(pytest-textual-snapshot's ``snap_compare`` runs the app itself)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from chat_tui.mock_server import MockServer


@contextmanager
def threaded_mock_server(**options: Any) -> Iterator[MockServer]:
    ready = threading.Event()
    holder: dict[str, Any] = {}

    async def serve() -> None:
        async with MockServer(**options) as server:
            holder["server"] = server
            holder["stop"] = asyncio.Event()
            ready.set()
            await holder["stop"].wait()

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("mock server did not start")
    try:
        yield holder["server"]
    finally:
        loop.call_soon_threadsafe(holder["stop"].set)
        thread.join(10)
        loop.close()
