"""Keys typed while the app starts, kept as typed.

Until Textual puts the terminal into raw mode (after Python has imported it, a few tenths of
a second), the terminal is in its cooked mode: it echoes, collects a line, and turns Enter
into a newline. A prompt typed and sent in that window (a script, tmux send-keys, a fast
typist) arrived as one line with a newline where Enter was, and was never sent.

``keys_held_from_start`` switches the terminal out of cooked mode first thing, takes what
was already typed (reading its newlines as the Enter they were), and hands it to the input
parser to go before everything else. Plain Python: it runs before Textual is imported.
"""

from __future__ import annotations

import contextlib
import os
import select
import sys
from collections.abc import Iterator

_early_input: list[str] = []


def take_early_input() -> str:
    """What was typed before the app's input parser started (once; then empty)."""
    text = "".join(_early_input)
    _early_input.clear()
    return text


@contextlib.contextmanager
def keys_held_from_start() -> Iterator[None]:
    """Keep the keys typed from now on as keys, and restore the terminal afterwards."""
    try:
        import termios

        fd = sys.stdin.fileno()
        if not os.isatty(fd):
            raise OSError("not a terminal")
        original = termios.tcgetattr(fd)
    except (ImportError, OSError, ValueError, AttributeError):
        yield
        return
    try:
        keys_only = termios.tcgetattr(fd)
        keys_only[0] &= ~(termios.ICRNL | termios.INLCR | termios.IXON)
        keys_only[3] &= ~(termios.ICANON | termios.ECHO | termios.ISIG | termios.IEXTEN)
        keys_only[6][termios.VMIN] = 0
        keys_only[6][termios.VTIME] = 0
        termios.tcsetattr(fd, termios.TCSANOW, keys_only)
        typed = _read_pending(fd)
        if typed:
            # Typed in cooked mode, where the terminal had already made Enter a newline.
            _early_input.append(typed.decode("utf-8", "replace").replace("\n", "\r"))
    except (OSError, termios.error):
        pass
    try:
        yield
    finally:
        # Textual restores the settings it found, which are ours: put back the user's own.
        with contextlib.suppress(OSError, termios.error):
            termios.tcsetattr(fd, termios.TCSANOW, original)


def _read_pending(fd: int) -> bytes:
    chunks = []
    while select.select([fd], [], [], 0)[0]:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)
