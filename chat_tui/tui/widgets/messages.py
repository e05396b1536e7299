"""The messages of a conversation: the user's prompts and the assistant's replies."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Collapsible, Static

from chat_tui.attachments import format_size, split_message
from chat_tui.safe_text import neutralise
from chat_tui.sessions import AttachedFile, reply_ending
from chat_tui.tui.widgets.prose_view import LaidOutOnce
from chat_tui.tui.widgets.reply_view import ReplyView

#: The line under a reply, by how it ended (see ``Message.ending``).
ENDING_NOTES = {
    "stopped": "Stopped (F5 continues).",
    "cut_off": "Cut off.",
    "error": "Error.",
    "length": "Cut off: the model reached its token limit. F5 continues.",
    "content_filter": "Stopped by the provider's content filter.",
    "tool_calls": "The model also asked to call a tool, which chat-tui does not run.",
}
#: When no text at all arrived, what to say instead, and the key that helps.
EMPTY_NOTES = {
    "stopped": "Stopped before the server answered; Ctrl+R retries.",
    "cut_off": "Cut off before any text arrived; Ctrl+R asks again.",
    "complete": "The model sent an empty reply; Ctrl+R asks again.",
    "length": "The model reached its token limit before writing anything; Ctrl+R asks again.",
    "tool_calls": (
        "The model asked to call a tool instead of answering; chat-tui does not run tools, "
        "so there is no text reply."
    ),
}
#: The keys that help after an error, once its words are said.
AFTER_ERROR = {"error": "Ctrl+R retries.", "cut_off": "F5 continues, Ctrl+R asks again."}
#: Endings that leave a reply short of what the model would have said.
SHORT_ENDINGS = frozenset({"stopped", "cut_off", "length", "content_filter"})


def ending_note(
    ending: str, *, has_text: bool, error: str | None = None, warning: str | None = None
) -> str:
    """What the line under a reply says about how it ended, in words ("" for nothing)."""
    if ending == "streaming":
        return ""
    if has_text:
        parts = [ENDING_NOTES.get(ending, "")]
    else:
        parts = [EMPTY_NOTES.get(ending, ENDING_NOTES.get(ending, ""))]
    if error:
        # A stop before any text: the error is only what the last try met.
        parts.append(f"The last try failed: {error}" if ending == "stopped" else error)
    if ending in AFTER_ERROR and (has_text or ending == "error"):
        parts.append(AFTER_ERROR[ending])
    if warning:
        parts.append(warning)
    return " ".join(part for part in parts if part)


class MessageView(LaidOutOnce, Vertical, can_focus=True):
    """Base of every message: focusable, so the user can move through them and copy one."""

    DEFAULT_CSS = """
    MessageView { height: auto; }
    """

    role = "message"

    HELP = """A message of the conversation.

- **e** edits it: sending the edit starts a new branch, and the old one stays.
- **[** and **]** show its other versions (`‹ 2/3 ›`) and the branch below each.
- **Ctrl+R** asks again for a reply (a new version), **Ctrl+O** copies it.
- **Ctrl+Up** / **Ctrl+Down** move between messages, **Esc** goes back to the prompt.
"""

    BINDINGS = [
        Binding("e", "edit", "Edit"),
        Binding("left_square_bracket", "version(-1)", "Prev version"),
        Binding("right_square_bracket", "version(1)", "Next version"),
    ]

    #: The session message this shows (set by the screen; None for one not saved yet).
    message_id: str | None = None
    #: Which version of its message this is, and of how many: (2, 3) shows "‹ 2/3 ›".
    versions: tuple[int, int] = (1, 1)

    class EditRequested(Message):
        """The user asked to edit the message this view shows."""

        def __init__(self, view: MessageView) -> None:
            super().__init__()
            self.view = view

    class VersionRequested(Message):
        """The user asked for the version ``step`` away (-1 before, 1 after)."""

        def __init__(self, view: MessageView, step: int) -> None:
            super().__init__()
            self.view = view
            self.step = step

    @property
    def text(self) -> str:
        """The message's text, as copied to the clipboard."""
        raise NotImplementedError

    @property
    def versions_label(self) -> str:
        """``‹ 2/3 ›`` when the message has other versions, else ""."""
        position, count = self.versions
        return f"‹ {position}/{count} ›" if count > 1 else ""

    def show_versions(self, position: int, count: int) -> None:
        self.versions = (position, count)
        if self.is_mounted:
            self._show_versions()

    def _show_versions(self) -> None:
        label = self.query_one(".versions", Static)
        label.update(self.versions_label)
        label.display = bool(self.versions_label)

    def action_edit(self) -> None:
        self.post_message(self.EditRequested(self))

    def action_version(self, step: int) -> None:
        self.post_message(self.VersionRequested(self, step))


class UserMessage(MessageView):
    """A prompt the user sent, shown as plain text; each attached file as one line that
    expands to show its text (Enter on the line or on the focused message, or a click)."""

    role = "user"
    BINDINGS = [Binding("enter", "toggle_attachments", "Show attached files", show=False)]

    def __init__(self, text: str, attachments: Sequence[AttachedFile] = ()) -> None:
        super().__init__(classes="user")
        self._text = text
        self._attachments = list(attachments)

    @property
    def text(self) -> str:
        return self._text

    def compose(self) -> ComposeResult:
        yield Static(self.versions_label, classes="versions", markup=False)
        parsed = split_message(self._text, len(self._attachments)) if self._attachments else None
        if parsed is None:
            yield Static(Content(neutralise(self._text)), classes="body", markup=False)
            return
        typed, blocks = parsed
        if typed:
            yield Static(Content(neutralise(typed)), classes="body", markup=False)
        for attached, (_label, text) in zip(self._attachments, blocks, strict=True):
            body = Static(Content(neutralise(text)), classes="attachment-text", markup=False)
            # Content, not a str: Collapsible reads a str title as markup ("[draft].md").
            title = Content(neutralise(f"📎 {attached.name}, {format_size(attached.bytes)}"))
            yield Collapsible(body, title=title, collapsed=True, classes="attachment")

    def action_toggle_attachments(self) -> None:
        files = list(self.query(Collapsible))
        expand = any(file.collapsed for file in files)
        for file in files:
            file.collapsed = not expand

    def on_mount(self) -> None:
        self._show_versions()


class AssistantMessage(MessageView):
    """A reply: optional thinking block, the Markdown answer, and a status line."""

    role = "assistant"

    def __init__(
        self,
        *,
        model: str = "",
        content: str = "",
        reasoning: str = "",
        status: str = "complete",
        error: str | None = None,
        finish_reason: str | None = None,
        warning: str | None = None,
    ) -> None:
        super().__init__(classes="assistant")
        self.model = model
        self._reasoning = reasoning
        self._initial_content = content
        self.status = status
        self.error = error
        self.finish_reason = finish_reason
        self.warning = warning
        self._thinking: Collapsible | None = None
        self._thinking_text: Static | None = None

    def compose(self) -> ComposeResult:
        yield Static(self._meta(), classes="meta", markup=False)
        if self._reasoning:
            yield from self._compose_thinking(collapsed=True)
        yield ReplyView(self._initial_content)
        yield Static("", classes="note", markup=False)

    def _compose_thinking(self, *, collapsed: bool) -> ComposeResult:
        self._thinking_text = Static(
            Content(neutralise(self._reasoning)), classes="thinking-text", markup=False
        )
        self._thinking = Collapsible(self._thinking_text, title="Thinking", collapsed=collapsed)
        yield self._thinking

    def on_mount(self) -> None:
        self._show_status()

    def _meta(self) -> Content:
        """The line above a reply: the model, and ``‹ 2/3 ›`` when it has other versions."""
        versions = self.versions_label
        return Content(neutralise(self.model) + (f"   {versions}" if versions else ""))

    def _show_versions(self) -> None:
        self.query_one(".meta", Static).update(self._meta())

    @property
    def reply(self) -> ReplyView:
        return self.query_one(ReplyView)

    @property
    def text(self) -> str:
        return self.reply.source or self._initial_content

    @property
    def reasoning(self) -> str:
        return self._reasoning

    async def append_reasoning(self, text: str) -> None:
        self._reasoning += text
        if self._thinking is None:
            collapsible = next(iter(self._compose_thinking(collapsed=False)))
            await self.mount(collapsible, before=self.reply)
        elif self._thinking_text is not None:
            self._thinking_text.update(Content(neutralise(self._reasoning)))

    async def append_content(self, text: str) -> None:
        if self._thinking is not None and not self._thinking.collapsed:
            # The answer has started: fold the thinking away so the answer has the room.
            self._thinking.collapsed = True
        await self.reply.append(text)

    async def finish(
        self,
        status: str = "complete",
        error: str | None = None,
        *,
        finish_reason: str | None = None,
        warning: str | None = None,
    ) -> None:
        self.status = status
        self.error = error
        self.finish_reason = finish_reason
        self.warning = warning
        await self.reply.finish()
        self._show_status()

    @property
    def ending(self) -> str:
        """How the reply ended, as ``Message.ending`` says it."""
        return reply_ending(self.status, self.finish_reason)

    @property
    def note(self) -> str:
        """The line under the reply, in words."""
        return ending_note(
            self.ending, has_text=bool(self.text), error=self.error, warning=self.warning
        )

    def _show_status(self) -> None:
        note = self.query_one(".note", Static)
        ending = self.ending
        self.set_class(ending == "error", "-error")
        self.set_class(ending in SHORT_ENDINGS or bool(self.warning), "-stopped")
        text = self.note
        note.update(Content(neutralise(text)))
        note.display = bool(text)
