"""A modal list of every model of every provider, filtered as the user types."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.fuzzy import Matcher
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from chat_tui.catalog import Catalog, ModelEntry
from chat_tui.safe_text import neutralise
from chat_tui.tui.screens.filter_list import FilterListScreen
from chat_tui.tui.widgets.ordered_keys import OrderedInput


class ModelPicker(FilterListScreen[str | None]):
    """Dismissed with the chosen ``provider/model``, or None when cancelled."""

    DEFAULT_CSS = """
    ModelPicker { align: center middle; }
    ModelPicker > Vertical {
        width: 80%; max-width: 100; height: 80%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    ModelPicker OptionList { height: 1fr; border: none; }
    ModelPicker .unavailable { color: $text-muted; height: auto; max-height: 6; }
    """

    def __init__(self, catalog: Catalog, current: str) -> None:
        super().__init__()
        self.catalog = catalog
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Content.styled("Switch model", "bold"))
            yield OrderedInput(placeholder="Type to filter models…", id="filter")
            yield OptionList(id="models")
            problems = [s for s in self.catalog.providers if not s.available]
            if problems:
                lines = [f"{s.provider}: unavailable ({s.reason})" for s in problems]
                yield Label(Content(neutralise("\n".join(lines))), classes="unavailable")

    def on_mount(self) -> None:
        self._show(self.catalog.entries)
        self.query_one(Input).focus()

    def _show(self, entries: tuple[ModelEntry, ...] | list[ModelEntry]) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        for entry in entries:
            marks = ("★ " if entry.favourite else "") + ("· recent " if entry.recent else "")
            label = Content.assemble(
                Content(neutralise(entry.model)),
                Content.styled(f"  {entry.provider}", "$text-muted"),
                Content.styled(f"  {marks}" if marks else "", "$text-accent"),
                Content.styled("  (current)" if entry.ref == self.current else "", "$text-success"),
            )
            options.add_option(Option(label, id=entry.ref))
        if entries:
            options.highlighted = 0

    @on(Input.Changed)
    def filter_models(self, event: Input.Changed) -> None:
        query = event.value.strip()
        if not query:
            self._show(self.catalog.entries)
            return
        matcher = Matcher(query)
        scored = [(matcher.match(entry.ref), entry) for entry in self.catalog.entries]
        ranked = sorted(
            (pair for pair in scored if pair[0] > 0), key=lambda pair: pair[0], reverse=True
        )
        self._show([entry for _, entry in ranked])

    @on(Input.Submitted)
    def choose_highlighted(self) -> None:
        if (ref := self.highlighted_id()) is not None:
            self.dismiss(ref)

    @on(OptionList.OptionSelected)
    def choose(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
