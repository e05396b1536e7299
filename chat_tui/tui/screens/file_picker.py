"""A modal list of the files under the working directory, filtered as the user types."""

from __future__ import annotations

from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.fuzzy import Matcher
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from chat_tui.attachments import list_files
from chat_tui.safe_text import neutralise
from chat_tui.tui.screens.filter_list import FilterListScreen
from chat_tui.tui.widgets.ordered_keys import OrderedInput

#: Rows shown at once: enough to scroll through, few enough to rebuild on every key.
SHOWN = 200
#: The option that attaches a path as typed (one not in the list: outside the folder, say).
AS_TYPED = "as-typed:"


class FilePicker(FilterListScreen[str | None]):
    """Dismissed with the chosen path as the user would write it (relative to ``root``
    when it is under it), or None when cancelled."""

    DEFAULT_CSS = """
    FilePicker { align: center middle; }
    FilePicker > Vertical {
        width: 80%; max-width: 100; height: 80%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    FilePicker OptionList { height: 1fr; border: none; }
    FilePicker .hint { color: $text-muted; }
    """

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root
        self.files: list[str] = []
        self._listed = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Content.styled("Attach a file", "bold"))
            yield OrderedInput(placeholder="Type to filter, or a path…", id="filter")
            yield OptionList(id="files")
            yield Label(
                Content(neutralise(f"in {self.root} · Enter attach · Esc cancel")),
                classes="hint",
            )

    def on_mount(self) -> None:
        self.query_one(Input).focus()
        self.list_folder()

    @work(thread=True, exclusive=True, group="list-files")
    def list_folder(self) -> None:
        # A thread: walking a large folder is blocking file-system work, not async I/O.
        files, cut = list_files(self.root)
        self.app.call_from_thread(self._listed_files, files, cut)

    def _listed_files(self, files: list[str], cut: bool) -> None:
        if not self.is_attached:
            return  # closed while the folder was being listed
        self.files = files
        self._listed = True
        if cut:
            self.notify(
                f"Only the first {len(files)} files are listed; type a path to attach another.",
                timeout=4,
            )
        self.filter_files(self.query_one(Input).value)

    @on(Input.Changed)
    def filter_changed(self, event: Input.Changed) -> None:
        self.filter_files(event.value)

    def filter_files(self, text: str) -> None:
        query = text.strip()
        if query:
            matcher = Matcher(query)
            scored = [(matcher.match(path), path) for path in self.files]
            ranked = sorted((pair for pair in scored if pair[0] > 0), key=lambda p: -p[0])
            shown = [path for _, path in ranked[:SHOWN]]
        else:
            shown = self.files[:SHOWN]
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options(Option(Content(neutralise(path)), id=path) for path in shown)
        if query and query not in shown:
            use = Content.assemble(
                Content.styled("Attach ", "$text-muted"),
                Content(neutralise(query)),
                Content.styled("  (a path, as typed)", "$text-muted"),
            )
            options.add_option(Option(use, id=AS_TYPED + query))
        if not self._listed and not query:
            listing = Content.styled("Listing files…", "$text-muted")
            options.add_option(Option(listing, disabled=True))
        if options.option_count:
            options.highlighted = 0

    @on(Input.Submitted)
    def choose_highlighted(self) -> None:
        chosen = self.highlighted_id()
        if chosen is not None:
            self.dismiss(chosen.removeprefix(AS_TYPED))

    @on(OptionList.OptionSelected)
    def choose(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self.dismiss(event.option.id.removeprefix(AS_TYPED))
