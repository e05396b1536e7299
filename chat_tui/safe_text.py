"""Make untrusted text (model output, server messages, file contents) safe to display.

A terminal acts on control characters: ESC starts sequences that can move the cursor,
retitle the window, set the clipboard (OSC 52) or forge hyperlinks (OSC 8); BEL rings;
C1 controls are an 8-bit form of the same. Displayed text keeps newlines and tabs and shows
every other control character as a visible symbol, so nothing reaches the terminal as a
command and the user can still see that something odd was sent.
"""

from __future__ import annotations

import re

from chat_tui.errors import UsageError

_TABLE: dict[int, str] = {code: chr(0x2400 + code) for code in range(0x20)}
del _TABLE[0x09]  # tab
del _TABLE[0x0A]  # newline
_TABLE[0x0D] = ""  # carriage returns only ever matter as half of CRLF in displayed text
_TABLE[0x7F] = "\u2421"
_TABLE.update({code: "\ufffd" for code in range(0x80, 0xA0)})
# Bidirectional overrides can disguise text; show them as replacement characters too.
_TABLE.update({code: "\ufffd" for code in (0x202A, 0x202B, 0x202C, 0x202D, 0x202E)})
_TABLE.update({code: "\ufffd" for code in (0x2066, 0x2067, 0x2068, 0x2069)})
_TRANSLATION = str.maketrans(_TABLE)
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def neutralise(text: str) -> str:
    """``text`` with every control character made visible and inert."""
    if _UNSAFE.search(text) is None:
        return text
    return text.translate(_TRANSLATION)


#: Terminal escape sequences as pasted from coloured output: CSI (colours, cursor moves),
#: OSC (titles, hyperlinks; ended by BEL or ST) and the short two-byte forms.
_ESCAPE_SEQUENCE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[ -/]*[0-~]"
    r"|\x9b[0-?]*[ -/]*[@-~]"
)
_PASTE_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# The user's own text keeps its bidi controls: only control characters are made visible.
_PASTE_TRANSLATION = str.maketrans({code: _TABLE[code] for code in _TABLE if code < 0xA0})


def clean_pasted_text(text: str) -> tuple[str, int]:
    """Pasted text as the prompt should hold it, and how many escape sequences were removed.

    Escape sequences (colour codes from a terminal's output) are removed, line endings
    become newlines, and any other control character is kept as a visible symbol, so the
    user sees exactly what will be sent.
    """
    cleaned, removed = _ESCAPE_SEQUENCE.subn("", text)
    cleaned = cleaned.replace("\r\n", "\n").replace("\r", "\n")
    if _PASTE_CONTROLS.search(cleaned):
        cleaned = cleaned.translate(_PASTE_TRANSLATION)
    return cleaned, removed


def check_utf8(what: str, text: str) -> None:
    """UsageError when ``text`` (from the command line) is not valid UTF-8: Python keeps
    such bytes as lone surrogates, which no request or file can carry. ``what`` names the
    text in the message ("the prompt", "--model")."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        char = ord(text[error.start])
        byte = f"byte 0x{char - 0xDC00:02x}" if 0xDC80 <= char <= 0xDCFF else f"U+{char:04X}"
        raise UsageError(f"{what} is not valid UTF-8 text ({byte}).") from None
