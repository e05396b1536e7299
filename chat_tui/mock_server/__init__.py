"""The loopback OpenAI-compatible mock server used by tests, benchmarks and the demo."""

from __future__ import annotations

from chat_tui.mock_server.replies import make_code_reply, make_reply, tokenize
from chat_tui.mock_server.server import MockServer, RecordedRequest, serve_forever

__all__ = [
    "MockServer",
    "RecordedRequest",
    "make_code_reply",
    "make_reply",
    "serve_forever",
    "tokenize",
]
