"""Regenerate screenshots/*.svg from the real app against the mock server.

Usage: python scripts/screenshots.py
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chat_tui.backend import Backend  # noqa: E402
from chat_tui.config import ProviderConfig, Target  # noqa: E402
from chat_tui.mock_server import MockServer  # noqa: E402
from chat_tui.tui.app import ChatApp  # noqa: E402
from chat_tui.tui.screens.chat import ChatScreen  # noqa: E402
from chat_tui.tui.widgets.messages import AssistantMessage  # noqa: E402

OUT = ROOT / "screenshots"
PROMPT = "How do I read a file line by line in Python, and what about huge files?"


def make_app(base_url: str, model: str) -> ChatApp:
    provider = ProviderConfig(name="mock", base_url=base_url)
    return ChatApp(Backend(Target(provider=provider, model=model, api_key=None)))


async def shoot(name: str, model: str, size: tuple[int, int], *, wait: str = "done") -> None:
    async with MockServer(reply_tokens=260, tokens_per_second=0) as server:
        app = make_app(server.base_url, model)
        async with app.run_test(size=size) as pilot:
            screen = app.screen
            assert isinstance(screen, ChatScreen)
            screen.prompt.cursor_blink = False
            if wait != "empty":
                screen.prompt.set_text(PROMPT)
                await pilot.press("enter")
                if wait == "done":
                    await app.workers.wait_for_complete()
                else:
                    for _ in range(300):
                        await pilot.pause(0.02)
                        replies = app.query(AssistantMessage)
                        if replies and len(replies.last().text) > 400:
                            break
            await pilot.pause(0.3)
            path = OUT / f"{name}.svg"
            app.save_screenshot(str(path))
            print(f"wrote {path.relative_to(ROOT)}")
            if wait == "streaming":
                await pilot.press("escape")
                await app.workers.wait_for_complete()


async def shoot_branches(size: tuple[int, int]) -> None:
    """A reply asked for three times, showing its second version: ‹ 2/3 ›."""
    async with MockServer(reply_tokens=60, tokens_per_second=0) as server:
        app = make_app(server.base_url, "mock-gpt")
        async with app.run_test(size=size) as pilot:
            screen = app.screen
            assert isinstance(screen, ChatScreen)
            screen.prompt.cursor_blink = False
            screen.prompt.set_text("Explain sockets in one paragraph.")
            await pilot.press("enter")
            await app.workers.wait_for_complete()
            for _ in range(2):
                await pilot.press("ctrl+r")
                await app.workers.wait_for_complete()
                await pilot.pause(0.1)
            app.query(AssistantMessage).last().focus()
            await pilot.press("left_square_bracket")
            await pilot.pause(0.3)
            path = OUT / "branches.svg"
            app.save_screenshot(str(path))
            print(f"wrote {path.relative_to(ROOT)}")


async def main() -> None:
    OUT.mkdir(exist_ok=True)
    await shoot("empty", "mock-gpt", (100, 30), wait="empty")
    await shoot("reply", "mock-gpt", (100, 34))
    await shoot("streaming", "mock-gpt+stall-120", (100, 34), wait="streaming")
    await shoot("reasoning", "mock-reasoner+reasoning", (100, 34))
    await shoot("error", "mock-gpt+http-429", (100, 24))
    await shoot("wide", "mock-gpt", (200, 60))
    await shoot("small", "mock-gpt", (80, 24))
    await shoot_branches((100, 30))


if __name__ == "__main__":
    asyncio.run(main())
