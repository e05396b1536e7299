"""The streaming client: plain asyncio and httpx, no UI.

``ChatClient`` and friends are imported on first use: httpx takes a noticeable share of the
app's start-up, and the first frame does not need it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chat_tui.client.events import (
    ContentDelta,
    Finish,
    ReasoningDelta,
    SkippedEvent,
    StreamEvent,
    ToolCallDelta,
    Usage,
)
from chat_tui.client.metrics import ReplyMetrics

if TYPE_CHECKING:
    from chat_tui.client.openai import ChatClient, ChatStream, join_url

__all__ = [
    "ChatClient",
    "ChatStream",
    "ContentDelta",
    "Finish",
    "ReasoningDelta",
    "ReplyMetrics",
    "SkippedEvent",
    "StreamEvent",
    "ToolCallDelta",
    "Usage",
    "join_url",
]


def __getattr__(name: str) -> Any:
    if name in ("ChatClient", "ChatStream", "join_url"):
        from chat_tui.client import openai

        return getattr(openai, name)
    raise AttributeError(f"module 'chat_tui.client' has no attribute {name!r}")
