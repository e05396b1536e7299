"""Editing any message and regenerating any reply make branches (issue 16): the old
version stays a flip away (``‹ 1/2 ›``), what is shown is one path, and that path is what
the model is sent. Driven with Pilot against the real mock server."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Static

from chat_tui.backend import Backend
from chat_tui.config import ProviderConfig, Target
from chat_tui.mock_server import MockServer
from chat_tui.sessions import Message, Session, SessionStore
from chat_tui.tui.app import ChatApp
from chat_tui.tui.screens.chat import WINDOW
from chat_tui.tui.screens.sessions import SessionBrowser
from chat_tui.tui.widgets.messages import AssistantMessage, MessageView, UserMessage
from tests.tui.helpers import chat_screen


def make(
    server: MockServer,
    store: SessionStore,
    session: Session | None = None,
    model: str = "mock-gpt+echo",
) -> ChatApp:
    """The app, by default with an echoing model: each reply is the prompt it answers."""
    provider = ProviderConfig(name="mock", base_url=server.base_url)
    target = Target(provider=provider, model=model)
    return ChatApp(Backend(target), store=store, session=session)


@pytest.fixture
def store(tmp_path: Path) -> SessionStore:
    return SessionStore(tmp_path / "sessions")


async def settle(pilot: Any) -> None:
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.05)


async def send(pilot: Any, text: str) -> None:
    await pilot.pause()
    screen = chat_screen(pilot.app)
    screen.prompt.focus()
    screen.prompt.set_text(text)
    await pilot.press("enter")
    await settle(pilot)


def shown(app: ChatApp) -> list[str]:
    return [view.text for view in app.query(MessageView)]


def prompt_view(app: ChatApp, text: str) -> UserMessage:
    (view,) = [view for view in app.query(UserMessage) if view.text == text]
    return view


def sent(server: MockServer) -> list[str]:
    return [m["content"] for m in server.requests[-1].body["messages"]]


def label(view: MessageView) -> str:
    """The ``‹ 2/3 ›`` the message shows on screen ("" when it shows none)."""
    if isinstance(view, AssistantMessage):
        meta = str(view.query_one(".meta", Static).content)
        return meta[meta.index("‹") :] if "‹" in meta else ""
    versions = view.query_one(".versions", Static)
    return str(versions.content) if versions.display else ""


def toasts(app: ChatApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_edit_an_earlier_prompt_send_flip_back_and_forward(store: SessionStore) -> None:
    async with MockServer() as server:
        app = make(server, store)
        async with app.run_test(size=(100, 40), notifications=True) as pilot:
            for text in ("one", "two", "three"):
                await send(pilot, text)
            assert shown(app) == ["one", "one", "two", "two", "three", "three"]
            screen = chat_screen(app)
            app.query(UserMessage)[1].focus()
            await pilot.press("e")
            await settle(pilot)
            assert screen.prompt.text == "two"
            assert len(app.query(".-replacing")) == 4  # what goes to the other branch
            assert len(screen.session.messages) == 6  # nothing changes until it is sent
            screen.prompt.set_text("two, edited")
            await pilot.press("enter")
            await settle(pilot)
            assert shown(app) == ["one", "one", "two, edited", "two, edited"]
            assert sent(server) == ["one", "one", "two, edited"]  # the path is the history
            edited = prompt_view(app, "two, edited")
            assert label(edited) == "‹ 2/2 ›"
            assert label(app.query(UserMessage)[0]) == ""
            assert not app.query(".-replacing")

            edited.focus()
            await pilot.press("left_square_bracket")
            await settle(pilot)
            assert shown(app) == ["one", "one", "two", "two", "three", "three"]
            assert app.focused is app.query(UserMessage)[1] and label(app.focused) == "‹ 1/2 ›"
            assert [m.content for m in screen.session.messages][-1] == "three"
            await pilot.press("right_square_bracket")
            await settle(pilot)
            assert shown(app) == ["one", "one", "two, edited", "two, edited"]
            await pilot.press("right_square_bracket")
            await settle(pilot)
            assert "This is the last version (2/2)." in toasts(app)
            session_id = screen.session.id
        saved = store.load(session_id)
        assert [m.content for m in saved.messages] == ["one", "one", "two, edited", "two, edited"]
        assert len(saved.tree) == 8

        # It reopens on the branch it was left on, the other still a flip away.
        saved.switch(saved.messages[2].id, -1)
        store.save(saved)
        reopened = make(server, store, store.load(session_id))
        async with reopened.run_test(size=(100, 40)) as pilot:
            await pilot.pause()
            assert shown(reopened) == ["one", "one", "two", "two", "three", "three"]
            assert label(reopened.query(UserMessage)[1]) == "‹ 1/2 ›"
            await pilot.press("ctrl+up", "ctrl+up", "ctrl+up", "ctrl+up")
            assert reopened.focused is reopened.query(UserMessage)[1]
            await pilot.press("right_square_bracket")
            await settle(pilot)
            assert shown(reopened) == ["one", "one", "two, edited", "two, edited"]
            await send(pilot, "four")
            assert sent(server) == ["one", "one", "two, edited", "two, edited", "four"]


async def test_regenerate_any_reply_keeps_both(store: SessionStore) -> None:
    async with MockServer() as server:
        app = make(server, store)
        async with app.run_test(size=(100, 40), notifications=True) as pilot:
            await send(pilot, "one")
            await send(pilot, "two")
            screen = chat_screen(app)
            # Ctrl+R on the last reply: a second version beside the first.
            await pilot.press("ctrl+r")
            await settle(pilot)
            assert shown(app) == ["one", "one", "two", "two"]
            assert label(app.query(AssistantMessage)[1]) == "‹ 2/2 ›"
            assert len(screen.session.siblings(screen.session.messages[-1].id)) == 2
            # Ctrl+R on an earlier reply, focused: its branch goes aside, not away.
            app.query(AssistantMessage)[0].focus()
            await pilot.press("ctrl+r")
            await settle(pilot)
            assert shown(app) == ["one", "one"]
            assert sent(server) == ["one"]
            first = app.query(AssistantMessage)[0]
            assert label(first) == "‹ 2/2 ›"
            first.focus()
            await pilot.press("left_square_bracket")
            await settle(pilot)
            assert shown(app) == ["one", "one", "two", "two"]
            assert label(app.query(AssistantMessage)[1]) == "‹ 2/2 ›"
            assert len(screen.session.tree) == 6
            # The palette's entries do the same on the focused message.
            app.query(AssistantMessage)[0].focus()
            await screen.action_switch_version(1)
            await settle(pilot)
            assert shown(app) == ["one", "one"]


async def test_editing_a_reply_sends_nothing_until_the_user_goes_on(store: SessionStore) -> None:
    async with MockServer() as server:
        app = make(server, store)
        async with app.run_test(size=(100, 40), notifications=True) as pilot:
            await send(pilot, "question")
            asked = len(server.requests)
            app.query(AssistantMessage)[0].focus()
            await pilot.press("e")
            await settle(pilot)
            screen = chat_screen(app)
            assert screen.prompt.text == "question"  # the echo reply's own text
            screen.prompt.set_text("a better answer")
            await pilot.press("enter")
            await settle(pilot)
            assert len(server.requests) == asked
            assert shown(app) == ["question", "a better answer"]
            assert label(app.query(AssistantMessage)[0]) == "‹ 2/2 ›"
            assert screen.status.state == "idle" and screen.prompt.text == ""
            await send(pilot, "go on")
            assert sent(server) == ["question", "a better answer", "go on"]


async def test_search_opens_the_session_on_the_branch_that_has_the_text(
    store: SessionStore,
) -> None:
    session = Session()
    session.add(Message("user", "first"))
    session.add(Message("assistant", "the hidden walrus"))
    session.branch_at(session.messages[1].id, Message("assistant", "plain reply"))
    store.save(session)
    other = Session()
    other.add(Message("user", "unrelated"))
    store.save(other)
    async with MockServer() as server:
        app = make(server, store, store.load(other.id))
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert isinstance(app.screen, SessionBrowser)
            await pilot.press(*"walrus")
            await pilot.pause(0.2)
            await pilot.press("enter")
            await pilot.pause(0.3)
            assert chat_screen(app).session.id == session.id
            assert shown(app) == ["first", "the hidden walrus"]
            assert label(app.query(AssistantMessage)[0]) == "‹ 1/2 ›"


async def test_flipping_keeps_the_window_of_mounted_messages(store: SessionStore) -> None:
    session = Session()
    for turn in range(WINDOW):
        session.add(Message("user", f"q{turn}"))
        session.add(Message("assistant", f"a{turn}"))
    last = session.messages[-1]
    session.branch_at(last.id, Message("assistant", "another answer"))
    async with MockServer() as server:
        app = make(server, store, session)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            screen = chat_screen(app)
            older = list(screen._unmounted_older)
            assert len(app.query(MessageView)) == WINDOW and len(older) == WINDOW
            reply = app.query(AssistantMessage).last()
            assert reply.text == "another answer" and label(reply) == "‹ 2/2 ›"
            reply.focus()
            await pilot.press("left_square_bracket")
            await settle(pilot)
            assert app.query(AssistantMessage).last().text == f"a{WINDOW - 1}"
            assert len(app.query(MessageView)) == WINDOW
            assert screen._unmounted_older == older


async def test_a_version_1_file_opened_and_closed_in_the_app_is_not_rewritten(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "sessions"
    folder.mkdir()
    path = folder / "version1.toml"
    shutil.copy(Path(__file__).parents[1] / "sessions" / "version1.toml", path)
    before = path.read_bytes()
    store = SessionStore(folder)
    async with MockServer() as server:
        app = make(server, store, store.load("version1"))
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            prompts = [view.text for view in app.query(UserMessage)]
            assert prompts == ["How do sockets work?", "And TCP?"]
            assert not any(label(view) for view in app.query(MessageView))
            await pilot.press("ctrl+up")
            await pilot.press("left_square_bracket")  # no other version: nothing changes
            await pilot.pause()
    assert path.read_bytes() == before


async def test_a_reply_streams_into_a_new_branch_and_esc_stops_it_there(
    store: SessionStore,
) -> None:
    session = Session()
    session.add(Message("user", "first"))
    session.add(Message("assistant", "the first answer"))
    store.save(session)
    async with MockServer(reply_text="word " * 50) as server:
        app = make(server, store, store.load(session.id), model="mock-gpt+stall-3")
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            app.query(UserMessage)[0].focus()
            await pilot.press("e")
            await pilot.pause()
            screen = chat_screen(app)
            screen.prompt.set_text("first, edited")
            await pilot.press("enter")
            for _ in range(200):
                await pilot.pause(0.02)
                if app.query(AssistantMessage) and app.query(AssistantMessage)[0].text:
                    break
            assert screen.conversation.streaming
            await pilot.press("escape")
            await settle(pilot)
            reply = app.query(AssistantMessage)[0]
            assert reply.status == "stopped" and reply.text == "word word word"
            assert label(app.query(UserMessage)[0]) == "‹ 2/2 ›"
            saved = store.load(session.id)
            assert [m.content for m in saved.messages] == ["first, edited", "word word word"]
            assert saved.messages[-1].status == "stopped"
            app.query(UserMessage)[0].focus()
            await pilot.press("left_square_bracket")
            await settle(pilot)
            assert shown(app) == ["first", "the first answer"]
        saved = store.load(session.id)
        assert [m.content for m in saved.messages] == ["first", "the first answer"]
        assert len(saved.tree) == 4


def on_screen(app: ChatApp, view: MessageView) -> bool:
    """Whether the message's first line (its header) is inside the conversation's view."""
    conversation = chat_screen(app).conversation
    top = view.virtual_region.y - conversation.scroll_offset.y
    return 0 <= top < conversation.scrollable_content_region.height


async def test_a_flipped_or_focused_message_is_brought_into_view(store: SessionStore) -> None:
    # Long Markdown replies (lists, code, a table), as a person would flip through them.
    async with MockServer(reply_tokens=300) as server:
        app = make(server, store, model="mock-gpt")
        async with app.run_test(size=(100, 30)) as pilot:
            for text in ("first question", "second question", "third question"):
                await send(pilot, text)
            prompt_view(app, "second question").focus()
            await pilot.press("e")
            await settle(pilot)
            chat_screen(app).prompt.set_text("second question, edited")
            await pilot.press("enter")
            await settle(pilot)
            await pilot.press("ctrl+up", "ctrl+up")
            await settle(pilot)
            edited = prompt_view(app, "second question, edited")
            assert app.focused is edited and on_screen(app, edited)
            await pilot.press("left_square_bracket")
            await settle(pilot)
            await pilot.pause(0.3)  # past any scroll animation
            flipped = prompt_view(app, "second question")
            assert app.focused is flipped and on_screen(app, flipped)
            await pilot.press("ctrl+up")
            await settle(pilot)
            reply = app.query(AssistantMessage)[0]
            # Taller than the view: its start (the header) is shown.
            assert app.focused is reply and on_screen(app, reply)
