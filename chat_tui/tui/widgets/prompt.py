"""The multi-line prompt box."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import TextArea

from chat_tui.attachments import MENTION_START, complete_path
from chat_tui.safe_text import clean_pasted_text
from chat_tui.tui.widgets.ordered_keys import run_own_binding

#: An ``@path`` word that ends where the cursor is.
_MENTION_AT_END = re.compile(MENTION_START + r"(\S*)$")


def is_format_character(character: str) -> bool:
    """Zero-width joiners and non-joiners, direction marks: typed, they belong in the text.

    Textual's TextArea inserts only characters for which ``str.isprintable()`` is true, which
    leaves these out, breaking emoji sequences and Persian or Indic words.
    """
    return len(character) == 1 and unicodedata.category(character) == "Cf"


class PromptInput(TextArea):
    """Enter sends; Shift+Enter, Ctrl+J or Alt+Enter type a newline.

    Up in an empty box (or while browsing history) recalls earlier prompts; Down goes back.
    Many terminals report Shift+Enter as plain Enter, which is why Ctrl+J is always there.

    Enter is handled here, in the order keys arrive, not by a priority binding: a priority
    binding runs as soon as the key reaches the app, before the characters typed ahead of it
    have reached the box, so a fast burst sent a prompt cut short. The box empties the moment
    the prompt is taken, so what is typed after Enter goes into the next prompt.
    """

    BINDINGS = [
        Binding("shift+enter,ctrl+j,alt+enter", "newline", "Newline", key_display="^j", show=False),
        Binding("ctrl+e", "edit_last", "Edit last prompt", show=False),
    ]

    @dataclass
    class Refused(Message):
        """Enter was pressed while a reply is still on its way; the text stays in the box."""

    @dataclass
    class EditLastRequested(Message):
        """Ctrl+E in an empty box: the user wants the last prompt back to edit."""

    @dataclass
    class PasteCleaned(Message):
        """A paste held terminal escape sequences, which were left out."""

        removed: int

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
        self._awaiting_reply = False
        #: Set by the screen while files wait to be sent: Enter sends even an empty box.
        self.has_attachments = False

    @property
    def awaiting_reply(self) -> bool:
        """True from the moment a prompt is taken until the screen says its reply has ended."""
        return self._awaiting_reply

    @awaiting_reply.setter
    def awaiting_reply(self, awaiting: bool) -> None:
        if awaiting == self._awaiting_reply:
            return
        self._awaiting_reply = awaiting
        if not self.is_mounted:
            return
        # While a reply streams the cursor stays lit instead of blinking: each blink is a
        # frame of its own (the box's line is rendered again), a tenth of the frames drawn
        # at 100 tokens a second, and a blinking cursor pulls the eye from the text.
        if awaiting:
            self._pause_blink(visible=self.has_focus)
        elif self.cursor_blink and self.has_focus:
            self._restart_blink()

    def _restart_blink(self) -> None:
        # TextArea restarts the blink on every key, focus and cursor move.
        if self._awaiting_reply:
            self._pause_blink(visible=self.has_focus)
        else:
            super()._restart_blink()

    def action_submit(self) -> None:
        text = self.text
        if not text.strip() and not self.has_attachments:
            return
        if self.awaiting_reply:
            # The text stays; what is typed next starts a line of its own rather than
            # running into it (the user meant Enter to end this prompt).
            if not text.endswith("\n") and self.cursor_location == self.document.end:
                self.insert("\n")
            self.post_message(self.Refused())
            return
        self.awaiting_reply = True
        self.clear()
        # A trailing newline (left by an Enter refused while a reply streamed) means nothing.
        text = text.rstrip("\n")
        self.remember(text)
        self.post_message(self.Submitted(self, text))

    def give_back(self, text: str) -> None:
        """Return a prompt the screen could not send, ahead of anything typed since."""
        typed_since = self.text
        self.set_text(f"{text}\n{typed_since}" if typed_since else text)

    def action_edit_last(self) -> None:
        if self.text:
            # In a box with text, Ctrl+E keeps the meaning it has in every shell.
            self.action_cursor_line_end()
        else:
            self.post_message(self.EditLastRequested())

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
        # Every key this box acts on is handled here, as it arrives (see ordered_keys);
        # Textual then calls TextArea's own handler, for typing, unless the key was used.
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.action_submit()
            return
        character = event.character
        if character and not event.is_printable and is_format_character(character):
            event.stop()
            event.prevent_default()
            if not self.read_only:
                self.replace(character, *self.selection, maintain_selection_offset=False)
            return
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
        if event.key == "tab" and self._complete_mention():
            event.stop()
            event.prevent_default()
            return
        if event.is_printable:
            self._history_index = None
        await run_own_binding(self, event)

    def _complete_mention(self) -> bool:
        """Tab after ``@partial/pa``: complete the path as a shell does (files named with
        @ go with the prompt). False when the cursor is not after such a word."""
        row, column = self.cursor_location
        found = _MENTION_AT_END.search(self.document.get_line(row)[:column])
        if found is None:
            return False
        partial = found.group(1)
        completed, matches = complete_path(partial, Path.cwd())
        if completed != partial:
            self.insert(completed[len(partial) :])
        elif len(matches) > 1:
            shown = "  ".join(matches[:12]) + ("  …" if len(matches) > 12 else "")
            self.notify(shown, title="@ files", timeout=4)
        elif not matches:
            self.notify(f"No file matches @{partial}.", timeout=2)
        return True

    async def _on_paste(self, event: events.Paste) -> None:
        # Textual calls every class's handler unless told not to: TextArea's would paste
        # the raw text a second time.
        event.prevent_default()
        text, removed = clean_pasted_text(event.text)
        if removed:
            self.post_message(self.PasteCleaned(removed))
        await super()._on_paste(events.Paste(text))

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
