"""The question asked before sending a prompt that would not fit the model's window."""

from __future__ import annotations

from typing import Literal

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Label

from chat_tui.safe_text import neutralise

#: What the user chose: a new conversation for the prompt, send it anyway, or neither.
TooLongChoice = Literal["new", "send", "cancel"]


class TooLong(ModalScreen[TooLongChoice]):
    """Says how far over the window the conversation would be, and offers what can be
    done. Nothing is dropped from the conversation whatever the answer."""

    BINDINGS = [
        Binding("escape", "dismiss('cancel')", "Cancel"),
        Binding("n", "new", "New conversation"),
        Binding("s", "dismiss('send')", "Send anyway"),
    ]
    DEFAULT_CSS = """
    TooLong { align: center middle; }
    TooLong > Vertical {
        width: 72; height: auto; border: round $warning; background: $surface; padding: 1 2;
    }
    TooLong #explanation { width: 1fr; }
    TooLong Horizontal { height: auto; margin-top: 1; }
    TooLong Button { margin-right: 1; }
    """

    def __init__(self, explanation: str, *, offer_new: bool = True) -> None:
        super().__init__()
        self.explanation = explanation
        #: False when the prompt alone is too long for any conversation.
        self.offer_new = offer_new

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Content(neutralise(self.explanation)), id="explanation")
            with Horizontal():
                new = Button(
                    "New conversation (n)",
                    variant="primary",
                    id="new",
                    disabled=not self.offer_new,
                )
                new.display = self.offer_new  # the words say why it cannot help
                yield new
                yield Button("Send anyway (s)", variant="warning", id="send")
                yield Button("Cancel (Esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#new" if self.offer_new else "#cancel", Button).focus()

    def action_new(self) -> None:
        if self.offer_new:
            self.dismiss("new")

    @on(Button.Pressed)
    def answer(self, event: Button.Pressed) -> None:
        choice = event.button.id
        self.dismiss(choice if choice in ("new", "send") else "cancel")  # type: ignore[arg-type]
