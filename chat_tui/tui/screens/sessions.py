"""The session browser, and the small dialogs it uses."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.fuzzy import Matcher
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList
from textual.widgets.option_list import Option

from chat_tui.safe_text import neutralise
from chat_tui.sessions import SessionStore, SessionSummary, UnreadableSession
from chat_tui.tui.screens.filter_list import FilterListScreen
from chat_tui.tui.widgets.ordered_keys import OrderedInput

BrowserResult = tuple[str, str] | None  # (action, session id or path)


class SessionFilter(OrderedInput):
    """The browser's filter box. Ctrl+D deletes the highlighted session rather than the
    character under the cursor: bound here, on the focused widget, it acts in the order keys
    arrive, where a priority binding on the screen would act before the letters typed ahead
    of it had filtered the list."""

    BINDINGS = [Binding("ctrl+d", "screen.delete", "Delete session", show=False)]


class SessionBrowser(FilterListScreen[BrowserResult]):
    """Newest first; type to filter over titles and message text; Enter opens."""

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

    def __init__(self, store: SessionStore, current_id: str) -> None:
        super().__init__()
        self.store = store
        self.current_id = current_id
        self.entries: list[SessionSummary | UnreadableSession] = []

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

    def _show(self, entries: list[SessionSummary | UnreadableSession]) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        for entry in entries:
            if isinstance(entry, SessionSummary):
                label = Content.assemble(
                    Content.styled(f"{entry.updated:%Y-%m-%d %H:%M}  ", "$text-muted"),
                    Content(neutralise(entry.title or "Untitled")),
                    Content.styled(
                        f"  {neutralise(entry.model or '')} · {entry.message_count} messages",
                        "$text-muted",
                    ),
                    Content.styled(
                        "  (open)" if entry.id == self.current_id else "", "$text-success"
                    ),
                )
                options.add_option(Option(label, id=f"id:{entry.id}"))
            else:
                label = Content.assemble(
                    Content.styled("unreadable  ", "$text-error"),
                    Content(neutralise(f"{entry.path.name}: {entry.reason}")),
                )
                options.add_option(Option(label, id=f"bad:{entry.path}", disabled=True))
        if entries:
            options.highlighted = 0

    @on(Input.Changed)
    def filter_sessions(self, event: Input.Changed) -> None:
        query = event.value.strip()
        if not query:
            self._show(self.entries)
            return
        matcher = Matcher(query)
        by_title = [
            (matcher.match(e.title), e) for e in self.entries if isinstance(e, SessionSummary)
        ]
        found = [e for score, e in sorted(by_title, key=lambda p: -p[0]) if score > 0]
        for entry in self.store.search(query):
            if all(entry.id != e.id for e in found):
                found.append(entry)
        self._show(list(found))

    def _highlighted_id(self) -> str | None:
        option_id = self.highlighted_id() or ""
        return option_id[3:] if option_id.startswith("id:") else None

    @on(Input.Submitted)
    def open_highlighted(self) -> None:
        if (session_id := self._highlighted_id()) is not None:
            self.dismiss(("open", session_id))

    @on(OptionList.OptionSelected)
    def open_selected(self, event: OptionList.OptionSelected) -> None:
        option_id = event.option.id or ""
        if option_id.startswith("id:"):
            self.dismiss(("open", option_id[3:]))

    def action_delete(self) -> None:
        session_id = self._highlighted_id()
        if session_id is None:
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.dismiss(("delete", session_id))

        self.app.push_screen(Confirm(f"Move this session to the trash?\n{session_id}"), confirmed)

    def action_rename(self) -> None:
        if (session_id := self._highlighted_id()) is not None:
            self.dismiss(("rename", session_id))


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
