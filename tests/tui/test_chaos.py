"""The chaos run: the real app through the mock server's faults in random order, with
cancels, model switches and new sessions in between; nothing may crash or be lost.

Longer runs: ``CHAT_TUI_CHAOS_STEPS=300 CHAT_TUI_CHAOS_SEED=7 python -m pytest
tests/tui/test_chaos.py`` (or ``python scripts/chaos.py 300``).
"""

from __future__ import annotations

import os
import random
from pathlib import Path

from chat_tui.backend import Backend
from chat_tui.config import ProviderConfig, Target
from chat_tui.mock_server import MockServer
from chat_tui.sessions import SessionStore, SessionSummary
from chat_tui.tui.app import ChatApp
from chat_tui.tui.widgets.messages import AssistantMessage
from tests.tui.helpers import chat_screen

FAULTS = [
    "mock-gpt",
    "mock-gpt+drop-4",
    "mock-gpt+stall-3",
    "mock-gpt+error-event",
    "mock-gpt+error-event-typed",
    "mock-gpt+http-500",
    "mock-gpt+http-401",
    "mock-gpt+http-502",
    "mock-gpt+flaky-1",
    "mock-gpt+keepalive+crlf",
    "mock-gpt+bytewise",
    "mock-gpt+reasoning",
    "mock-gpt+no-done",
    "mock-gpt+azure+null-role",
    "mock-gpt+hostile",
    "mock-gpt+no-stream",
    "mock-gpt+rate-400",
]


async def test_chaos_run_loses_nothing(tmp_path: Path) -> None:
    steps = int(os.environ.get("CHAT_TUI_CHAOS_STEPS", "24"))
    rng = random.Random(int(os.environ.get("CHAT_TUI_CHAOS_SEED", "2026")))
    store = SessionStore(tmp_path / "sessions")
    prompts: list[str] = []
    partials: list[tuple[str, str, str]] = []  # (session id, status, text shown)
    reply = "Chaos reply with `code` and words. " * 8
    async with MockServer(reply_text=reply) as server:
        provider = ProviderConfig("mock", server.base_url, read_timeout=1.0)
        app = ChatApp(Backend(Target(provider, "mock-gpt")), store=store)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            screen = chat_screen(app)
            for step in range(steps):
                model = rng.choice(FAULTS)
                await app.backend.switch(Target(provider, model))
                screen.show_target()
                prompt = f"prompt {step} via {model}"
                prompts.append(prompt)
                screen.prompt.set_text(prompt)
                await pilot.press("enter")
                if rng.random() < 0.3 or "stall" in model:
                    await pilot.pause(rng.uniform(0.05, 0.3))
                    await pilot.press("escape")
                await app.workers.wait_for_complete()
                await pilot.pause()
                message = app.query(AssistantMessage).last()
                assert message.status in ("complete", "stopped", "cut_off", "error"), step
                partials.append((screen.session.id, message.status, message.text))
                if rng.random() < 0.15:
                    await pilot.press("ctrl+n")
                    await pilot.pause()
            assert app.is_running

    readable = [entry for entry in store.list() if isinstance(entry, SessionSummary)]
    assert len(readable) == len(store.list()), "every session file parses"
    saved = {entry.id: store.load(entry.path) for entry in readable}
    all_prompts = [m.content for s in saved.values() for m in s.messages if m.role == "user"]
    assert sorted(all_prompts) == sorted(prompts), "every prompt is in its file"
    for session_id, status, shown in partials:
        replies = [m for m in saved[session_id].messages if m.role == "assistant"]
        matching = [m for m in replies if m.status == status and m.content == shown]
        assert matching or (status == "error" and not shown), (session_id, status, shown[:40])
