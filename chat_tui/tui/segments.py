"""Split streamed Markdown into prose and top-level fenced code blocks, incrementally.

Textual's Markdown widget re-parses and re-highlights the open last block on every append,
so a long code fence costs time proportional to its length on each token. The reply view
sends prose to Markdown widgets and gives each top-level fence a widget of its own that
only ever appends lines. Only fences that start in the first column are split out; a fence
indented inside a list or quote stays with its Markdown block, where it belongs.

Pure Python: no Textual here, so it is cheap to test exhaustively.
"""

from __future__ import annotations

from dataclasses import dataclass

_FENCE_CHARS = "`~"


@dataclass(frozen=True, slots=True)
class Prose:
    text: str


@dataclass(frozen=True, slots=True)
class CodeOpen:
    info: str


@dataclass(frozen=True, slots=True)
class CodeText:
    text: str


@dataclass(frozen=True, slots=True)
class CodeClose:
    pass


Op = Prose | CodeOpen | CodeText | CodeClose


class FenceSplitter:
    """Feed it text as it arrives; it returns what to append where."""

    def __init__(self) -> None:
        self._held = ""
        self._at_line_start = True
        self._fence: str | None = None  # the opening fence's run of characters, when in code

    @property
    def in_code(self) -> bool:
        return self._fence is not None

    def feed(self, text: str) -> list[Op]:
        ops: list[Op] = []
        buffer = self._held + text if self._held else text
        self._held = ""
        position = 0
        length = len(buffer)
        while position < length:
            newline = buffer.find("\n", position)
            if newline == -1:
                rest = buffer[position:]
                if self._at_line_start and self._may_become_fence(rest):
                    self._held = rest
                else:
                    self._emit(ops, rest)
                    self._at_line_start = False
                break
            line = buffer[position : newline + 1]
            position = newline + 1
            if self._at_line_start and self._is_fence_line(line, ops):
                continue
            self._emit(ops, line)
            self._at_line_start = True
        return ops

    def finish(self) -> list[Op]:
        """End of the reply: release anything held back."""
        ops: list[Op] = []
        if self._held:
            held, self._held = self._held, ""
            if not (self._at_line_start and self._is_fence_line(held, ops)):
                self._emit(ops, held)
        return ops

    def _emit(self, ops: list[Op], text: str) -> None:
        kind = CodeText if self._fence is not None else Prose
        if ops and isinstance(ops[-1], kind):
            ops[-1] = kind(ops[-1].text + text)
        else:
            ops.append(kind(text))

    def _may_become_fence(self, partial: str) -> bool:
        check = partial.lstrip(" ") if self._fence is not None else partial
        if not check or check[0] not in _FENCE_CHARS:
            return bool(self._fence is not None and not check and len(partial) <= 3)
        run = len(check) - len(check.lstrip(check[0]))
        return run == len(check) or run >= 3

    def _is_fence_line(self, line: str, ops: list[Op]) -> bool:
        if self._fence is None:
            if not line or line[0] not in _FENCE_CHARS:
                return False
            char = line[0]
            run = len(line) - len(line.lstrip(char))
            info = line[run:].strip()
            if run < 3 or (char == "`" and "`" in info):
                return False
            self._fence = char * run
            ops.append(CodeOpen(info))
            return True
        stripped = line.strip()
        indent = len(line) - len(line.lstrip(" "))
        fence = self._fence
        if indent <= 3 and len(stripped) >= len(fence) and stripped == fence[0] * len(stripped):
            self._fence = None
            ops.append(CodeClose())
            return True
        return False


def split_all(text: str) -> list[Op]:
    """The ops for a whole text at once: what a one-shot render of the reply shows."""
    splitter = FenceSplitter()
    return splitter.feed(text) + splitter.finish()
