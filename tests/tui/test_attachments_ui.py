"""Attaching files in the app: the picker, the pending row, what the server receives, the
compact line in the conversation, and the same after reopening the session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.command import CommandPalette
from textual.widgets import Collapsible, Static
from textual.widgets._collapsible import CollapsibleTitle

from chat_tui.backend import Backend
from chat_tui.config import AppSettings, Config, ProviderConfig, Target
from chat_tui.config.model import ModelSettings
from chat_tui.mock_server import MockServer
from chat_tui.sessions import AttachedFile, Session, SessionStore
from chat_tui.tui.app import ChatApp
from chat_tui.tui.screens.file_picker import FilePicker
from chat_tui.tui.screens.too_long import TooLong
from chat_tui.tui.widgets.messages import UserMessage
from chat_tui.tui.widgets.pending_attachments import AttachmentChip, PendingAttachments
from chat_tui.tui.widgets.status_bar import StatusBar
from tests.tui.helpers import chat_screen

NOTES = "# Notes\n\n```py\nprint(1)\n```\n"


def make(
    server: MockServer,
    store: SessionStore,
    session: Session | None = None,
    *,
    max_kb: int = 1024,
) -> ChatApp:
    provider = ProviderConfig(name="mock", base_url=server.base_url)
    config = Config(app=AppSettings(max_attachment_kb=max_kb))
    backend = Backend(Target(provider=provider, model="mock-gpt"))
    return ChatApp(backend, config=config, store=store, session=session)


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The working directory the picker lists: two text files, a binary one, a subfolder."""
    work = tmp_path / "work"
    (work / "src").mkdir(parents=True)
    (work / "notes.md").write_text(NOTES)
    (work / "src" / "app.py").write_text("def f():\n    return 1\n")
    (work / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    (work / "big.log").write_text("x" * 3000)
    monkeypatch.chdir(work)
    return work


@pytest.fixture
def store(tmp_path: Path) -> SessionStore:
    return SessionStore(tmp_path / "sessions")


async def until(pilot: Any, condition: Any, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError("condition never held")


async def pick(pilot: Any, typed: str, down: int = 0) -> None:
    """Ctrl+F, type a filter, Down ``down`` times, Enter: the picker closes with that row."""
    await pilot.press("ctrl+f")
    await until(pilot, lambda: isinstance(pilot.app.screen, FilePicker))
    picker = pilot.app.screen
    await until(pilot, lambda: picker._listed)
    await pilot.press(*typed)
    await pilot.pause()
    await pilot.press(*["down"] * down, "enter")
    await until(pilot, lambda: not isinstance(pilot.app.screen, FilePicker))
    await pilot.pause()


def pending(app: ChatApp) -> list[str]:
    return [a.name for a in app.query_one(PendingAttachments).attachments]


def toasts(app: ChatApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def send(pilot: Any, text: str) -> None:
    chat_screen(pilot.app).prompt.set_text(text)
    await pilot.press("enter")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def shown_lines(message: UserMessage) -> list[str]:
    """The compact line of each attachment, as its collapsible's title shows it."""
    return [str(title.label) for title in message.query(CollapsibleTitle)]


async def test_attach_send_show_expand_and_reopen(folder: Path, store: SessionStore) -> None:
    async with MockServer(reply_text="Noted.\n") as server:
        app = make(server, store)
        async with app.run_test(size=(100, 30), notifications=True) as pilot:
            await pilot.pause()
            await pick(pilot, "notes")
            assert pending(app) == ["notes.md"]
            chip = app.query_one(AttachmentChip)
            assert "📎 notes.md, 28 B ✕" in str(chip.label)
            assert app.focused is chat_screen(app).prompt
            await send(pilot, "Summarise this")

            sent = server.requests[-1].body["messages"][-1]["content"]
            assert sent == f"Summarise this\n\n````notes.md\n{NOTES}````"
            assert pending(app) == []
            assert not app.query_one(PendingAttachments).display

            (message,) = app.query(UserMessage)
            assert str(message.query_one(".body", Static).render()) == "Summarise this"
            assert shown_lines(message) == ["📎 notes.md, 28 B"]
            (fold,) = message.query(Collapsible)
            assert fold.collapsed
            message.focus()
            await pilot.press("enter")
            await pilot.pause()
            assert not fold.collapsed
            shown = str(fold.query_one(".attachment-text", Static).render())
            assert shown == NOTES.removesuffix("\n")
            await pilot.press("enter")
            await pilot.pause()
            assert fold.collapsed
            session_id = chat_screen(app).session.id

        saved = store.load(session_id)
        assert saved.messages[0].content == sent
        assert saved.messages[0].attachments == [AttachedFile("notes.md", 28)]
        assert saved.title == "Summarise this"

        reopened = make(server, store, store.load(session_id))
        async with reopened.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            (message,) = reopened.query(UserMessage)
            assert shown_lines(message) == ["📎 notes.md, 28 B"]
            assert message.text == sent  # what is copied is what was sent
            # Up recalls what was typed, not the file's text.
            await pilot.press("up")
            assert chat_screen(reopened).prompt.text == "Summarise this"


async def test_clicking_the_compact_line_expands_it(folder: Path, store: SessionStore) -> None:
    async with MockServer(reply_text="ok\n") as server:
        app = make(server, store)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            await pick(pilot, "app.py")
            await send(pilot, "review")
            sent = server.requests[-1].body["messages"][-1]["content"]
            assert sent == "review\n\n```src/app.py\ndef f():\n    return 1\n```"
            fold = app.query_one(UserMessage).query_one(Collapsible)
            await pilot.click(fold.query_one("CollapsibleTitle"))
            await pilot.pause()
            assert not fold.collapsed


async def test_files_alone_can_be_sent(folder: Path, store: SessionStore) -> None:
    async with MockServer(reply_text="ok\n") as server:
        app = make(server, store)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            await pick(pilot, "notes")
            await pick(pilot, "app.py")
            assert pending(app) == ["notes.md", "src/app.py"]
            await pilot.press("enter")
            await app.workers.wait_for_complete()
            await pilot.pause()
            sent = server.requests[-1].body["messages"][-1]["content"]
            assert sent == (
                f"````notes.md\n{NOTES}````\n\n```src/app.py\ndef f():\n    return 1\n```"
            )
            message = app.query_one(UserMessage)
            assert not message.query(".body")
            assert shown_lines(message) == ["📎 notes.md, 28 B", "📎 src/app.py, 22 B"]


async def test_a_pending_file_can_be_taken_off(folder: Path, store: SessionStore) -> None:
    async with MockServer(reply_text="ok\n") as server:
        app = make(server, store)
        async with app.run_test(size=(100, 30), notifications=True) as pilot:
            await pilot.pause()
            await pick(pilot, "notes")
            await pick(pilot, "app.py")
            await pilot.press("shift+tab")  # from the box to the nearest chip, the last
            assert app.focused is app.query(AttachmentChip).last()
            await pilot.press("enter")
            await pilot.pause()
            assert pending(app) == ["notes.md"]
            assert "Not sending src/app.py." in toasts(app)
            assert app.focused is app.query_one(AttachmentChip)
            await pilot.press("escape")  # back to the box
            assert app.focused is chat_screen(app).prompt
            await send(pilot, "only the notes")
            sent = server.requests[-1].body["messages"][-1]["content"]
            assert sent == f"only the notes\n\n````notes.md\n{NOTES}````"


@pytest.mark.parametrize(
    ("typed", "down", "words"),
    [
        ("logo", 0, "logo.png looks like a binary file (a NUL byte at offset 8)"),
        ("missing.txt", 0, "missing.txt: no such file."),
        # The second row: "Attach src (a path, as typed)", below src/app.py.
        ("src", 1, "src is a folder; only files can be attached."),
        ("big.log", 0, "big.log is 2.9 KB, more than the 1.0 KB limit for attached files"),
    ],
)
async def test_files_that_cannot_go_are_refused_in_words(
    folder: Path, store: SessionStore, typed: str, down: int, words: str
) -> None:
    async with MockServer(reply_text="ok\n") as server:
        app = make(server, store, max_kb=1)
        async with app.run_test(size=(100, 30), notifications=True) as pilot:
            await pilot.pause()
            await pick(pilot, typed, down)
            assert pending(app) == []
            assert any(words in toast for toast in toasts(app)), toasts(app)
            # Shown as written: "[app]" in the words is not markup to be eaten.
            assert all(not n.markup for n in app._notifications if words in str(n.message))
            await send(pilot, "hi")
            assert server.requests[-1].body["messages"][-1]["content"] == "hi"


async def test_a_path_outside_the_folder_can_be_typed(
    folder: Path, store: SessionStore, tmp_path: Path
) -> None:
    (tmp_path / "elsewhere.txt").write_text("far away")
    async with MockServer(reply_text="ok\n") as server:
        app = make(server, store)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            await pick(pilot, "../elsewhere.txt")
            assert pending(app) == ["../elsewhere.txt"]


async def test_escape_cancels_the_picker(folder: Path, store: SessionStore) -> None:
    async with MockServer(reply_text="ok\n") as server:
        app = make(server, store)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            await pilot.press("ctrl+f")
            await until(pilot, lambda: isinstance(app.screen, FilePicker))
            await pilot.press(*"notes", "escape")
            await until(pilot, lambda: not isinstance(app.screen, FilePicker))
            assert pending(app) == []
            assert app.focused is chat_screen(app).prompt


async def test_attach_file_is_in_the_command_palette(folder: Path, store: SessionStore) -> None:
    async with MockServer(reply_text="ok\n") as server:
        app = make(server, store)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            await pilot.press("ctrl+p")
            await until(pilot, lambda: isinstance(app.screen, CommandPalette))
            await pilot.press(*"Attach file")
            await pilot.pause(0.5)
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, FilePicker))


async def test_the_attached_text_is_never_markup(folder: Path, store: SessionStore) -> None:
    (folder / "[b]odd.txt").write_text("[bold]not bold[/bold] \x1b[31mred\n")
    async with MockServer(reply_text="ok\n") as server:
        app = make(server, store)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            await pick(pilot, "odd")
            assert pending(app) == ["[b]odd.txt"]
            assert "📎 [b]odd.txt, 31 B ✕" in str(app.query_one(AttachmentChip).label)
            await send(pilot, "what is this")
            message = app.query_one(UserMessage)
            assert shown_lines(message) == ["📎 [b]odd.txt, 31 B"]
            fold = message.query_one(Collapsible)
            fold.collapsed = False
            await pilot.pause()
            shown = str(fold.query_one(".attachment-text", Static).render())
            assert shown == "[bold]not bold[/bold] \u241b[31mred"


async def test_at_paths_complete_with_tab_and_go_with_the_prompt(
    folder: Path, store: SessionStore
) -> None:
    async with MockServer(reply_text="ok\n") as server:
        app = make(server, store)
        async with app.run_test(size=(100, 30), notifications=True) as pilot:
            await pilot.pause()
            prompt = chat_screen(app).prompt
            await pilot.press(*"fix @s", "tab", "tab", *" using @no", "tab")
            await pilot.pause()
            assert prompt.text == "fix @src/app.py using @notes.md"
            assert app.focused is prompt  # Tab completed; it did not move the focus
            await pilot.press("enter")
            await app.workers.wait_for_complete()
            await pilot.pause()
            sent = server.requests[-1].body["messages"][-1]["content"]
            assert sent == (
                "fix @src/app.py using @notes.md\n\n"
                "```src/app.py\ndef f():\n    return 1\n```\n\n"
                f"````notes.md\n{NOTES}````"
            )
            message = app.query_one(UserMessage)
            assert shown_lines(message) == ["📎 src/app.py, 22 B", "📎 notes.md, 28 B"]
            # Tab anywhere else still moves the focus.
            await pilot.press(*"plain", "tab")
            assert app.focused is not prompt


async def test_an_at_word_naming_no_file_is_just_text(folder: Path, store: SessionStore) -> None:
    async with MockServer(reply_text="ok\n") as server:
        app = make(server, store)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            await send(pilot, "ping @channel and me@notes.md")
            sent = server.requests[-1].body["messages"][-1]["content"]
            assert sent == "ping @channel and me@notes.md"


async def test_an_at_file_that_cannot_go_keeps_the_prompt(
    folder: Path, store: SessionStore
) -> None:
    async with MockServer(reply_text="ok\n") as server:
        app = make(server, store)
        async with app.run_test(size=(100, 30), notifications=True) as pilot:
            await pilot.pause()
            await send(pilot, "what is @logo.png")
            assert server.requests == []
            assert chat_screen(app).prompt.text == "what is @logo.png"
            assert any("logo.png looks like a binary file" in toast for toast in toasts(app))
            assert not app.query(UserMessage)


async def test_the_key_is_in_the_help_panel(folder: Path, store: SessionStore) -> None:
    async with MockServer(reply_text="ok\n") as server:
        app = make(server, store)
        async with app.run_test(size=(120, 80)) as pilot:
            await pilot.pause()
            assert "Attach" not in app.export_screenshot()
            await pilot.press("f1")
            await pilot.pause(0.3)
            assert "Attach" in app.export_screenshot()


async def test_closing_the_picker_while_it_lists_is_harmless(
    folder: Path, store: SessionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from chat_tui.tui.screens import file_picker

    release = threading.Event()
    real = file_picker.list_files

    def slow(root: Path, **options: Any) -> tuple[list[str], bool]:
        release.wait(10)  # a big folder: still listing when the picker closes
        return real(root, **options)

    monkeypatch.setattr(file_picker, "list_files", slow)
    async with MockServer(reply_text="ok\n") as server:
        app = make(server, store)
        async with app.run_test(size=(100, 30), notifications=True) as pilot:
            await pilot.pause()
            await pilot.press("ctrl+f")
            await until(pilot, lambda: isinstance(app.screen, FilePicker))
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, FilePicker))
            release.set()
            await app.workers.wait_for_complete()
            await pilot.pause(0.2)
            assert toasts(app) == []
            await send(pilot, "still fine")
            assert server.requests[-1].body["messages"][-1]["content"] == "still fine"


async def test_an_edited_prompt_keeps_its_files(folder: Path, store: SessionStore) -> None:
    async with MockServer(reply_text="Noted.\n") as server:
        app = make(server, store)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            await pick(pilot, "notes")
            await send(pilot, "Summarise this @notes.md")
            assert server.requests[-1].body["messages"][-1]["content"] == (
                f"Summarise this @notes.md\n\n````notes.md\n{NOTES}````"
            )
            await pick(pilot, "app")  # waiting for the next prompt
            assert pending(app) == ["src/app.py"]
            screen = chat_screen(app)
            (message,) = app.query(UserMessage)
            message.focus()
            await pilot.press("e")
            await pilot.pause()
            # The typed text to edit, and the prompt's own files pending beside it.
            assert screen.prompt.text == "Summarise this @notes.md"
            assert pending(app) == ["notes.md"]
            await pilot.press("escape")
            await pilot.pause()
            assert pending(app) == ["src/app.py"]  # cancelled: as it was

            message.focus()
            await pilot.press("e")
            await pilot.pause()
            screen.prompt.set_text("Shorten this @notes.md")
            await pilot.press("enter")
            await app.workers.wait_for_complete()
            await pilot.pause()
            sent = server.requests[-1].body["messages"][-1]["content"]
            # Sent once, byte for byte as before, though @notes.md names it again.
            assert sent == f"Shorten this @notes.md\n\n````notes.md\n{NOTES}````"
            edited = screen.session.messages[0]
            assert edited.attachments == [AttachedFile("notes.md", 28)]
            (shown,) = [m for m in app.query(UserMessage) if m.display]
            assert shown_lines(shown) == ["📎 notes.md, 28 B"]
            assert pending(app) == ["src/app.py"]  # still waiting for the next prompt


def make_with_window(server: MockServer, store: SessionStore, context: int) -> ChatApp:
    provider = ProviderConfig(
        name="mock",
        base_url=server.base_url,
        model_settings={"mock-gpt": ModelSettings(context=context)},
    )
    return ChatApp(Backend(Target(provider=provider, model="mock-gpt")), store=store)


async def test_pending_files_count_and_too_much_for_here_is_a_question(
    folder: Path, store: SessionStore
) -> None:
    async with MockServer(reply_tokens=10) as server:
        app = make_with_window(server, store, 1000)
        async with app.run_test(size=(100, 30), notifications=True) as pilot:
            await pilot.pause()
            screen = chat_screen(app)
            status = app.query_one(StatusBar)
            await until(pilot, lambda: status.context_window == 1000)
            await send(pilot, "q" * 2000)  # about 500 tokens
            before = status.context_tokens or 0
            await pick(pilot, "big.log")  # 3,000 characters: about 750 tokens
            # The meter counts what goes with the next prompt, files included.
            assert status.context_tokens == before + 750 and status.context_estimated
            requests = len(server.requests)
            screen.prompt.set_text("hi")
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, TooLong))
            assert app.screen.query_one("#new").display  # a new conversation holds it
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, TooLong))
            assert screen.prompt.text == "hi" and pending(app) == ["big.log"]
            assert len(server.requests) == requests


async def test_files_too_big_for_any_conversation_are_refused(
    folder: Path, store: SessionStore
) -> None:
    async with MockServer(reply_tokens=10) as server:
        app = make_with_window(server, store, 500)
        async with app.run_test(size=(100, 30), notifications=True) as pilot:
            await pilot.pause()
            status = app.query_one(StatusBar)
            await until(pilot, lambda: status.context_window == 500)
            await pick(pilot, "big.log")
            chat_screen(app).prompt.set_text("hi")
            await pilot.press("enter")
            await pilot.pause()
            assert not isinstance(app.screen, TooLong)
            assert any(
                "more than the model's whole context window leaves a prompt" in toast
                for toast in toasts(app)
            ), toasts(app)
            assert server.requests == [] and chat_screen(app).prompt.text == "hi"
