"""Hostile or broken content leaves the app responsive and the session savable."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from chat_tui.backend import Backend
from chat_tui.config import ProviderConfig, Target
from chat_tui.mock_server import MockServer
from chat_tui.sessions import SessionStore
from chat_tui.tui.app import ChatApp
from chat_tui.tui.widgets.messages import AssistantMessage
from tests.tui.helpers import chat_screen


async def send_and_finish(pilot: Any, text: str, timeout: float = 60) -> float:
    await pilot.pause()
    chat_screen(pilot.app).prompt.set_text(text)
    started = time.monotonic()
    await pilot.press("enter")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    return time.monotonic() - started


@pytest.mark.parametrize(
    ("reply", "model"),
    [
        ("word " * 200_000, "mock-gpt+per-event-200000"),  # one 1 MB delta
        ("x" * 1_000_000, "mock-gpt"),  # a 1 MB line with no newline
        ("ab" * 50_000, "mock-gpt+chars"),  # 100,000 one-character deltas
        ("after the junk", "mock-gpt+hostile"),  # deep JSON, invalid UTF-8, garbage
    ],
    ids=["1mb-delta", "1mb-line", "100k-deltas", "junk-events"],
)
async def test_hostile_streams(tmp_path: Path, reply: str, model: str) -> None:
    store = SessionStore(tmp_path)
    async with MockServer(reply_text=reply) as server:
        provider = ProviderConfig("mock", server.base_url)
        app = ChatApp(Backend(Target(provider, model)), store=store)
        async with app.run_test(size=(100, 30)) as pilot:
            await send_and_finish(pilot, "go")
            message = app.query_one(AssistantMessage)
            assert message.status == "complete"
            if model.endswith("hostile"):
                assert "bad:\ufffd\ufffd" in message.text and message.text.endswith(reply)
            else:
                assert len(message.text) == len(reply)
            # Still responsive: another exchange works at once.
            await send_and_finish(pilot, "still there?")
            assert len(app.query(AssistantMessage)) == 2
            session_id = chat_screen(app).session.id
        saved = store.load(session_id)
        assert saved.messages[1].content.endswith(reply)
