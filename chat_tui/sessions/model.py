"""A conversation and its messages, as plain dataclasses (no I/O here)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from chat_tui.attachments import typed_text

#: Version of the session file layout; bump it and add an upgrade in codec.py on any change.
SCHEMA_VERSION = 1
Role = Literal["system", "user", "assistant"]
MessageStatus = Literal["complete", "streaming", "stopped", "cut_off", "error"]
ROLES: tuple[Role, ...] = ("system", "user", "assistant")
STATUSES: tuple[MessageStatus, ...] = ("complete", "streaming", "stopped", "cut_off", "error")
TITLE_LENGTH = 60
#: ``finish_reason`` values that end a complete stream short of a full answer.
SERVER_ENDINGS = ("length", "content_filter", "tool_calls")


def now() -> datetime:
    """The current time in UTC, to the second (what the files store)."""
    return datetime.now(UTC).replace(microsecond=0)


def new_session_id() -> str:
    """A sortable, unique id that is also a safe file name: ``2026-11-21-181502-a3f9``."""
    return now().strftime("%Y-%m-%d-%H%M%S-") + secrets.token_hex(2)


def title_from_prompt(text: str) -> str:
    """A title from a prompt's first non-blank line: whitespace collapsed, at most 60
    characters (cut ones end with "…")."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    title = re.sub(r"\s+", " ", first).strip()
    if len(title) > TITLE_LENGTH:
        title = title[: TITLE_LENGTH - 1].rstrip() + "…"
    return title


def reply_ending(status: str, finish_reason: str | None) -> str:
    """See ``Message.ending``."""
    if status == "complete" and finish_reason in SERVER_ENDINGS:
        return str(finish_reason)
    return status


@dataclass
class Usage:
    """Token counts of one reply, as the server reported them or as estimated locally."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    estimated: bool = False


@dataclass(frozen=True)
class AttachedFile:
    """A file (or piped text) sent with a prompt: its text is in the message's content, as
    a fenced block; this is what the conversation shows of it until expanded."""

    name: str
    #: Its size in bytes, as read.
    bytes: int


@dataclass
class Message:
    """One turn of the conversation.

    ``status`` says how a reply ended: a reply saved while still ``streaming`` is reopened as
    ``cut_off``, because the process that was writing it is gone.
    """

    role: Role
    content: str
    created: datetime = field(default_factory=now)
    #: The model's thinking text, kept apart from the answer.
    reasoning: str = ""
    #: "provider/model" that wrote a reply.
    model: str | None = None
    usage: Usage | None = None
    finish_reason: str | None = None
    status: MessageStatus = "complete"
    #: Human error text when status is "error" or "cut_off".
    error: str | None = None
    #: Human text when a reply that ended may still be missing text (the stream held events
    #: the client could not read and skipped), or None.
    warning: str | None = None
    #: Files sent with a prompt, in the order their blocks end its content.
    attachments: list[AttachedFile] = field(default_factory=list)

    @property
    def summary_text(self) -> str:
        """What a prompt says, for titles and previews: the text typed, or the names of the
        files attached when nothing was typed (never the first line of a file's fence)."""
        if not self.attachments:
            return self.content
        typed = typed_text(self.content, len(self.attachments))
        return typed if typed.strip() else "📎 " + ", ".join(a.name for a in self.attachments)

    @property
    def ending(self) -> str:
        """How a reply ended, in one word: ``complete``, ``stopped``, ``cut_off``,
        ``length``, ``content_filter``, ``tool_calls``, ``error`` (or ``streaming``).

        Derived from ``status`` (what happened to the stream) and the server's
        ``finish_reason``, which are what the file stores: a file that says "length" in
        ``status`` would be unreadable to an older chat-tui, whose files hold the same two.
        """
        return reply_ending(self.status, self.finish_reason)


@dataclass
class Session:
    """A whole conversation: what is saved as one TOML file named ``<id>.toml``."""

    id: str = field(default_factory=new_session_id)
    #: "" until the first prompt names it.
    title: str = ""
    created: datetime = field(default_factory=now)
    updated: datetime = field(default_factory=now)
    provider: str | None = None
    model: str | None = None
    #: The endpoint of an ad-hoc provider (``--base-url``), without credentials or query,
    #: so that reopening the session can find it again or say which URL it needs.
    base_url: str | None = None
    system_prompt: str = ""
    #: Request parameters that were set (temperature, max_tokens, ...). Never secrets: keys
    #: such as ``api_key`` are dropped on save.
    parameters: dict[str, float | int | str | bool] = field(default_factory=dict)
    messages: list[Message] = field(default_factory=list)
    #: Unsent text of the prompt box.
    draft: str = ""
    #: Bumped on every save; a higher revision on disk means someone else saved since.
    revision: int = 0
    #: Not stored: True when the file came from a newer chat-tui and must not be overwritten.
    read_only: bool = False
    #: Not stored: a sentence to show the user about how the file was opened, or "".
    notice: str = ""

    def add(self, message: Message) -> Message:
        """Append a message and return it; the first prompt also names an untitled session."""
        self.messages.append(message)
        if not self.title and message.role == "user":
            self.title = title_from_prompt(message.summary_text)
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
        """The first prompt on one line, for lists of sessions."""
        first = next((m.summary_text for m in self.messages if m.role == "user"), "")
        return title_from_prompt(first)
