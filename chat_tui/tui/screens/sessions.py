"""The session browser, and the small dialogs it uses."""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path
from typing import Protocol

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.fuzzy import Matcher
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList
from textual.widgets.option_list import Option, OptionDoesNotExist

from chat_tui.errors import ChatTuiError
from chat_tui.safe_text import neutralise
from chat_tui.sessions import SessionStore, SessionSummary, UnreadableSession
from chat_tui.tui.screens.filter_list import FilterListScreen
from chat_tui.tui.widgets.ordered_keys import OrderedInput

BrowserResult = tuple[str, str] | None  # ("open", session id)


class SessionActions(Protocol):
    """What the browser asks of the screen that holds the open session: deleting or
    renaming the open one is not a matter of files alone."""

    @property
    def open_session_id(self) -> str: ...

    async def delete_session(self, session_id: str) -> Path: ...

    def rename_session(self, session_id: str, title: str) -> str: ...


class SessionFilter(OrderedInput):
    """The browser's filter box. Ctrl+D deletes the highlighted session rather than the
    character under the cursor: bound here, on the focused widget, it acts in the order keys
    arrive, where a priority binding on the screen would act before the letters typed ahead
    of it had filtered the list."""

    BINDINGS = [Binding("ctrl+d", "screen.delete", "Delete session", show=False)]


class SessionBrowser(FilterListScreen[BrowserResult]):
    """Newest first; type to filter over titles and message text; Enter opens. Deleting
    and renaming happen here, and the list stays open, refreshed."""

    BINDINGS = [
        Binding("ctrl+d", "delete", "Delete"),
        Binding("f2", "rename", "Rename"),
    ]

    DEFAULT_CSS = """
    SessionBrowser { align: center middle; }
    SessionBrowser > Vertical {
        width: 90%; max-width: 120; height: 85%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    SessionBrowser OptionList { height: 1fr; border: none; }
    SessionBrowser .hint { color: $text-muted; }
    """

    #: The filter box's text when a session was opened from the list.
    searched = ""

    def __init__(self, store: SessionStore, actions: SessionActions) -> None:
        super().__init__()
        self.store = store
        self.actions = actions
        self.entries: list[SessionSummary | UnreadableSession] = []
        #: What the list shows now (all entries, or those matching the filter).
        self.shown: list[SessionSummary | UnreadableSession] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Content.styled("Sessions", "bold"))
            yield SessionFilter(placeholder="Type to search titles and messages…", id="filter")
            yield OptionList(id="sessions")
            yield Label(
                "Enter open · Ctrl+D delete (to trash) · F2 rename · Esc close", classes="hint"
            )

    def on_mount(self) -> None:
        self.entries = self.store.list()
        self._show(self.entries)
        self.query_one(Input).focus()

    def _show(
        self, entries: list[SessionSummary | UnreadableSession], highlight: str | int = 0
    ) -> None:
        """Fill the list; highlight the entry with option id ``highlight``, or the one at
        that index (kept in range)."""
        self.shown = entries
        options = self.query_one(OptionList)
        options.clear_options()
        current_id = self.actions.open_session_id
        for entry in entries:
            if isinstance(entry, SessionSummary):
                label = Content.assemble(
                    Content.styled(f"{entry.updated:%Y-%m-%d %H:%M}  ", "$text-muted"),
                    Content(neutralise(entry.title or "Untitled")),
                    Content.styled(
                        f"  {neutralise(entry.model or '')} · {entry.message_count} messages",
                        "$text-muted",
                    ),
                    Content.styled("  (open)" if entry.id == current_id else "", "$text-success"),
                )
                options.add_option(Option(label, id=f"id:{entry.id}"))
            else:
                # Not disabled: a disabled option cannot be reached with the keys, and the
                # user should be able to get to it and be told why it does not open.
                label = Content.assemble(
                    Content.styled("unreadable  ", "$text-error"),
                    Content(neutralise(f"{entry.path.name}: {entry.reason}")),
                )
                options.add_option(Option(label, id=f"bad:{entry.path}"))
        if not entries:
            return
        index = highlight if isinstance(highlight, int) else 0
        if isinstance(highlight, str):
            with suppress(OptionDoesNotExist):
                index = options.get_option_index(highlight)
        options.highlighted = max(0, min(len(entries) - 1, index))

    @on(Input.Changed)
    def filter_sessions(self) -> None:
        self._show(self._matching())

    def _matching(self) -> list[SessionSummary | UnreadableSession]:
        """The entries that match the filter box, best title matches first."""
        query = self.query_one(Input).value.strip()
        if not query:
            return self.entries
        matcher = Matcher(query)
        by_title = [
            (matcher.match(e.title), e) for e in self.entries if isinstance(e, SessionSummary)
        ]
        found = [e for score, e in sorted(by_title, key=lambda p: -p[0]) if score > 0]
        for entry in self.store.search(query):
            if all(entry.id != e.id for e in found):
                found.append(entry)
        return list(found)

    def _reload(self, highlight: str | int) -> None:
        """Read the folder again and show it through the same filter."""
        self.entries = self.store.list()
        self._show(self._matching(), highlight)

    def _highlighted(self) -> SessionSummary | UnreadableSession | None:
        options = self.query_one(OptionList)
        index = options.highlighted
        if index is None or not 0 <= index < len(self.shown):
            return None
        return self.shown[index]

    def _open(self, entry: SessionSummary | UnreadableSession | None) -> None:
        if isinstance(entry, SessionSummary):
            # What was searched for, so that the session opens on the branch holding it.
            self.searched = self.query_one(Input).value.strip()
            self.dismiss(("open", entry.id))
        elif isinstance(entry, UnreadableSession):
            self.notify(
                neutralise(f"{entry.path.name} cannot be opened: {entry.reason}"),
                title="Unreadable session",
                severity="warning",
                timeout=8,
            )

    @on(Input.Submitted)
    def open_highlighted(self) -> None:
        self._open(self._highlighted())

    @on(OptionList.OptionSelected)
    def open_selected(self, event: OptionList.OptionSelected) -> None:
        if 0 <= event.option_index < len(self.shown):
            self._open(self.shown[event.option_index])

    def _refuse_unreadable(self, entry: UnreadableSession, what: str) -> None:
        self.notify(
            neutralise(
                f"{entry.path.name} is unreadable ({entry.reason}), so it is left alone: "
                f"chat-tui does not {what} a file it cannot read."
            ),
            severity="warning",
            timeout=8,
        )

    @work(exclusive=True, group="browser", exit_on_error=False)
    async def action_delete(self) -> None:
        entry = self._highlighted()
        if isinstance(entry, UnreadableSession):
            self._refuse_unreadable(entry, "move")
            return
        if entry is None:
            return
        index = self.query_one(OptionList).highlighted or 0
        title = entry.title or "Untitled"
        if not await self.app.push_screen_wait(
            Confirm(f"Move the session “{title}” to the trash?")
        ):
            return
        try:
            moved = await self.actions.delete_session(entry.id)
        except (ChatTuiError, OSError) as error:
            self.notify(neutralise(str(error)), severity="error", timeout=8, markup=False)
            return
        self.notify(neutralise(f"Moved “{title}” to the trash: {moved}"), timeout=5, markup=False)
        self._reload(index)

    @work(exclusive=True, group="browser", exit_on_error=False)
    async def action_rename(self) -> None:
        entry = self._highlighted()
        if isinstance(entry, UnreadableSession):
            self._refuse_unreadable(entry, "rename")
            return
        if entry is None:
            return
        title = await self.app.push_screen_wait(AskText("New title for this session:", entry.title))
        if title is None:
            return
        try:
            new_title = self.actions.rename_session(entry.id, title)
        except (ChatTuiError, OSError) as error:
            self.notify(neutralise(str(error)), severity="error", timeout=6, markup=False)
            return
        self.notify(neutralise(f"Renamed to {new_title}"), timeout=2, markup=False)
        self._reload(f"id:{entry.id}")


class Confirm(ModalScreen[bool]):
    """Yes or no."""

    BINDINGS = [Binding("escape", "dismiss(False)", "No"), Binding("y", "dismiss(True)", "Yes")]
    DEFAULT_CSS = """
    Confirm { align: center middle; }
    Confirm > Vertical {
        width: 60; height: auto; border: round $warning; background: $surface; padding: 1 2;
    }
    Confirm Horizontal { height: auto; margin-top: 1; }
    Confirm Button { margin-right: 2; }
    """

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Content(neutralise(self.question)))
            with Horizontal():
                yield Button("Yes (y)", variant="warning", id="yes")
                yield Button("No (Esc)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed)
    def answer(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class AskText(ModalScreen[str | None]):
    """One line of text, e.g. a new title."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]
    DEFAULT_CSS = """
    AskText { align: center middle; }
    AskText > Vertical {
        width: 70; height: auto; border: round $accent; background: $surface; padding: 1 2;
    }
    """

    def __init__(self, question: str, value: str = "") -> None:
        super().__init__()
        self.question = question
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.question)
            yield OrderedInput(value=self.value, id="answer")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def submit(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)
