"""Short texts the app shows in toasts, built from longer lists."""

from __future__ import annotations

import re
from collections.abc import Sequence

#: Problems a start-up toast lists before it says how many more there are: with two toast
#: lines each, the toast still fits in an 80x24 terminal.
MAX_LISTED = 5
#: Characters of one problem in the toast: two lines of the toast at 80 columns.
LINE_LENGTH = 72
_PLACE = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+): (?P<rest>.*)$", re.DOTALL)


def summarise_problems(problems: Sequence[str]) -> tuple[str, str]:
    """The title and text of one toast for every problem found at start-up, each with its
    line number, so that none scrolls away behind the others."""
    if len(problems) == 1:
        return "Config", problems[0]
    places = [_PLACE.match(problem) for problem in problems]
    files = {found["file"] for found in places if found}
    same_file = len(files) == 1 and all(places)
    lines = []
    for problem, found in zip(problems[:MAX_LISTED], places, strict=False):
        text = f"line {found['line']}: {found['rest']}" if same_file and found else problem
        lines.append(_shorten(text))
    if len(problems) > MAX_LISTED:
        lines.append(f"…and {len(problems) - MAX_LISTED} more: 'chat-tui models' lists all.")
    where = f"{files.pop()}: " if same_file else "Config: "
    return f"{where}{len(problems)} problems", "\n".join(lines)


def _shorten(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= LINE_LENGTH else line[: LINE_LENGTH - 1] + "…"
