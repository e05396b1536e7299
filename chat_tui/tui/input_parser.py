"""Terminal input, read the way the user typed it: the one place where we correct Textual's
parser instead of working around it in each widget.

Textual's ``XTermParser`` (Textual 8) gets two things wrong that matter to a chat client:

- **Alt+Enter** arrives from most terminals as ESC CR. The parser waits for a longer escape
  sequence, gives up, and reports plain ``enter``, so the key that should add a line sends
  the prompt.
- **A bracketed paste containing ESC** (coloured terminal output is the common case) is cut
  at the first ESC: what follows it is reissued as separate key presses, out of order, and
  the paste arrives as a fragment.

``ChatInputParser`` takes bracketed pastes and ESC CR out of the byte stream before the
parser sees them and hands everything else to Textual unchanged, in order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from textual import events
from textual._time import get_time
from textual._xterm_parser import XTermParser
from textual.message import Message

from chat_tui.tui.early_keys import take_early_input

PASTE_START = "\x1b[200~"
PASTE_END = "\x1b[201~"

#: What the parser takes out of the stream itself: a paste's start, or ESC CR / ESC LF.
_SPECIAL = re.compile(r"\x1b\[200~|\x1b[\r\n]")

#: How long a possible start of a paste marker or of ESC CR split across two reads (a
#: trailing ESC, ``ESC [ 2``...) is held back before it is handed on as ordinary input: the
#: rest of a sequence comes at once, and a lone ESC is the Escape key.
HOLD_SECONDS = 0.05


def _partial_marker_length(text: str, marker: str, *, shortest: int) -> int:
    """Length of the longest tail of ``text`` that is a proper prefix of ``marker``."""
    for length in range(min(len(marker) - 1, len(text)), shortest - 1, -1):
        if text.endswith(marker[:length]):
            return length
    return 0


class ChatInputParser(XTermParser):
    """Textual's parser, with whole bracketed pastes and Alt+Enter as ESC CR."""

    def __init__(self, debug: bool = False) -> None:
        super().__init__(debug)
        self._held = ""
        self._held_since = 0.0
        self._paste: list[str] | None = None
        #: Typed while the app was starting, before this parser existed: it goes first.
        self._early = take_early_input()

    def feed(self, data: str) -> Iterable[Message]:
        if self._early:
            early, self._early = self._early, ""
            yield from self.feed(early)
        if not data:
            held, self._held = self._held, ""
            if held and self._paste is None:
                yield from super().feed(held)
            yield from super().feed("")
            return
        text = self._held + data
        self._held = ""
        position = 0
        while position < len(text):
            if self._paste is not None:
                end = text.find(PASTE_END, position)
                if end == -1:
                    keep = _partial_marker_length(text, PASTE_END, shortest=1)
                    self._paste.append(text[position : len(text) - keep])
                    self._hold(text[len(text) - keep :])
                    return
                self._paste.append(text[position:end])
                pasted = "".join(self._paste).replace("\x00", "")
                self._paste = None
                position = end + len(PASTE_END)
                yield events.Paste(pasted)
                continue
            match = _SPECIAL.search(text, position)
            if match is None:
                rest = text[position:]
                keep = _partial_marker_length(rest, PASTE_START, shortest=1)
                if rest[: len(rest) - keep]:
                    yield from super().feed(rest[: len(rest) - keep])
                self._hold(rest[len(rest) - keep :])
                return
            if match.start() > position:
                yield from super().feed(text[position : match.start()])
            position = match.end()
            if match.group() == PASTE_START:
                self._paste = []
            else:
                yield events.Key("alt+enter", None)

    def tick(self) -> Iterable[Message]:
        if self._early:
            early, self._early = self._early, ""
            yield from self.feed(early)
        if self._held and self._paste is None and get_time() - self._held_since >= HOLD_SECONDS:
            held, self._held = self._held, ""
            if held == "\x1b":
                # Nothing followed it: the Escape key, reported as soon as Textual would.
                yield events.Key("escape", "\x1b")
            else:
                yield from super().feed(held)
        yield from super().tick()

    def _hold(self, text: str) -> None:
        if text and not self._held:
            self._held_since = get_time()
        self._held = text


def install_input_parser() -> None:
    """Make Textual's terminal driver read input with ``ChatInputParser``.

    The Linux driver (also used on macOS) builds its parser from this module-level name when
    its input thread starts; a test checks that it still does, so a Textual upgrade that
    changes it fails loudly rather than silently bringing the old bugs back.
    """
    try:
        from textual.drivers import linux_driver
    except ImportError:  # Windows: a different driver, with its own input path.
        return
    linux_driver.XTermParser = ChatInputParser  # type: ignore[misc]
