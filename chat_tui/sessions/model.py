"""A conversation and its messages, as plain dataclasses (no I/O here)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from chat_tui.attachments import typed_text

#: Version of the session file layout; bump it and add an upgrade in codec.py on any change.
SCHEMA_VERSION = 2
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


def new_message_id() -> str:
    """A short random id, unique within a session (``Session`` checks for clashes)."""
    return secrets.token_hex(4)


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
    #: What the reply cost in US dollars (the server's figure or the configured prices), or
    #: None when no price is known: never a made-up zero. Optional, so older files load.
    cost: float | None = None


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
    #: Stable within its session; ``parent`` is the id of the message it answers or follows
    #: (None for a first message). Keyword-only so positional construction stays as it was.
    id: str = field(default_factory=new_message_id, kw_only=True)
    parent: str | None = field(default=None, kw_only=True)
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
    #: The current branch: every message from the first to ``current``. Read it freely, but
    #: change it only through the methods below, which keep ``tree`` in step.
    messages: list[Message] = field(default_factory=list)
    #: Every message of every branch, each after its parent (the order they were written).
    tree: list[Message] = field(default_factory=list)
    #: Id of the last message of the current branch (None while there are no messages).
    current: str | None = None
    #: Unsent text of the prompt box.
    draft: str = ""
    #: Bumped on every save; a higher revision on disk means someone else saved since.
    revision: int = 0
    #: Not stored: True when the file came from a newer chat-tui and must not be overwritten.
    read_only: bool = False
    #: Not stored: a sentence to show the user about how the file was opened, or "".
    notice: str = ""

    def __post_init__(self) -> None:
        if not self.tree:
            # Built from a plain list of messages: they are one branch, in that order.
            parent = None
            for message in self.messages:
                message.parent = parent
                parent = message.id
            self.tree = list(self.messages)
            self.current = parent
            self._unique_ids()
        else:
            self._unique_ids()
            ids = {message.id for message in self.tree}
            if self.current not in ids:
                self.current = self.tree[-1].id
            self.messages = self.path_to(self.current)

    def _unique_ids(self) -> None:
        #: Every id in the tree (not a field: never saved or compared).
        self._ids: set[str] = set()
        for message in self.tree:
            while message.id in self._ids:
                message.id = new_message_id()
            self._ids.add(message.id)

    def add(self, message: Message) -> Message:
        """Append a message to the current branch and return it; the first prompt also
        names an untitled session."""
        self._adopt_strays()
        message.parent = self.current
        return self._attach(message)

    def _attach(self, message: Message) -> Message:
        while message.id in self._ids:
            message.id = new_message_id()
        self._ids.add(message.id)
        self.tree.append(message)
        self.current = message.id
        end = self.messages[-1].id if self.messages else None
        if message.parent == end and self.messages is not self.tree:
            self.messages.append(message)
        else:
            self.messages = self.path_to(message.id)
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

    # The tree of branches. Methods that take an id raise KeyError for one not in the session.

    def all_messages(self) -> list[Message]:
        """Every message of every branch, each after its parent: what a file stores."""
        self._adopt_strays()
        return self.tree

    def _adopt_strays(self) -> None:
        """Take into the tree messages appended to ``messages`` directly (as older code
        and tests do), so that they are saved like any other."""
        if (self.messages[-1].id if self.messages else None) == self.current:
            return  # the usual case, checked cheaply: the list ends where the branch does
        parent: str | None = None
        adopted = False
        for message in self.messages:
            if message.id not in self._ids:
                message.parent = parent
                self.tree.append(message)
                self._ids.add(message.id)
                adopted = True
            parent = message.id
        if adopted:
            self.current = parent

    def has(self, message_id: str) -> bool:
        """Whether a message with this id is in the session, on any branch."""
        return message_id in self._ids

    def message(self, message_id: str) -> Message:
        """The message with this id, on any branch."""
        for message in self.tree:
            if message.id == message_id:
                return message
        raise KeyError(message_id)

    def children(self, message_id: str | None) -> list[Message]:
        """The messages that follow this one (the first messages for None), oldest first."""
        return [message for message in self.tree if message.parent == message_id]

    def siblings(self, message_id: str) -> list[Message]:
        """The versions of a message: it and every message with the same parent."""
        return self.children(self.message(message_id).parent)

    def sibling_position(self, message_id: str) -> tuple[int, int]:
        """(which version, how many versions) of a message, counted from 1: (2, 3)."""
        ids = [message.id for message in self.siblings(message_id)]
        return ids.index(message_id) + 1, len(ids)

    def path_to(self, message_id: str) -> list[Message]:
        """The messages from the first one to this one."""
        by_id = {message.id: message for message in self.tree}
        path: list[Message] = []
        step: str | None = message_id
        while step is not None:
            message = by_id[step]
            path.append(message)
            step = message.parent
            if len(path) > len(by_id):
                raise ValueError("the messages' parents form a loop")
        path.reverse()
        return path

    def leaf_of(self, message_id: str) -> str:
        """Where a branch through this message ends: the current end when the current
        branch goes through it, else the newest version at each step below it."""
        if any(message.id == message_id for message in self.messages):
            return self.current or message_id
        leaf = message_id
        while below := self.children(leaf):
            leaf = below[-1].id
        return leaf

    def leaves(self) -> list[str]:
        """The end of every branch, in the order they were written."""
        parents = {message.parent for message in self.tree}
        return [message.id for message in self.tree if message.id not in parents]

    def go_to(self, message_id: str | None) -> None:
        """Make the current branch end at this message (later ones stay in the tree):
        the next ``add`` follows it, as a new branch if it already had followers. None
        goes back to before the first message."""
        self.messages = self.path_to(message_id) if message_id is not None else []
        self.current = message_id

    def branch_at(self, message_id: str, message: Message) -> Message:
        """Add ``message`` as a new version of ``message_id`` (same parent) and make it the
        current branch's end; the old version and what follows it stay as they were."""
        message.parent = self.message(message_id).parent
        return self._attach(message)

    def switch(self, message_id: str, step: int) -> Message | None:
        """Show the version ``step`` away from this message (-1 the one before, 1 the one
        after) and the branch below it; returns it, or None when there is none there."""
        versions = self.siblings(message_id)
        index = [message.id for message in versions].index(message_id) + step
        if not 0 <= index < len(versions):
            return None
        target = versions[index]
        self.go_to(self.leaf_of(target.id))
        return target

    def delete_branch(self, message_id: str) -> list[Message]:
        """Remove a message and everything that follows it, on every branch; returns what
        was removed. When the current branch went through it, it now ends at its parent."""
        doomed = {message_id}
        for message in self.tree:  # parents come first, so one pass finds every follower
            if message.parent in doomed:
                doomed.add(message.id)
        removed = [message for message in self.tree if message.id in doomed]
        parent = self.message(message_id).parent
        self.tree = [message for message in self.tree if message.id not in doomed]
        self._ids -= doomed
        if self.current in doomed:
            self.current = parent
        self.messages = self.path_to(self.current) if self.current is not None else []
        return removed

    def find_branch(self, query: str) -> str | None:
        """The end of a branch with a message whose text or reasoning contains ``query``
        (ignoring case): the current branch when it has one, else the newest that does."""
        wanted = query.casefold()

        def has(message: Message) -> bool:
            return wanted in message.content.casefold() or wanted in message.reasoning.casefold()

        if any(has(message) for message in self.messages):
            return self.current
        found = next((m for m in reversed(self.tree) if has(m)), None)
        return None if found is None else self.leaf_of(found.id)
