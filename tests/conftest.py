"""Fixtures shared by every test folder: the loopback OpenAI-compatible mock server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from chat_tui.mock_server import MockServer

#: Builds a MockServer with custom options; use it as ``async with factory(...) as server``.
MockServerFactory = Callable[..., MockServer]


@pytest.fixture
async def mock_server() -> AsyncIterator[MockServer]:
    """A running mock server with default options."""
    async with MockServer() as server:
        yield server


@pytest.fixture
def mock_server_factory() -> MockServerFactory:
    """A maker of mock servers with custom options, each an async context manager."""

    def make(**options: Any) -> MockServer:
        return MockServer(**options)

    return make
