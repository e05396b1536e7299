"""The multi-line prompt box."""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import TextArea


class PromptInput(TextArea):
    """Enter sends; Shift+Enter, Ctrl+J or Alt+Enter type a newline.

    Up in an empty box (or while browsing history) recalls earlier prompts; Down goes back.
    Many terminals report Shift+Enter as plain Enter, which is why Ctrl+J is always there.
    """

    BINDINGS = [
        Binding("enter", "submit", "Send", priority=True, show=False),
        Binding("shift+enter,ctrl+j,alt+enter", "newline", "Newline", key_display="^j", show=False),
    ]

    @dataclass
    class Submitted(Message):
        """The user asked to send the prompt."""

        prompt: PromptInput
        text: str

        @property
        def control(self) -> PromptInput:
            return self.prompt

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            id=id,
            soft_wrap=True,
            show_line_numbers=False,
            tab_behavior="focus",
            compact=True,
            placeholder="Message the model — Enter to send, Ctrl+J for a newline",
        )
        self.prompt_history: list[str] = []
        self._history_index: int | None = None
        self._stashed_draft = ""

    def action_submit(self) -> None:
        text = self.text
        if not text.strip():
            return
        self.post_message(self.Submitted(self, text))

    def action_newline(self) -> None:
        self.insert("\n")

    def remember(self, text: str) -> None:
        """Add a sent prompt to the recall history."""
        if text.strip() and (not self.prompt_history or self.prompt_history[-1] != text):
            self.prompt_history.append(text)
        self._history_index = None

    def set_text(self, text: str) -> None:
        """Replace the box's text and put the cursor at its end."""
        self.load_text(text)
        self.move_cursor(self.document.end)

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "up" and self._can_recall(older=True):
            event.stop()
            event.prevent_default()
            self._recall(-1)
            return
        if event.key == "down" and self._history_index is not None and self._at_last_line():
            event.stop()
            event.prevent_default()
            self._recall(+1)
            return
        if event.is_printable:
            self._history_index = None
        await super()._on_key(event)

    def _can_recall(self, *, older: bool) -> bool:
        if not self.prompt_history:
            return False
        if self._history_index is not None:
            return self.cursor_location[0] == 0
        return not self.text

    def _at_last_line(self) -> bool:
        return self.cursor_location[0] == self.document.line_count - 1

    def _recall(self, step: int) -> None:
        if self._history_index is None:
            self._stashed_draft = self.text
            index = len(self.prompt_history)
        else:
            index = self._history_index
        index += step
        if index < 0:
            return
        if index >= len(self.prompt_history):
            self._history_index = None
            self.set_text(self._stashed_draft)
            return
        self._history_index = index
        self.set_text(self.prompt_history[index])
