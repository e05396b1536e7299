"""A modal list of every model of every provider, filtered as the user types."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
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
    ModelPicker .hint { color: $text-muted; }
    """

    BINDINGS = [Binding("ctrl+r", "refresh", "Refresh")]

    def __init__(
        self,
        catalog: Catalog,
        current: str,
        refresh: Callable[[], Awaitable[Catalog]] | None = None,
    ) -> None:
        super().__init__()
        self.catalog = catalog
        self.current = current
        self._refresh = refresh

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Content.styled("Switch model", "bold"))
            yield OrderedInput(placeholder="Type to filter models…", id="filter")
            yield OptionList(id="models")
            yield Label(
                "Enter switch · Ctrl+R ask the providers again · Esc close", classes="hint"
            )

    def on_mount(self) -> None:
        self._show_catalog()
        self.query_one(Input).focus()

    def _entries(self) -> list[ModelEntry]:
        """The catalog's models, with the current one even if its provider does not list it
        (a model named with --model, say), and a row for each unusable provider that has no
        known model, so that its reason is shown too."""
        entries = list(self.catalog.entries)
        refs = {entry.ref for entry in entries}
        provider, _, model = self.current.partition("/")
        if self.current not in refs and model and model != "…":
            entries.insert(0, ModelEntry(provider, model))
        listed = {entry.provider for entry in entries}
        for status in self.catalog.providers:
            if not status.available and status.provider not in listed:
                unusable = ModelEntry(status.provider, "", available=False, reason=status.reason)
                entries.append(unusable)
        return entries

    def _show_catalog(self) -> None:
        self.filter_models(self.query_one(Input).value)

    @work(exclusive=True, group="refresh")
    async def action_refresh(self) -> None:
        if self._refresh is None:
            return
        self.notify("Asking every provider for its models…", timeout=2)
        self.catalog = await self._refresh()
        self._show_catalog()

    def _label(self, entry: ModelEntry) -> Content:
        if not entry.available:
            # Shown so the user sees the model and why it cannot be used, never chosen.
            name = f"{entry.model}  {entry.provider}" if entry.model else entry.provider
            return Content.styled(
                neutralise(f"{name}  unavailable: {entry.reason}"), "$text-disabled"
            )
        marks = ("★ " if entry.favourite else "") + ("· recent " if entry.recent else "")
        return Content.assemble(
            Content(neutralise(entry.model)),
            Content.styled(f"  {entry.provider}", "$text-muted"),
            Content.styled(f"  {marks}" if marks else "", "$text-accent"),
            Content.styled("  (current)" if entry.ref == self.current else "", "$text-success"),
        )

    def _show(self, entries: list[ModelEntry], typed: str = "") -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        for entry in entries:
            option_id = entry.ref if entry.model else f"provider:{entry.provider}"
            options.add_option(
                Option(self._label(entry), id=option_id, disabled=not entry.available)
            )
        refs = [entry.ref for entry in entries]
        free_form = typed and not any(c.isspace() for c in typed)  # names hold no spaces
        if free_form and typed not in refs and not any(e.model == typed for e in entries):
            # Any model name the server knows, even one it does not list.
            ref = typed if "/" in typed else f"{self.current.partition('/')[0]}/{typed}"
            use = Content.assemble(
                Content.styled("Use ", "$text-muted"),
                Content(neutralise(ref)),
                Content.styled("  (a model name, as typed)", "$text-muted"),
            )
            options.add_option(Option(use, id=ref))
            refs.append(ref)
        if self.current in refs and not typed:
            options.highlighted = refs.index(self.current)
        elif options.option_count:
            # The first usable row; on a list of unusable ones, the first (Enter says why).
            usable = [i for i, option in enumerate(options.options) if not option.disabled]
            options.highlighted = usable[0] if usable else 0

    @on(Input.Changed)
    def filter_changed(self, event: Input.Changed) -> None:
        self.filter_models(event.value)

    def filter_models(self, text: str) -> None:
        query = text.strip()
        entries = self._entries()
        if not query:
            self._show(entries)
            return
        matcher = Matcher(query)
        scored = [(matcher.match(f"{entry.ref} {entry.reason}"), entry) for entry in entries]
        ranked = sorted(
            (pair for pair in scored if pair[0] > 0), key=lambda pair: pair[0], reverse=True
        )
        self._show([entry for _, entry in ranked], query)

    @on(Input.Submitted)
    def choose_highlighted(self) -> None:
        options = self.query_one(OptionList)
        index = options.highlighted
        if index is None:
            return
        option = options.get_option_at_index(index)
        if not option.disabled:
            self.dismiss(option.id)
            return
        self.notify(
            f"Not available now: {neutralise(str(option.prompt))}", severity="warning", timeout=6
        )

    @on(OptionList.OptionSelected)
    def choose(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
