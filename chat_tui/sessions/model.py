"""A conversation and its messages, as plain dataclasses (no I/O here)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

SCHEMA_VERSION = 1
Role = Literal["system", "user", "assistant"]
MessageStatus = Literal["complete", "streaming", "stopped", "cut_off", "error"]
TITLE_LENGTH = 60


def now() -> datetime:
    """The current time in UTC, to the second (what the files store)."""
    return datetime.now(UTC).replace(microsecond=0)


def new_session_id() -> str:
    """A sortable, unique id that is also a safe file name: ``2026-11-21-181502-a3f9``."""
    return now().strftime("%Y-%m-%d-%H%M%S-") + secrets.token_hex(2)


def title_from_prompt(text: str) -> str:
    """A title from a prompt's first line: whitespace collapsed, at most 60 characters."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    title = re.sub(r"\s+", " ", first).strip()
    if len(title) > TITLE_LENGTH:
        title = title[: TITLE_LENGTH - 1].rstrip() + "…"
    return title


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    estimated: bool = False


@dataclass
class Message:
    role: Role
    content: str
    created: datetime = field(default_factory=now)
    reasoning: str = ""
    model: str | None = None
    usage: Usage | None = None
    finish_reason: str | None = None
    status: MessageStatus = "complete"
    error: str | None = None


@dataclass
class Session:
    id: str = field(default_factory=new_session_id)
    title: str = ""
    created: datetime = field(default_factory=now)
    updated: datetime = field(default_factory=now)
    provider: str | None = None
    model: str | None = None
    system_prompt: str = ""
    parameters: dict[str, float | int | str] = field(default_factory=dict)
    messages: list[Message] = field(default_factory=list)
    draft: str = ""
    revision: int = 0
    #: Not stored: True when the file came from a newer chat-tui and must not be overwritten.
    read_only: bool = False
    notice: str = ""

    def add(self, message: Message) -> Message:
        """Append a message; the first prompt also names an untitled session."""
        self.messages.append(message)
        if not self.title and message.role == "user":
            self.title = title_from_prompt(message.content)
        return message

    def history(self) -> list[dict[str, str]]:
        """The messages to send to the API: system prompt, then every usable turn.

        Failed replies are left out (they carry no text the model said), and so are replies
        cut off before any text arrived.
        """
        messages: list[dict[str, str]] = []
        if self.system_prompt:
            messages.append({"role": "system", "content": self.system_prompt})
        for message in self.messages:
            if message.role == "assistant" and (message.status == "error" or not message.content):
                continue
            messages.append({"role": message.role, "content": message.content})
        return messages

    @property
    def preview(self) -> str:
        first = next((m.content for m in self.messages if m.role == "user"), "")
        return title_from_prompt(first)
