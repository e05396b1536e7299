"""The messages of a conversation: the user's prompts and the assistant's replies."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Collapsible, Static

from chat_tui.safe_text import neutralise
from chat_tui.tui.widgets.reply_view import ReplyView

STATUS_NOTES = {
    "stopped": "Stopped (F5 continues).",
    "cut_off": "Cut off.",
    "error": "Error.",
}


class MessageView(Vertical, can_focus=True):
    """Base of every message: focusable, so the user can move through them and copy one."""

    DEFAULT_CSS = """
    MessageView { height: auto; }
    """

    role = "message"

    @property
    def text(self) -> str:
        """The message's text, as copied to the clipboard."""
        raise NotImplementedError


class UserMessage(MessageView):
    """A prompt the user sent, shown as plain text."""

    role = "user"

    def __init__(self, text: str) -> None:
        super().__init__(classes="user")
        self._text = text

    @property
    def text(self) -> str:
        return self._text

    def compose(self) -> ComposeResult:
        yield Static(Content(neutralise(self._text)), classes="body", markup=False)


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
    ) -> None:
        super().__init__(classes="assistant")
        self.model = model
        self._reasoning = reasoning
        self._initial_content = content
        self.status = status
        self.error = error
        self._thinking: Collapsible | None = None
        self._thinking_text: Static | None = None

    def compose(self) -> ComposeResult:
        yield Static(Content(neutralise(self.model)), classes="meta", markup=False)
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

    async def finish(self, status: str = "complete", error: str | None = None) -> None:
        self.status = status
        self.error = error
        await self.reply.finish()
        self._show_status()

    def _show_status(self) -> None:
        note = self.query_one(".note", Static)
        self.set_class(self.status == "error", "-error")
        self.set_class(self.status in ("stopped", "cut_off"), "-stopped")
        parts = []
        if self.status in STATUS_NOTES:
            parts.append(STATUS_NOTES[self.status])
        if self.error:
            parts.append(self.error)
        note.update(Content(neutralise(" ".join(parts))))
        note.display = bool(parts)
