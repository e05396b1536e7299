"""Sessions as Markdown (to read and share) or JSON (for other tools)."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from chat_tui.sessions.codec import is_secret_parameter
from chat_tui.sessions.model import SCHEMA_VERSION, Message, Session

ROLE_HEADINGS = {"user": "You", "assistant": "Assistant", "system": "System"}
STATUS_NOTES = {
    "stopped": "stopped",
    "cut_off": "cut off",
    "error": "error",
    "streaming": "still streaming when exported",
    "length": "cut off at the model's token limit",
    "content_filter": "stopped by the provider's content filter",
    "tool_calls": "the model asked to call a tool, which chat-tui does not run",
}


def to_markdown(session: Session, *, all_branches: bool = False) -> str:
    """The conversation as a Markdown document: a title heading, one metadata line, then
    each message under a heading for its role, thinking folded in a <details> block.

    The current branch only, unless ``all_branches``: then each branch under a heading of
    its own, from the message where it parts from the ones before it."""
    lines = [f"# {session.title or 'Untitled session'}", ""]
    facts = [f"Created {session.created:%Y-%m-%d %H:%M} UTC"]
    if session.model:
        facts.append(f"model `{session.provider + '/' if session.provider else ''}{session.model}`")
    facts += [f"{key} {value}" for key, value in session.parameters.items()
              if not is_secret_parameter(key)]  # fmt: skip
    leaves = session.leaves() if all_branches else []
    if len(leaves) > 1:
        facts.append(f"{len(session.all_messages())} messages in {len(leaves)} branches")
    else:
        facts.append(f"{len(session.messages)} messages")
    lines += [" · ".join(facts), ""]
    if session.system_prompt:
        lines += ["## System prompt", "", session.system_prompt, ""]
    if len(leaves) > 1:
        lines += _branches(session, leaves)
    else:
        for message in session.messages:
            lines += _message(message)
    return "\n".join(lines).rstrip() + "\n"


def _branches(session: Session, leaves: list[str]) -> list[str]:
    """Every branch: the first in full, each later one from where it parts."""
    lines: list[str] = []
    #: For each message already written, the branch (counted from 1) it was written in.
    written: dict[str, int] = {}
    for number, leaf in enumerate(leaves, 1):
        path = session.path_to(leaf)
        current = " (the current one)" if leaf == session.current else ""
        lines += [f"## Branch {number} of {len(leaves)}{current}", ""]
        shared = next((i for i, m in enumerate(path) if m.id not in written), len(path))
        if shared:
            source = written[path[shared - 1].id]
            count = "message is" if shared == 1 else f"{shared} messages are"
            lines += [f"_(The first {count} the same as in branch {source}.)_", ""]
        for message in path[shared:]:
            written[message.id] = number
            lines += _message(message, level=3)
    return lines


def _message(message: Message, *, level: int = 2) -> list[str]:
    heading = ROLE_HEADINGS[message.role]
    if message.role == "assistant" and message.model:
        heading += f" ({message.model})"
    lines = [f"{'#' * level} {heading}", ""]
    if message.reasoning:
        thinking = message.reasoning
        lines += ["<details><summary>Thinking</summary>", "", thinking, "", "</details>", ""]
    lines += [_close_fences(message.content), ""]
    if message.ending in STATUS_NOTES:
        note = STATUS_NOTES[message.ending]
        lines += [f"_({note}{': ' + message.error if message.error else ''})_", ""]
    if message.warning:
        lines += [f"_({message.warning})_", ""]
    return lines


def _close_fences(text: str) -> str:
    """Close a code fence a cut-off reply left open, so it does not swallow the headings
    of the messages after it."""
    fences = sum(1 for line in text.splitlines() if line.lstrip().startswith("```"))
    return text + "\n```" if fences % 2 else text


def to_json(session: Session, *, all_branches: bool = False) -> str:
    """Every stored field as JSON (ISO 8601 datetimes, indent 2), with the schema version.

    ``messages`` is the current branch, unless ``all_branches``: then it is every message
    of every branch, each after its parent (``id`` and ``parent`` tell the tree)."""
    session.all_messages()  # takes in messages appended to the list directly
    data = asdict(session)
    data.pop("read_only")
    data.pop("notice")
    tree = data.pop("tree")
    if all_branches:
        data["messages"] = tree
    data["parameters"] = {
        key: value for key, value in data["parameters"].items() if not is_secret_parameter(key)
    }
    document = {"schema_version": SCHEMA_VERSION, **data}
    return json.dumps(document, indent=2, ensure_ascii=False, default=_default) + "\n"


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot export {type(value).__name__}")
