"""The streaming client: plain asyncio and httpx, no UI."""

from chat_tui.client.events import (
    ContentDelta,
    Finish,
    ReasoningDelta,
    StreamEvent,
    ToolCallDelta,
    Usage,
)
from chat_tui.client.metrics import ReplyMetrics
from chat_tui.client.openai import ChatClient, ChatStream, join_url

__all__ = [
    "ChatClient",
    "ChatStream",
    "ContentDelta",
    "Finish",
    "ReasoningDelta",
    "ReplyMetrics",
    "StreamEvent",
    "ToolCallDelta",
    "Usage",
    "join_url",
]
