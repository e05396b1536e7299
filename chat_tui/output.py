"""Standard output of the commands that print (``ask``, ``sessions``, ``models``, ``config``).

Two promises. On a terminal, text that came from elsewhere (model output, session titles,
server messages) cannot act on the terminal: its control characters are shown as visible
symbols. And a failure to write (a full disk, a closed stdout, the reader of a pipe gone)
ends the command with one line on stderr and a documented exit code, never a traceback.
"""

from __future__ import annotations

import os
import sys
from typing import Any, TextIO

from chat_tui.errors import OutputError
from chat_tui.safe_text import neutralise

#: The shell's status for a process killed by SIGPIPE, the Unix convention for "the reader
#: of my output went away" (``yes | head -1``).
EXIT_BROKEN_PIPE = 141
EXIT_ERROR = 1


class GuardedOutput:
    """A text stream that neutralises control characters when asked to, and turns every
    failure to write into OutputError."""

    def __init__(self, stream: TextIO, *, neutralise_controls: bool) -> None:
        self.stream = stream
        self.neutralise_controls = neutralise_controls

    def write(self, text: str) -> int:
        if self.neutralise_controls:
            text = neutralise(text)
        try:
            return self.stream.write(text)
        except (OSError, ValueError) as error:
            raise output_error(error, self.stream) from None

    def flush(self) -> None:
        try:
            self.stream.flush()
        except (OSError, ValueError) as error:
            raise output_error(error, self.stream) from None

    def isatty(self) -> bool:
        return self.stream.isatty()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def output_error(error: Exception, stream: TextIO | None = None) -> OutputError:
    """The OutputError, in words, for an exception raised while writing to stdout."""
    if isinstance(error, BrokenPipeError):
        return OutputError(
            "output stopped: the program reading it exited (broken pipe)", broken_pipe=True
        )
    if isinstance(error, UnicodeEncodeError):
        encoding = getattr(stream, "encoding", None) or error.encoding
        return OutputError(
            f"stdout's encoding ({encoding}) cannot show this text; "
            "set PYTHONIOENCODING=utf-8 or use a UTF-8 locale"
        )
    if isinstance(error, OSError):
        return OutputError(f"cannot write to stdout: {error.strerror or error}")
    return OutputError("cannot write to stdout: it is closed")


def guard_stdout(*, neutralise_controls: bool | None = None) -> TextIO:
    """Put a GuardedOutput in place of ``sys.stdout`` and return what was there, to give
    back with ``sys.stdout = ...``. Controls are neutralised on a terminal by default.

    A stdout that was closed before the program started (``>&-``) is an OutputError: the
    slot is first filled with /dev/null, so that no file opened later gets descriptor 1
    and receives what a child process prints.
    """
    original = sys.stdout
    if original is None:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - it is stdout for the rest of the run
        raise OutputError("stdout is closed: there is nowhere to write the output")
    if isinstance(original, GuardedOutput):
        return original
    if neutralise_controls is None:
        neutralise_controls = _isatty(original)
    sys.stdout = GuardedOutput(original, neutralise_controls=neutralise_controls)  # type: ignore[assignment]
    return original


def ensure_std_streams() -> None:
    """A stdin or stderr closed before the program started (``<&-``, ``2>&-``) becomes
    /dev/null: messages cannot crash the program, and no file opened later takes
    descriptor 0 or 2 (where a child process would read or print into it)."""
    if sys.stdin is None:
        sys.stdin = open(os.devnull)  # noqa: SIM115 - it is stdin for the rest of the run
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - it is stderr for the rest of the run


def report(error: OutputError, err: TextIO) -> int:
    """Say what happened to the output on one line and give the exit code for it."""
    silence_stdout()
    if error.broken_pipe:
        err.write(f"note: {error}\n")
        return EXIT_BROKEN_PIPE
    err.write(f"error: {error}\n")
    return EXIT_ERROR


def silence_stdout() -> None:
    """Point descriptor 1 at /dev/null, so that the interpreter's own flush of what is still
    buffered, at exit, fails no second time (it would print a traceback-like warning)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
    except OSError:
        pass  # descriptor 1 cannot be replaced: the warning at exit is all that is left


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (OSError, ValueError):
        return False
