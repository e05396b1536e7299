"""Sessions as Markdown or JSON, for sharing and for other tools."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from chat_tui.sessions.model import Session

STATUS_NOTES = {
    "stopped": "stopped",
    "cut_off": "cut off",
    "error": "error",
    "streaming": "cut off",
}


def to_markdown(session: Session) -> str:
    lines = [f"# {session.title or 'Untitled session'}", ""]
    facts = [f"Created {session.created:%Y-%m-%d %H:%M} UTC"]
    if session.model:
        facts.append(f"model `{session.provider + '/' if session.provider else ''}{session.model}`")
    facts.append(f"{len(session.messages)} messages")
    lines += [" · ".join(facts), ""]
    if session.system_prompt:
        lines += ["## System", "", session.system_prompt, ""]
    for message in session.messages:
        heading = "You" if message.role == "user" else message.role.capitalize()
        if message.role == "assistant" and message.model:
            heading += f" ({message.model})"
        lines += [f"## {heading}", ""]
        if message.reasoning:
            lines += [
                "<details><summary>Thinking</summary>",
                "",
                message.reasoning,
                "",
                "</details>",
                "",
            ]
        lines += [message.content, ""]
        if message.status in STATUS_NOTES:
            note = STATUS_NOTES[message.status]
            lines += [f"_({note}{': ' + message.error if message.error else ''})_", ""]
    return "\n".join(lines).rstrip() + "\n"


def to_json(session: Session) -> str:
    data = asdict(session)
    data.pop("read_only", None)
    data.pop("notice", None)
    return json.dumps(data, indent=2, ensure_ascii=False, default=_default) + "\n"


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot export {type(value).__name__}")
