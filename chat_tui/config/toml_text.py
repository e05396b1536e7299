"""TOML text read tolerantly: syntax errors are reported and cut out, and keys found by line.

tomllib stops at the first error. Config files are edited by hand, so one typo should cost
one line, not every setting: the bad line (or the smallest region around it that explains
the error) is blanked and the text parsed again, a limited number of times. Blanking
rather than deleting keeps every later line number right.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from typing import Any

#: Repairs tried before the file is given up as too broken to be worth guessing at.
MAX_REPAIRS = 20

_AT_LINE = re.compile(r"\(at line (\d+), column \d+\)$")
_HEADER = re.compile(r"^\s*\[\[?\s*([^\[\]=#]+?)\s*\]\]?\s*(#.*)?$")
_KEY_WORD = r"""(?:[A-Za-z0-9_-]+|"[^"\n]*"|'[^'\n]*')"""
_KEY = re.compile(rf"^\s*({_KEY_WORD}(?:\s*\.\s*{_KEY_WORD})*)\s*=")
_KEY_PART = re.compile(r""""([^"]*)"|'([^']*)'|([A-Za-z0-9_-]+)""")


@dataclass(frozen=True)
class SyntaxProblem:
    """One syntax error and the lines blanked to get past it."""

    line: int | None
    #: Dotted key set on the offending line, when the line shows one.
    key: str | None
    message: str


class TooBroken(Exception):
    """The text could not be parsed even after repairs; ``str()`` says why."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        #: Line of the first error, for pointing a person at where to start.
        self.line = line


def parse_tolerant(text: str) -> tuple[dict[str, Any], list[SyntaxProblem]]:
    """The parsed text with unparseable regions left out, and what was left out.

    Raises ``TooBroken`` when repairs run out or the nesting is too deep to parse.
    """
    lines = text.split("\n")  # tomllib counts lines by "\n" alone; "\r" stays on its line
    problems: list[SyntaxProblem] = []
    index = KeyLines(text)
    for _ in range(MAX_REPAIRS + 1):
        try:
            return tomllib.loads("\n".join(lines)), problems
        except tomllib.TOMLDecodeError as error:
            reason, line = _split_error(error)
            first, last = _region(lines, line)
            if first > last:
                raise TooBroken(f"not valid TOML ({reason})", line) from None
            for number in range(first, last + 1):
                lines[number - 1] = ""
            shown = line if line is not None and first <= line <= last else first
            message = f"not valid TOML: {reason}; {_describe(first, last)} ignored"
            problems.append(SyntaxProblem(shown, index.key_at(first), message))
        except RecursionError:
            raise TooBroken("values are nested too deeply to read") from None
    first_line = problems[0].line if problems else None
    raise TooBroken(f"more than {MAX_REPAIRS} syntax errors", first_line)


def _split_error(error: tomllib.TOMLDecodeError) -> tuple[str, int | None]:
    """The error's reason (lower-cased, without the position) and its line, if any."""
    text = str(error)
    match = _AT_LINE.search(text)
    reason = text.split(" (at ", 1)[0]
    reason = reason[:1].lower() + reason[1:]
    return reason, int(match.group(1)) if match else None


def _region(lines: list[str], line: int | None) -> tuple[int, int]:
    """The 1-based, inclusive range of lines to blank for an error reported at ``line``.

    ``line`` is None for an error "at end of document": something opened earlier (a
    string, array or inline table) was never closed.
    """
    if line is None:
        opener = _open_at(lines, len(lines) + 1)
        if opener is not None:
            return opener, len(lines)
        last = max((n for n, text in enumerate(lines, 1) if text.strip()), default=0)
        return (last, last) if last else (1, 0)
    bad = lines[line - 1]
    if not _parses_alone(bad):
        if _is_header(bad):
            return line, _table_end(lines, line)
        return line, line
    # The reported line is fine by itself: the trouble is a value left open above it, or
    # a key or table declared twice.
    opener = _open_at(lines, line)
    if opener is not None:
        return opener, line - 1
    if _is_header(bad):
        return line, _table_end(lines, line)
    return line, line


def _parses_alone(line: str) -> bool:
    try:
        tomllib.loads(line.rstrip("\r"))  # a lone "\r" is itself invalid TOML
    except tomllib.TOMLDecodeError:
        return False
    return True


def _is_header(line: str) -> bool:
    stripped = line.strip()
    return stripped.startswith("[") and "=" not in stripped.split("#", 1)[0]


def _table_end(lines: list[str], header: int) -> int:
    """Last line of the table whose header is on line ``header``.

    A broken or repeated header must take its keys with it: left in place, they would be
    read as part of the table above (a ``base_url`` or ``api_key`` given to the wrong
    provider).
    """
    for number in range(header + 1, len(lines) + 1):
        if _is_header(lines[number - 1]):
            return number - 1
    return len(lines)


def _open_at(lines: list[str], stop: int) -> int | None:
    """The line that opened a value (string, array, inline table) still open at ``stop``.

    A small forward lexer over lines ``1 .. stop-1``: strings, escapes and comments are
    followed so that brackets and quotes inside them do not count.
    """
    brackets: list[int] = []
    long_quote = ""
    long_start = 0
    for number in range(1, stop):
        line = lines[number - 1] if number <= len(lines) else ""
        quote = ""
        i = 0
        while i < len(line):
            char = line[i]
            if long_quote:
                if char == "\\" and long_quote == '"""':
                    i += 2
                    continue
                if line.startswith(long_quote, i):
                    long_quote = ""
                    i += 3
                    continue
            elif quote:
                if char == "\\" and quote == '"':
                    i += 2
                    continue
                if char == quote:
                    quote = ""
            elif line.startswith(('"""', "'''"), i):
                long_quote, long_start = line[i : i + 3], number
                i += 3
                continue
            elif char in "\"'":
                quote = char
            elif char == "#":
                break
            elif char in "[{":
                brackets.append(number)
            elif char in "]}" and brackets:
                brackets.pop()
            i += 1
    if long_quote:
        return long_start
    return brackets[0] if brackets else None


def _describe(first: int, last: int) -> str:
    return "this line" if first == last else f"lines {first}-{last}"


def dotted(key: str) -> tuple[str, ...]:
    """``providers."my.host".base_url`` as its parts."""
    return tuple(a or b or c for a, b, c in _KEY_PART.findall(key))


class KeyLines:
    """Which line sets which dotted key: scanned from the text, good enough to point at.

    Keys inside inline tables and multi-line values are not indexed; asking for one gives
    the line of the nearest enclosing key that is.
    """

    def __init__(self, text: str) -> None:
        self._lines: dict[tuple[str, ...], int] = {}
        self._keys: dict[int, tuple[str, ...]] = {}
        table: tuple[str, ...] = ()
        for number, line in enumerate(text.split("\n"), 1):
            if header := _HEADER.match(line):
                table = dotted(header.group(1))
                self._lines.setdefault(table, number)
                self._keys[number] = table
            elif key := _KEY.match(line):
                path = table + dotted(key.group(1))
                self._lines.setdefault(path, number)
                self._keys[number] = path

    def line_of(self, *path: str) -> int | None:
        """Line of the key at ``path``, or of its nearest indexed parent."""
        for end in range(len(path), 0, -1):
            if (number := self._lines.get(path[:end])) is not None:
                return number
        return None

    def key_at(self, line: int) -> str | None:
        """The dotted key set (or table declared) on ``line``, if the line shows one."""
        path = self._keys.get(line)
        return ".".join(path) if path else None
