"""Sessions in the app: saved as you go, reopened, browsed, renamed, deleted, exported."""

from __future__ import annotations

from pathlib import Path

import pytest

from chat_tui.backend import Backend
from chat_tui.config import ProviderConfig, Target
from chat_tui.mock_server import MockServer
from chat_tui.sessions import Message, Session, SessionStore
from chat_tui.tui.app import ChatApp
from chat_tui.tui.screens.sessions import AskText, Confirm, SessionBrowser
from chat_tui.tui.widgets.messages import AssistantMessage, MessageView, UserMessage
from tests.tui.helpers import chat_screen

REPLY = "Saved reply with `code`.\n"


def app_with_store(
    base_url: str, store: SessionStore, session: Session | None = None, model: str = "mock-gpt"
) -> ChatApp:
    provider = ProviderConfig(name="mock", base_url=base_url)
    return ChatApp(Backend(Target(provider=provider, model=model)), store=store, session=session)


async def send(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.pause()
    screen = chat_screen(pilot.app)
    screen.prompt.set_text(text)
    await pilot.press("enter")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


@pytest.fixture
def store(tmp_path: Path) -> SessionStore:
    return SessionStore(tmp_path / "sessions")


async def test_conversation_is_saved_and_reopens(store: SessionStore) -> None:
    async with MockServer(reply_text=REPLY) as server:
        app = app_with_store(server.base_url, store)
        async with app.run_test(size=(100, 30)) as pilot:
            await send(pilot, "Remember this")
            chat_screen(app).prompt.set_text("half-written")
        (session,) = [store.load(s.path) for s in store.list()]
        assert session.title == "Remember this"
        assert [m.role for m in session.messages] == ["user", "assistant"]
        assert session.messages[1].content == REPLY
        assert session.messages[1].model == "mock/mock-gpt"
        assert session.messages[1].usage is not None
        assert session.draft == "half-written"

        reopened = app_with_store(server.base_url, store, store.load(session.id))
        async with reopened.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            assert [m.text for m in reopened.query(MessageView)] == ["Remember this", REPLY]
            assert chat_screen(reopened).prompt.text == "half-written"
            await send(pilot, "And more")
            sent = server.requests[-1].body["messages"]
            assert [m["content"] for m in sent] == ["Remember this", REPLY, "And more"]


async def test_partial_reply_is_saved_while_streaming(store: SessionStore) -> None:
    async with MockServer(reply_text=REPLY * 50) as server:
        app = app_with_store(server.base_url, store, model="mock-gpt+stall-30")
        async with app.run_test(size=(100, 30)) as pilot:
            screen = chat_screen(app)
            screen.prompt.set_text("stream then stall")
            await pilot.press("enter")
            for _ in range(100):
                await pilot.pause(0.05)
                if app.query(AssistantMessage) and app.query_one(AssistantMessage).text:
                    break
            await pilot.pause(0.1)
            screen.save()  # what the 2-second autosave does
            on_disk = store.load(screen.session.id)
            assert on_disk.messages[0].content == "stream then stall"
            assert on_disk.messages[1].content and REPLY.startswith(on_disk.messages[1].content[:5])
            assert on_disk.messages[1].status == "cut_off"  # streaming, as a crash would leave it
            await pilot.press("escape")
            await app.workers.wait_for_complete()
        assert store.load(screen.session.id).messages[1].status == "stopped"


async def test_long_session_mounts_a_window_and_more_on_scroll_up(store: SessionStore) -> None:
    session = Session(title="long")
    for index in range(300):
        session.add(Message("user", f"question {index}"))
        session.add(Message("assistant", f"answer {index}\n\n- a\n- b\n"))
    store.save(session)
    async with MockServer(reply_text=REPLY) as server:
        app = app_with_store(server.base_url, store, store.load(session.id))
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            mounted = app.query(MessageView)
            assert len(mounted) == 40
            assert mounted.last().text.startswith("answer 299")
            conversation = chat_screen(app).conversation
            conversation.scroll_home(animate=False, immediate=True)
            await pilot.pause(0.3)
            assert len(app.query(MessageView)) == 80
            assert conversation.scroll_y > 0, "the view stays where the user was"


async def test_browser_opens_renames_and_deletes(store: SessionStore) -> None:
    for title in ("First chat", "Second chat about sockets"):
        session = Session()
        session.add(Message("user", title))
        session.add(Message("assistant", "reply"))
        store.save(session)
    async with MockServer(reply_text=REPLY) as server:
        app = app_with_store(server.base_url, store)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert isinstance(app.screen, SessionBrowser)
            await pilot.press(*"sockets")
            await pilot.pause(0.2)
            await pilot.press("enter")
            await pilot.pause(0.3)
            assert chat_screen(app).session.title == "Second chat about sockets"
            assert [m.text for m in app.query(UserMessage)] == ["Second chat about sockets"]

            await pilot.press("f2")
            await pilot.pause()
            assert isinstance(app.screen, AskText)
            app.screen.query_one("Input").value = "Renamed"  # type: ignore[attr-defined]
            await pilot.press("enter")
            await pilot.pause()
            titles = {s.title for s in store.list()}  # type: ignore[union-attr]
            assert "Renamed" in titles

            await pilot.press("ctrl+s")
            await pilot.pause()
            await pilot.press(*"First")
            await pilot.pause(0.2)
            await pilot.press("ctrl+d")
            await pilot.pause()
            assert isinstance(app.screen, Confirm)
            await pilot.press("y")
            await pilot.pause(0.3)
            assert {s.title for s in store.list()} == {"Renamed"}  # type: ignore[union-attr]
            assert len(list((store.root / "trash").iterdir())) == 1


async def test_unreadable_file_is_listed_and_left_alone(store: SessionStore) -> None:
    store.root.mkdir(parents=True)
    broken = store.root / "broken.toml"
    broken.write_text("not = = toml")
    async with MockServer(reply_text=REPLY) as server:
        app = app_with_store(server.base_url, store)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("ctrl+s")
            await pilot.pause()
            options = app.screen.query_one("OptionList")
            assert options.option_count == 1  # type: ignore[attr-defined]
            prompt = str(options.get_option_at_index(0).prompt)  # type: ignore[attr-defined]
            assert "unreadable" in prompt and "broken.toml" in prompt
    assert broken.read_text() == "not = = toml"


async def test_export_to_markdown(store: SessionStore, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CHAT_TUI_DATA_DIR", str(tmp_path / "data"))
    async with MockServer(reply_text=REPLY) as server:
        app = app_with_store(server.base_url, store)
        async with app.run_test(size=(100, 30)) as pilot:
            await send(pilot, "Export me")
            await app.run_action("export")
            await app.workers.wait_for_complete()
            (exported,) = (tmp_path / "data" / "exports").iterdir()
            assert exported.read_text().startswith("# Export me")


async def test_typing_into_a_reopened_draft_continues_it(store: SessionStore) -> None:
    """The draft a session is reopened with is shown with the cursor at its end, so what
    is typed next follows it (it went in front of the draft)."""
    session = Session(title="drafted")
    session.add(Message("user", "first"))
    session.add(Message("assistant", "reply"))
    session.draft = "line one\nline two"
    store.save(session)
    async with MockServer(reply_text=REPLY) as server:
        app = app_with_store(server.base_url, store, store.load(session.id))
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            prompt = chat_screen(app).prompt
            assert prompt.text == "line one\nline two"
            await pilot.press(*" and three")
            assert prompt.text == "line one\nline two and three"
