"""Keys in a burst, values typed into the palette, failures inside workers, and Ctrl+E:
nothing the user typed or saved is lost or changed behind their back.

Pilot's ``press`` waits for the app to go idle after each key, which hides ordering bugs:
``burst`` posts every key at once, as a terminal delivers a fast burst.
"""

from __future__ import annotations

import pytest
from textual import events

from chat_tui.backend import Lease
from chat_tui.mock_server import MockServer
from chat_tui.sessions import Message, Session
from chat_tui.sessions.codec import dumps, loads
from chat_tui.tui.widgets.messages import AssistantMessage, UserMessage
from tests.tui.helpers import chat_screen, make_app


def burst(app, *keys: str) -> None:  # type: ignore[no-untyped-def]
    for key in keys:
        character = key if len(key) == 1 else None
        app.post_message(events.Key(key, character))


async def settle(pilot) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.05)


def sent_prompts(server: MockServer) -> list[str]:
    return [r.body["messages"][-1]["content"] for r in server.requests if r.body]


async def test_editing_keys_in_a_burst_act_where_they_were_typed() -> None:
    async with MockServer() as server:
        app = make_app(server.base_url, "mock-gpt+echo")
        async with app.run_test() as pilot:
            await pilot.pause()
            burst(app, *"abcx", "backspace", "d", "left", "left", "ctrl+j", "enter", *"next")
            await settle(pilot)
            assert sent_prompts(server) == ["ab\ncd"]
            assert chat_screen(app).prompt.text == "next"


async def test_format_characters_typed_are_inserted() -> None:
    async with MockServer() as server:
        app = make_app(server.base_url)
        async with app.run_test() as pilot:
            await pilot.pause()
            burst(app, "a", "\u200d", "b", "\u200f")
            await settle(pilot)
            assert chat_screen(app).prompt.text == "a\u200db\u200f"


async def test_a_paste_with_colour_codes_is_cleaned_and_said() -> None:
    async with MockServer() as server:
        app = make_app(server.base_url)
        async with app.run_test(notifications=True) as pilot:
            await pilot.pause()
            app.post_message(events.Paste("C1 \x1b[31mred\x1b[0m\r\nnext\x07"))
            await settle(pilot)
            assert chat_screen(app).prompt.text == "C1 red\nnext\u2407"
            assert any("colour" in n.message for n in app._notifications)
            assert server.requests == []


async def test_temperature_nan_from_the_palette_is_refused_in_words() -> None:
    async with MockServer() as server:
        app = make_app(server.base_url, "mock-gpt+echo")
        async with app.run_test(notifications=True) as pilot:
            await pilot.pause()
            for value in ("nan", "7", "-1", "hot"):
                app.action_set_parameter("temperature")
                await pilot.pause(0.1)
                await pilot.press(*value, "enter")
                await settle(pilot)
                assert "temperature" not in chat_screen(app).session.parameters
            messages = [n.message for n in app._notifications]
            assert any("temperature must be a number from 0 to 2" in m for m in messages)
            app.action_set_parameter("temperature")
            await pilot.pause(0.1)
            await pilot.press("0", ".", "5", "enter")
            await settle(pilot)
            assert chat_screen(app).session.parameters["temperature"] == 0.5
            await pilot.press(*"hi", "enter")
            await settle(pilot)
            assert server.requests[-1].body["temperature"] == 0.5


async def test_an_exception_in_the_reply_worker_is_shown_and_the_app_stays_usable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with MockServer() as server:
        app = make_app(server.base_url, "mock-gpt+echo")
        async with app.run_test(notifications=True) as pilot:
            await pilot.pause()

            def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
                raise RuntimeError("injected failure")

            # Each reply streams on a lease of the backend's connection.
            monkeypatch.setattr(Lease, "stream", broken)
            await pilot.press(*"first", "enter")
            await settle(pilot)
            screen = chat_screen(app)
            reply = app.query(AssistantMessage).last()
            assert reply.status == "error"
            assert "injected failure" in (reply.error or "")
            assert any("injected failure" in n.message for n in app._notifications)
            assert screen.status.state == "error"
            monkeypatch.undo()
            await pilot.press(*"second", "enter")
            await settle(pilot)
            assert sent_prompts(server) == ["second"]
            assert app.query(AssistantMessage).last().status == "complete"


async def test_ctrl_e_keeps_the_draft_and_nothing_is_removed_until_the_edit_is_sent() -> None:
    async with MockServer() as server:
        app = make_app(server.base_url, "mock-gpt+echo")
        async with app.run_test(notifications=True) as pilot:
            await pilot.pause()
            screen = chat_screen(app)
            await pilot.press(*"first question", "enter")
            await settle(pilot)
            await pilot.press(*"a draft")
            screen.action_focus_message(-1)  # a message focused, draft in the box
            await pilot.press("ctrl+e")
            await settle(pilot)
            assert screen.prompt.text == "first question"
            assert len(screen.session.messages) == 2  # nothing removed yet
            await pilot.press("escape")
            await settle(pilot)
            assert screen.prompt.text == "a draft"
            assert len(screen.session.messages) == 2
            # Ctrl+E in a box with text is end of line, as in a shell.
            await pilot.press("home", "ctrl+e", "!")
            assert screen.prompt.text == "a draft!"
            screen.prompt.clear()
            await pilot.press("ctrl+e")
            await settle(pilot)
            assert screen.prompt.text == "first question"
            screen.prompt.set_text("better question")
            await pilot.press("enter")
            await settle(pilot)
            contents = [m.content for m in screen.session.messages]
            assert contents[0] == "better question" and len(contents) == 2
            assert [u.text for u in app.query(UserMessage)] == ["better question"]
            await screen.action_undo_edit()
            await settle(pilot)
            contents = [m.content for m in screen.session.messages]
            assert contents[0] == "first question" and len(contents) == 2
            assert [u.text for u in app.query(UserMessage)] == ["first question"]
            await screen.action_undo_edit()
            await settle(pilot)
            assert screen.session.messages[0].content == "better question"


def test_a_session_saved_with_temperature_nan_opens_without_it() -> None:
    session = Session(title="hot")
    session.add(Message("user", "hi"))
    session.parameters.update(temperature=float("nan"), max_tokens=0, top_p=0.5)
    loaded = loads(dumps(session))
    assert loaded.parameters == {"top_p": 0.5}
    assert "temperature must be a number from 0 to 2" in loaded.notice
    assert "max_tokens must be a whole number of at least 1" in loaded.notice
