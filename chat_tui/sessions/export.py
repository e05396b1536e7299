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


def to_markdown(session: Session) -> str:
    """The conversation as a Markdown document: a title heading, one metadata line, then
    each message under a heading for its role, thinking folded in a <details> block."""
    lines = [f"# {session.title or 'Untitled session'}", ""]
    facts = [f"Created {session.created:%Y-%m-%d %H:%M} UTC"]
    if session.model:
        facts.append(f"model `{session.provider + '/' if session.provider else ''}{session.model}`")
    facts += [f"{key} {value}" for key, value in session.parameters.items()
              if not is_secret_parameter(key)]  # fmt: skip
    facts.append(f"{len(session.messages)} messages")
    lines += [" · ".join(facts), ""]
    if session.system_prompt:
        lines += ["## System prompt", "", session.system_prompt, ""]
    for message in session.messages:
        lines += _message(message)
    return "\n".join(lines).rstrip() + "\n"


def _message(message: Message) -> list[str]:
    heading = ROLE_HEADINGS[message.role]
    if message.role == "assistant" and message.model:
        heading += f" ({message.model})"
    lines = [f"## {heading}", ""]
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


def to_json(session: Session) -> str:
    """Every stored field as JSON (ISO 8601 datetimes, indent 2), with the schema version."""
    data = asdict(session)
    data.pop("read_only")
    data.pop("notice")
    data["parameters"] = {
        key: value for key, value in data["parameters"].items() if not is_secret_parameter(key)
    }
    document = {"schema_version": SCHEMA_VERSION, **data}
    return json.dumps(document, indent=2, ensure_ascii=False, default=_default) + "\n"


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot export {type(value).__name__}")
