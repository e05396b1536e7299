"""Fuzzing chunk interpretation: any JSON a server sends gives events or our typed error."""

from __future__ import annotations

import contextlib
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from chat_tui.client.openai import ChatClient, ChatStream
from chat_tui.errors import ClientError

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "choices",
                    "delta",
                    "content",
                    "reasoning",
                    "reasoning_content",
                    "tool_calls",
                    "function",
                    "arguments",
                    "index",
                    "finish_reason",
                    "usage",
                    "error",
                    "message",
                    "prompt_tokens",
                    "completion_tokens",
                    "id",
                    "name",
                ]
            ),
            inner,
            max_size=5,
        )
    ),
    max_leaves=25,
)


def fresh_stream() -> ChatStream:
    client = ChatClient("http://127.0.0.1:9/v1")
    return ChatStream(client._http, "http://127.0.0.1:9/v1/chat/completions", {}, client)


STREAM = fresh_stream()


@settings(max_examples=500, deadline=None)
@given(JSON, st.sampled_from(["message", "error", "ping"]))
def test_any_chunk_gives_events_or_our_error(payload: object, event_type: str) -> None:
    with contextlib.suppress(ClientError):
        STREAM._interpret(json.dumps(payload), event_type)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_payload_gives_events_or_our_error(data: str) -> None:
    with contextlib.suppress(ClientError):
        STREAM._interpret(data, "message")
