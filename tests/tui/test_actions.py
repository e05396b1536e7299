"""Every action does what it says (issue 13): sessions, settings, model switches, how each
reply ended, and the token counters, driven with Pilot against the real mock server and
checked on screen and in the session files."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Static

from chat_tui.backend import Backend
from chat_tui.config import AppSettings, Config, Problem, ProviderConfig, Target
from chat_tui.mock_server import MockServer
from chat_tui.sessions import Message, Session, SessionStore
from chat_tui.sessions.model import now
from chat_tui.tui.app import ChatApp
from chat_tui.tui.screens.chat import estimate_tokens
from chat_tui.tui.screens.sessions import AskText, Confirm, SessionBrowser
from chat_tui.tui.widgets.conversation import Conversation
from chat_tui.tui.widgets.messages import AssistantMessage, UserMessage
from tests.tui.helpers import chat_screen, status_text

REPLY = "A reply with a few words in it.\n"
LENGTH_NOTE = "Cut off: the model reached its token limit. F5 continues."


@pytest.fixture
def store(tmp_path: Path) -> SessionStore:
    return SessionStore(tmp_path / "sessions")


def make(
    server: MockServer,
    tmp_path: Path,
    *,
    model: str = "mock-gpt",
    store: SessionStore | None = None,
    session: Session | None = None,
    app_settings: AppSettings | None = None,
    send_stream_options: bool = True,
    extra: dict[str, ProviderConfig] | None = None,
    problems: tuple[object, ...] = (),
) -> ChatApp:
    provider = ProviderConfig(
        "mock", server.base_url, local=True, send_stream_options=send_stream_options
    )
    config = Config(
        app=app_settings or AppSettings(),
        providers={"mock": provider, **(extra or {})},
        path=tmp_path / "config" / "config.toml",
    )
    return ChatApp(
        Backend(Target(provider, model)),
        config=config,
        store=store,
        session=session,
        startup_problems=problems,
    )


async def send(pilot: Any, text: str, *, wait: bool = True) -> None:
    await pilot.pause()
    screen = chat_screen(pilot.app)
    screen.prompt.focus()
    screen.prompt.set_text(text)
    await pilot.press("enter")
    if wait:
        await settle(pilot)


async def settle(pilot: Any) -> None:
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.05)


async def until(pilot: Any, condition: Any, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError("condition never held")


def streaming_text(app: ChatApp) -> str:
    replies = app.query(AssistantMessage)
    return replies.last().text if replies else ""


def note_on_screen(reply: AssistantMessage) -> str:
    """The line under a reply as shown ("" when it is hidden)."""
    note = reply.query_one(".note", Static)
    return str(note.content) if note.display else ""


def last_toast(app: ChatApp) -> str:
    shown = toasts(app)
    return shown[-1] if shown else ""


def token_figures(status: str) -> list[tuple[str, str]]:
    """The status bar's token counts: ("reply", "~64"), ("total", "~67")."""
    return re.findall(r"(reply|total) (~?[\d.]+k?) tok", status)


def toasts(app: ChatApp) -> list[str]:
    return [n.message for n in app._notifications]


def saved(store: SessionStore) -> list[Session]:
    return [store.load(entry.path) for entry in store.list()]  # type: ignore[union-attr]


def file_state(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


def two_sessions(store: SessionStore) -> tuple[Session, Session]:
    """Alpha, then Beta an hour later (the newest)."""
    made = []
    for hours_ago, title in ((2, "Alpha chat"), (1, "Beta chat")):
        session = Session(provider="mock", model="mock-gpt")
        session.add(Message("user", title))
        session.add(Message("assistant", f"reply to {title}", model="mock/mock-gpt"))
        session.updated = now() - timedelta(hours=hours_ago)
        store.save(session, touch=False)
        made.append(session)
    return made[0], made[1]


async def open_browser(pilot: Any) -> SessionBrowser:
    await pilot.press("ctrl+s")
    await until(pilot, lambda: isinstance(pilot.app.screen, SessionBrowser))
    await pilot.pause()
    browser = pilot.app.screen
    assert isinstance(browser, SessionBrowser)
    return browser


def highlighted(browser: SessionBrowser) -> str | None:
    return browser.highlighted_id()


# Deleting the open session is final


async def test_deleting_the_open_session_is_final(store: SessionStore, tmp_path: Path) -> None:
    async with MockServer(reply_text=REPLY) as server:
        app = make(server, tmp_path, store=store)
        async with app.run_test(size=(100, 30), notifications=True) as pilot:
            await send(pilot, "Delete me later")
            open_id = chat_screen(app).session.id
            path = store.path_for(open_id)
            assert path.exists()
            browser = await open_browser(pilot)
            assert highlighted(browser) == f"id:{open_id}"
            await pilot.press("ctrl+d")
            await until(pilot, lambda: isinstance(app.screen, Confirm))
            await pilot.pause(0.1)  # the dialog takes keys once it is mounted and focused
            await pilot.press("y")
            await until(pilot, lambda: app.chat.session.id != open_id)
            await pilot.pause(0.2)  # the browser's worker waits for it to close: no settle
            assert not path.exists(), "the deleted session was saved again"
            if isinstance(app.screen, SessionBrowser):
                await pilot.press("escape")
            await pilot.pause()
            assert not app.query(UserMessage)
        assert not path.exists(), "quitting saved the deleted session again"
        assert [p.name for p in (store.root / "trash").iterdir()] == [path.name]
        assert store.list() == []


# New conversations start with the config's defaults


async def test_every_new_conversation_starts_with_the_config_defaults(
    store: SessionStore, tmp_path: Path
) -> None:
    settings = AppSettings(system_prompt="Be brief.", temperature=0.3, max_tokens=500)
    async with MockServer(reply_text=REPLY) as server:
        app = make(server, tmp_path, store=store, app_settings=settings)
        async with app.run_test(size=(100, 30)) as pilot:
            await send(pilot, "first conversation")
            await pilot.press("ctrl+n")
            await until(pilot, lambda: not app.chat.session.messages)
            await send(pilot, "second conversation")
            # And after deleting the open session (picked by its title: both sessions may
            # share the same "updated" second, so the newest-first order can tie).
            browser = await open_browser(pilot)
            await pilot.press(*"second conversation")
            await until(pilot, lambda: highlighted(browser) == f"id:{app.chat.session.id}")
            await pilot.press("ctrl+d")
            await until(pilot, lambda: isinstance(app.screen, Confirm))
            await pilot.pause(0.1)  # the dialog takes keys once it is mounted and focused
            await pilot.press("y")
            await until(pilot, lambda: not app.chat.session.messages)
            await pilot.pause(0.1)
            await pilot.press("escape")
            await send(pilot, "third conversation")
        assert len(server.requests) == 3
        for request in server.requests:
            body = request.body
            assert body["messages"][0] == {"role": "system", "content": "Be brief."}
            assert body["temperature"] == 0.3 and body["max_tokens"] == 500


async def test_a_reopened_session_keeps_its_own_settings(
    store: SessionStore, tmp_path: Path
) -> None:
    session = Session(provider="mock", model="mock-gpt", system_prompt="Old prompt.")
    session.add(Message("user", "hello"))
    session.add(Message("assistant", "hi", model="mock/mock-gpt"))
    store.save(session)
    before = file_state(store.path_for(session.id))
    settings = AppSettings(system_prompt="New default.", temperature=1.5)
    async with MockServer(reply_text=REPLY) as server:
        app = make(
            server, tmp_path, store=store, session=store.load(session.id), app_settings=settings
        )
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            assert chat_screen(app).session.parameters == {}
            assert chat_screen(app).session.system_prompt == "Old prompt."
    assert file_state(store.path_for(session.id)) == before


# Switching model while a reply streams


async def test_switching_model_while_a_reply_streams_lets_it_finish(tmp_path: Path) -> None:
    # Ten seconds: each Pilot key press waits up to 2 s for the app to look idle, which a
    # streaming app never does, and a loaded machine is slower still, so the switch must
    # land well within the reply.
    long_reply = "word " * 600
    async with (
        MockServer(reply_text=long_reply, tokens_per_second=60) as one,
        MockServer(reply_text="from two") as two,
    ):
        other = {"two": ProviderConfig("two", two.base_url, local=True)}
        app = make(one, tmp_path, extra=other, app_settings=AppSettings(favourites=("two/x",)))
        async with app.run_test(size=(120, 30), notifications=True) as pilot:
            await send(pilot, "a long one please", wait=False)
            await until(pilot, lambda: len(streaming_text(app)) > 20)
            await pilot.press("ctrl+t")  # the next favourite, on another provider
            await until(pilot, lambda: app.backend.target.label == "two/x")
            status = status_text(app)
            assert status.startswith(" mock/mock-gpt → two/x · streaming")
            assert any("your next prompt goes to two/x" in t for t in toasts(app))
            await settle(pilot)
            reply = app.query(AssistantMessage).last()
            assert reply.status == "complete", note_on_screen(reply)
            assert reply.text == long_reply
            assert status_text(app).startswith(" two/x · idle")
            await send(pilot, "and now?")
            assert two.requests[-1].body["model"] == "x"
            assert app.query(AssistantMessage).last().text == "from two"
        assert len(one.requests) == 1


# Ctrl+Q while a reply streams


async def test_quitting_while_a_reply_streams_saves_it_as_stopped(
    store: SessionStore, tmp_path: Path
) -> None:
    async with MockServer(reply_text=REPLY * 20) as server:
        app = make(server, tmp_path, store=store, model="mock-gpt+stall-6")
        async with app.run_test(size=(100, 30)) as pilot:
            await send(pilot, "stream then quit", wait=False)
            await until(pilot, lambda: bool(streaming_text(app)))
            await pilot.pause(0.1)
            session_id = chat_screen(app).session.id
            await pilot.press("ctrl+q")
        reply = store.load(session_id).messages[-1]
        assert reply.status == "stopped"
        assert reply.content and (REPLY * 20).startswith(reply.content)


# A session file changes only when the conversation does


async def test_browsing_opening_and_quitting_never_rewrite_a_file(
    store: SessionStore, tmp_path: Path
) -> None:
    alpha, beta = two_sessions(store)
    paths = [store.path_for(alpha.id), store.path_for(beta.id)]
    before = [file_state(path) for path in paths]
    async with MockServer(reply_text=REPLY) as server:
        app = make(server, tmp_path, store=store, session=store.load(beta.id))
        async with app.run_test(size=(100, 30)) as pilot:
            await open_browser(pilot)  # just to look
            await pilot.press("escape")
            await pilot.pause()
            await open_browser(pilot)
            await pilot.press(*"Alpha")
            await pilot.pause(0.2)
            await pilot.press("enter")
            await until(pilot, lambda: chat_screen(app).session.id == alpha.id)
            await pilot.pause()
        assert [file_state(path) for path in paths] == before
        assert store.latest().id == beta.id  # type: ignore[union-attr]


async def test_a_typed_draft_is_a_change_and_is_saved(
    store: SessionStore, tmp_path: Path
) -> None:
    alpha, _ = two_sessions(store)
    async with MockServer(reply_text=REPLY) as server:
        app = make(server, tmp_path, store=store, session=store.load(alpha.id))
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            await pilot.press(*"unsent words")
            await pilot.pause()
    assert store.load(alpha.id).draft == "unsent words"


# Each session keeps its own draft


async def test_a_draft_stays_with_its_own_session(store: SessionStore, tmp_path: Path) -> None:
    alpha, beta = two_sessions(store)
    beta_before = file_state(store.path_for(beta.id))
    async with MockServer(reply_text=REPLY) as server:
        app = make(server, tmp_path, store=store, session=store.load(alpha.id))
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            await pilot.press(*"half a question")
            await open_browser(pilot)
            await pilot.press(*"Beta")
            await pilot.pause(0.2)
            await pilot.press("enter")
            await until(pilot, lambda: chat_screen(app).session.id == beta.id)
            await pilot.pause()
            assert chat_screen(app).prompt.text == ""
            assert chat_screen(app).session.draft == ""
            await open_browser(pilot)
            await pilot.press(*"Alpha")
            await pilot.pause(0.2)
            await pilot.press("enter")
            await until(pilot, lambda: chat_screen(app).session.id == alpha.id)
            await pilot.pause()
            assert chat_screen(app).prompt.text == "half a question"
    assert store.load(alpha.id).draft == "half a question"
    assert store.load(beta.id).draft == ""
    assert file_state(store.path_for(beta.id)) == beta_before


# How each reply ended


async def test_a_reply_cut_by_the_token_limit_says_so_and_f5_continues(
    store: SessionStore, tmp_path: Path
) -> None:
    async with MockServer(reply_text=REPLY * 10) as server:
        settings = AppSettings(max_tokens=5)
        app = make(server, tmp_path, store=store, app_settings=settings)
        async with app.run_test(size=(100, 30), notifications=True) as pilot:
            await send(pilot, "a long answer")
            reply = app.query(AssistantMessage).last()
            assert note_on_screen(reply) == LENGTH_NOTE
            session_id = chat_screen(app).session.id
            on_disk = store.load(session_id).messages[-1]
            assert (on_disk.status, on_disk.finish_reason, on_disk.ending) == (
                "complete",
                "length",
                "length",
            )
            await pilot.press("f5")
            await settle(pilot)
            assert len(server.requests) == 2
            assert "Continue" in server.requests[-1].body["messages"][-1]["content"]
            assert not any("complete" in t for t in toasts(app))
        reopened = make(server, tmp_path, store=store, session=store.load(session_id))
        async with reopened.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            first = reopened.query(AssistantMessage).first()
            assert note_on_screen(first) == LENGTH_NOTE


async def test_a_tool_call_with_no_text_says_so(store: SessionStore, tmp_path: Path) -> None:
    async with MockServer(reply_text=REPLY) as server:
        app = make(server, tmp_path, store=store, model="mock-gpt+tools")
        async with app.run_test(size=(100, 30)) as pilot:
            await send(pilot, "what is the weather?")
            reply = app.query(AssistantMessage).last()
            assert reply.text == ""
            note = note_on_screen(reply)
            assert "asked to call a tool" in note and "no text reply" in note
            saved_reply = store.load(chat_screen(app).session.id).messages[-1]
            assert saved_reply.ending == "tool_calls"


async def test_unreadable_events_mark_the_reply_possibly_incomplete(
    store: SessionStore, tmp_path: Path
) -> None:
    async with MockServer(reply_text=REPLY) as server:
        app = make(server, tmp_path, store=store, model="mock-gpt+hostile")
        async with app.run_test(size=(100, 30)) as pilot:
            await send(pilot, "hello")
            reply = app.query(AssistantMessage).last()
            assert "Possibly incomplete" in note_on_screen(reply)
            warning = store.load(chat_screen(app).session.id).messages[-1].warning
            assert warning and warning.startswith("Possibly incomplete")


# Token counters


async def test_estimates_are_marked_never_count_the_reply_or_a_replaced_one(
    store: SessionStore, tmp_path: Path
) -> None:
    prompt = "fifteen chars!!"
    async with MockServer(reply_text=REPLY * 8) as server:
        # A server that sends no usage: every figure is an estimate.
        app = make(server, tmp_path, store=store, send_stream_options=False)
        async with app.run_test(size=(120, 30)) as pilot:
            await send(pilot, prompt)
            session_id = chat_screen(app).session.id
            usage = store.load(session_id).messages[-1].usage
            assert usage is not None and usage.estimated
            assert usage.prompt_tokens == estimate_tokens(prompt)
            assert usage.completion_tokens == estimate_tokens(REPLY * 8)
            first_total = usage.total_tokens
            assert f"total ~{first_total} tok" in status_text(app)
            for _ in range(2):
                await pilot.press("ctrl+r")
                await settle(pilot)
            assert f"total ~{first_total} tok" in status_text(app)
            figures = token_figures(status_text(app))
            assert [name for name, _ in figures] == ["reply", "total"]
        reopened = make(server, tmp_path, store=store, session=store.load(session_id))
        async with reopened.run_test(size=(120, 30)) as pilot:
            await pilot.pause()
            assert token_figures(status_text(reopened)) == figures
            assert all(count.startswith("~") for _, count in figures)


async def test_the_servers_usage_is_shown_and_saved_without_a_tilde(
    store: SessionStore, tmp_path: Path
) -> None:
    async with MockServer(reply_text=REPLY) as server:
        app = make(server, tmp_path, store=store)
        async with app.run_test(size=(120, 30)) as pilot:
            await send(pilot, "hello")
            usage = store.load(chat_screen(app).session.id).messages[-1].usage
            assert usage is not None and not usage.estimated
            assert f"total {usage.total_tokens} tok" in status_text(app)
            assert "~" not in status_text(app)


# Esc during the retry countdown, Ctrl+R while streaming


async def test_esc_during_the_retry_countdown_then_f5_and_ctrl_r(
    store: SessionStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Conversation, "retry_base", 5.0)
    async with MockServer(reply_text="at last") as server:
        app = make(server, tmp_path, store=store, model="mock-gpt+flaky-1")
        async with app.run_test(size=(120, 30), notifications=True) as pilot:
            await send(pilot, "hello", wait=False)
            await until(pilot, lambda: "retrying" in status_text(app))
            await pilot.press("escape")
            await settle(pilot)
            reply = app.query(AssistantMessage).last()
            note = note_on_screen(reply)
            assert note.startswith("Stopped before the server answered; Ctrl+R retries.")
            assert "503" in note and "F5" not in note
            await pilot.press("f5")
            await pilot.pause()
            assert "Ctrl+R" in last_toast(app) and "stopped before" in last_toast(app)
            assert len(server.requests) == 1
            monkeypatch.setattr(Conversation, "retry_base", 0.05)
            await pilot.press("ctrl+r")
            await settle(pilot)
            assert len(server.requests) == 2
            assert app.query(AssistantMessage).last().text == "at last"
            assert len(app.query(AssistantMessage)) == 1


async def test_ctrl_r_while_a_reply_streams_says_why_it_does_nothing(tmp_path: Path) -> None:
    async with MockServer(reply_text=REPLY * 5) as server:
        app = make(server, tmp_path, model="mock-gpt+stall-3")
        async with app.run_test(size=(100, 30), notifications=True) as pilot:
            await send(pilot, "hello", wait=False)
            await until(pilot, lambda: bool(streaming_text(app)))
            await pilot.press("ctrl+r")
            await pilot.pause()
            assert "still streaming" in last_toast(app) and "Ctrl+R" in last_toast(app)
            assert len(server.requests) == 1
            await pilot.press("escape")
            await settle(pilot)


# Smaller ones


async def test_many_config_problems_make_one_toast_with_line_numbers(tmp_path: Path) -> None:
    problems = tuple(
        Problem(tmp_path / "config.toml", 3 + index, f"providers.p{index}.read_timeout", "bad")
        for index in range(9)
    )
    async with MockServer(reply_text=REPLY) as server:
        app = make(server, tmp_path, problems=problems)
        async with app.run_test(size=(100, 30), notifications=True) as pilot:
            await pilot.pause()
            (toast,) = app._notifications
            assert toast.title == "config.toml: 9 problems"
            lines = toast.message.splitlines()
            assert lines[0] == "line 3: providers.p0.read_timeout: bad"
            assert lines[4] == "line 7: providers.p4.read_timeout: bad"
            assert lines[5].startswith("…and 4 more")


async def test_the_browser_stays_open_after_a_rename_and_keeps_its_filter(
    store: SessionStore, tmp_path: Path
) -> None:
    alpha, beta = two_sessions(store)
    async with MockServer(reply_text=REPLY) as server:
        app = make(server, tmp_path, store=store)
        async with app.run_test(size=(100, 30), notifications=True) as pilot:
            browser = await open_browser(pilot)
            await pilot.press(*"chat")
            await pilot.pause(0.2)
            await pilot.press("down")  # the second match
            target = highlighted(browser)
            assert target is not None
            await pilot.press("f2")
            await until(pilot, lambda: isinstance(app.screen, AskText))
            app.screen.query_one("Input").value = "Gamma chat"  # type: ignore[attr-defined]
            await pilot.press("enter")
            await until(pilot, lambda: app.screen is browser)
            await pilot.pause(0.1)
            assert browser.query_one("Input").value == "chat"  # type: ignore[attr-defined]
            assert highlighted(browser) == target
            assert target == f"id:{alpha.id}"
            assert store.load(alpha.id).title == "Gamma chat"
            assert store.load(beta.id).title == "Beta chat"


async def test_delete_from_the_browser_keeps_it_open_with_a_sensible_highlight(
    store: SessionStore, tmp_path: Path
) -> None:
    alpha, beta = two_sessions(store)
    async with MockServer(reply_text=REPLY) as server:
        app = make(server, tmp_path, store=store)
        async with app.run_test(size=(100, 30), notifications=True) as pilot:
            browser = await open_browser(pilot)
            assert highlighted(browser) == f"id:{beta.id}"  # newest first
            await pilot.press("ctrl+d")
            await until(pilot, lambda: isinstance(app.screen, Confirm))
            assert "“Beta chat”" in app.screen.question  # type: ignore[attr-defined]
            await pilot.pause(0.1)
            await pilot.press("y")
            await until(pilot, lambda: app.screen is browser)
            await pilot.pause(0.1)
            assert highlighted(browser) == f"id:{alpha.id}"
            assert [s.title for s in saved(store)] == ["Alpha chat"]
            assert any("Beta chat" in t and "trash" in t for t in toasts(app))


async def test_an_unreadable_file_listed_last_can_be_reached_at_40_rows(
    store: SessionStore, tmp_path: Path
) -> None:
    for index in range(45):
        session = Session(provider="mock", model="mock-gpt")
        session.add(Message("user", f"question {index}"))
        store.save(session)
    broken = store.root / "zz-broken.toml"
    broken.write_text("not = = toml")
    async with MockServer(reply_text=REPLY) as server:
        app = make(server, tmp_path, store=store)
        async with app.run_test(size=(100, 40), notifications=True) as pilot:
            browser = await open_browser(pilot)
            for _ in range(50):
                await pilot.press("down")
            assert highlighted(browser) == f"bad:{broken}"
            # In the list itself too, where the keys skip options that cannot be chosen.
            await pilot.press("home", "tab")
            assert app.focused is browser.query_one("OptionList")
            await pilot.press("end")
            assert highlighted(browser) == f"bad:{broken}"
            await pilot.press("enter")
            await pilot.pause()
            assert app.screen is browser, "an unreadable file does not close the browser"
            assert "zz-broken.toml cannot be opened: not valid TOML" in last_toast(app)
            await pilot.press("ctrl+d")
            await pilot.pause()
            assert isinstance(app.screen, SessionBrowser)
            assert "left alone" in last_toast(app)
    assert broken.read_text() == "not = = toml"


async def test_renaming_to_spaces_is_refused_everywhere(
    store: SessionStore, tmp_path: Path
) -> None:
    alpha, beta = two_sessions(store)
    beta_before = file_state(store.path_for(beta.id))
    async with MockServer(reply_text=REPLY) as server:
        app = make(server, tmp_path, store=store, session=store.load(alpha.id))
        async with app.run_test(size=(100, 30), notifications=True) as pilot:
            await pilot.pause()
            await pilot.press("f2")
            await until(pilot, lambda: isinstance(app.screen, AskText))
            app.screen.query_one("Input").value = "   "  # type: ignore[attr-defined]
            await pilot.press("enter")
            await pilot.pause()
            assert "Not renamed" in last_toast(app)
            assert chat_screen(app).session.title == "Alpha chat"
            assert "Alpha chat" in status_text(app)
            # And a session that is not open, from the browser.
            browser = await open_browser(pilot)
            await pilot.press(*"Beta")
            await pilot.pause(0.2)
            await pilot.press("f2")
            await until(pilot, lambda: isinstance(app.screen, AskText))
            app.screen.query_one("Input").value = " \t "  # type: ignore[attr-defined]
            await pilot.press("enter")
            await until(pilot, lambda: app.screen is browser)
            assert "Not renamed" in last_toast(app)
    assert store.load(alpha.id).title == "Alpha chat"
    assert file_state(store.path_for(beta.id)) == beta_before
