"""SVG snapshots of the main states at a fixed size (pytest-textual-snapshot).

The live figures (time to first token, speed) vary from run to run, so each test pins
them before the picture is taken.
"""

from __future__ import annotations

from typing import Any

from chat_tui.mock_server import tokenize
from chat_tui.tui.widgets.messages import AssistantMessage
from tests.tui.helpers import chat_screen, make_app
from tests.tui.threaded_server import threaded_mock_server

SIZE = (100, 30)
#: A fixed port, because error messages name the URL that failed and the picture shows it.
SNAPSHOT_PORT = 47813
REPLY = (
    "Sure. Here is a **small** example:\n\n"
    '```python\ndef greet(name: str) -> str:\n    return f"Hello, {name}!"\n```\n\n'
    "| call | result |\n| --- | --- |\n| `greet('Ada')` | `Hello, Ada!` |\n"
)


def pin_figures(app: Any) -> None:
    status = chat_screen(app).status
    status.time_to_first_token = 0.05
    status.tokens_per_second = 250.0
    if status.reply_tokens is not None:
        status.reply_tokens = 42
    chat_screen(app).prompt.cursor_blink = False


async def reply_recorded(pilot: Any) -> None:
    """Wait until the reply's worker has ended, the screen has recorded it, and the
    screen is still.

    The worker ends before the screen handles its ReplyFinished, which sets the real
    figures: pinned before that, on a slow machine they are overwritten in the picture.
    """
    await pilot.app.workers.wait_for_complete()
    for _ in range(500):
        if not chat_screen(pilot.app).prompt.awaiting_reply:
            break
        await pilot.pause(0.01)
    # Then until the screen stops changing: the finished reply gives back the room it
    # kept for growth, and the pane follows the bottom, a frame or two later.
    picture = ""
    for _ in range(50):
        await pilot.pause(0.02)
        now = pilot.app.export_screenshot()
        if now == picture:
            break
        picture = now


async def type_and_send(pilot: Any, text: str) -> None:
    await pilot.pause()
    chat_screen(pilot.app).prompt.set_text(text)
    await pilot.press("enter")


def test_empty(snap_compare: Any) -> None:
    with threaded_mock_server(reply_text=REPLY, port=SNAPSHOT_PORT) as server:

        async def run_before(pilot: Any) -> None:
            pin_figures(pilot.app)
            await pilot.pause()

        assert snap_compare(make_app(server.base_url), terminal_size=SIZE, run_before=run_before)


def test_finished_with_code_block(snap_compare: Any) -> None:
    with threaded_mock_server(reply_text=REPLY, port=SNAPSHOT_PORT) as server:

        async def run_before(pilot: Any) -> None:
            await type_and_send(pilot, "Show me a greeting function")
            await reply_recorded(pilot)
            pin_figures(pilot.app)
            await pilot.pause()

        assert snap_compare(make_app(server.base_url), terminal_size=SIZE, run_before=run_before)


def test_streaming_mid_reply(snap_compare: Any) -> None:
    with threaded_mock_server(reply_text=REPLY, port=SNAPSHOT_PORT) as server:

        async def run_before(pilot: Any) -> None:
            await type_and_send(pilot, "Show me a greeting function")
            # The server stalls after 14 tokens: wait until exactly those are on screen.
            expected = "".join(tokenize(REPLY)[:14])
            for _ in range(400):
                await pilot.pause(0.02)
                replies = pilot.app.query(AssistantMessage)
                if replies and replies.last().text == expected:
                    break
            await pilot.pause(0.3)
            pin_figures(pilot.app)
            await pilot.pause()

        app = make_app(server.base_url, "mock-gpt+stall-14")
        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
        # Leave no stalled stream behind the picture.
        app.exit()


def test_error(snap_compare: Any) -> None:
    with threaded_mock_server(reply_text=REPLY, port=SNAPSHOT_PORT) as server:

        async def run_before(pilot: Any) -> None:
            await type_and_send(pilot, "hello")
            await reply_recorded(pilot)
            pin_figures(pilot.app)
            await pilot.pause()

        app = make_app(server.base_url, "mock-gpt+http-401")
        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
