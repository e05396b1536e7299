"""The shared shape of the pickers: a filter box over a list, driven from the keyboard."""

from __future__ import annotations

from typing import TypeVar

from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import OptionList

ResultType = TypeVar("ResultType")


class FilterListScreen(ModalScreen[ResultType]):
    """Up and Down move through the list while focus stays in the filter box; Esc cancels.

    Up and Down are not priority bindings: the filter box does not use them, so they reach
    the screen after the characters typed before them have filtered the list.
    """

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel"),
        Binding("down", "cursor(1)", show=False),
        Binding("up", "cursor(-1)", show=False),
    ]

    def action_cursor(self, step: int) -> None:
        options = self.query_one(OptionList)
        if options.option_count:
            current = options.highlighted or 0
            options.highlighted = max(0, min(options.option_count - 1, current + step))

    def highlighted_id(self) -> str | None:
        """The id of the highlighted option, if any."""
        options = self.query_one(OptionList)
        if options.highlighted is None:
            return None
        return options.get_option_at_index(options.highlighted).id
