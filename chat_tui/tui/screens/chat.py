"""The main screen: it mediates between the prompt, the conversation, the status bar,
the backend that streams replies, and the session store that keeps them."""

from __future__ import annotations

import time
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Static

from chat_tui.backend import Backend
from chat_tui.safe_text import neutralise
from chat_tui.tui.widgets.code_block import CodeBlock
from chat_tui.tui.widgets.conversation import Conversation
from chat_tui.tui.widgets.messages import AssistantMessage, MessageView, UserMessage
from chat_tui.tui.widgets.prompt import PromptInput
from chat_tui.tui.widgets.status_bar import StatusBar

DEMO_HINT = "offline demo: set OPENAI_API_KEY or run 'chat-tui config init'"


WELCOME = Content.assemble(
    Content.styled("chat-tui\n\n", "bold $text-primary"),
    "Type a message below and press Enter. Ctrl+J adds a new line.\n",
    "Esc stops a reply · Ctrl+R retries · Ctrl+P lists every command · F1 shows the keys",
)


def estimate_tokens(text: str) -> int:
    """A rough token count (about four characters a token) for servers that send no usage."""
    return max(1, len(text) // 4) if text else 0


class ChatScreen(Screen[None]):
    """One conversation with the current model."""

    BINDINGS = [
        Binding("escape", "stop", "Stop", show=True),
        Binding("ctrl+r", "regenerate", "Retry"),
        Binding("ctrl+e", "edit_last", "Edit last", priority=True),
        Binding("ctrl+n", "new_conversation", "New"),
        Binding("ctrl+g", "copy_code", "Copy code"),
        Binding("ctrl+o", "copy_reply", "Copy reply", show=False),
        Binding("ctrl+up", "focus_message(-1)", "Prev message", show=False),
        Binding("ctrl+down", "focus_message(1)", "Next message", show=False),
    ]

    def __init__(self, backend: Backend, *, parameters: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.backend = backend
        self.parameters: dict[str, Any] = dict(parameters or {})
        self.history: list[dict[str, str]] = []
        self.system_prompt = ""
        self.conversation_tokens = 0
        self.conversation_estimated = False
        self._sent_at = 0.0

    def compose(self) -> ComposeResult:
        with Conversation(id="conversation"):
            yield Static(WELCOME, id="welcome")
        yield PromptInput(id="prompt")
        yield StatusBar(id="status")
        yield Footer()

    @property
    def conversation(self) -> Conversation:
        return self.query_one(Conversation)

    @property
    def prompt(self) -> PromptInput:
        return self.query_one(PromptInput)

    @property
    def status(self) -> StatusBar:
        return self.query_one(StatusBar)

    def on_mount(self) -> None:
        self.show_target()
        self.prompt.focus()

    def show_target(self) -> None:
        status = self.status
        status.target = neutralise(self.backend.target.label)
        status.detail = DEMO_HINT if self.backend.is_demo else ""

    # Sending and streaming

    @on(PromptInput.Submitted)
    async def send_prompt(self, event: PromptInput.Submitted) -> None:
        event.stop()
        if self.conversation.streaming:
            self.notify(
                "A reply is still streaming: press Esc to stop it first.",
                severity="warning",
                timeout=3,
            )
            return
        text = event.text
        self.query_one("#welcome").display = False
        self.prompt.remember(text)
        self.prompt.clear()
        self.history.append({"role": "user", "content": text})
        await self.conversation.add_user(text)
        await self._start_reply()

    async def _start_reply(self) -> None:
        messages = list(self.history)
        if self.system_prompt:
            messages.insert(0, {"role": "system", "content": self.system_prompt})
        status = self.status
        status.state = "connecting"
        status.time_to_first_token = None
        status.tokens_per_second = None
        self._sent_at = time.monotonic()
        parameters = dict(self.parameters)
        await self.conversation.start_reply(
            lambda: self.backend.stream(messages, **parameters),
            model=self.backend.target.label,
        )

    @on(Conversation.ReplyStarted)
    def reply_started(self) -> None:
        self.status.state = "streaming"

    @on(Conversation.ReplyProgressed)
    def reply_progressed(self, event: Conversation.ReplyProgressed) -> None:
        status = self.status
        metrics = event.metrics
        status.time_to_first_token = metrics.time_to_first_token
        status.tokens_per_second = metrics.tokens_per_second
        status.reply_tokens = metrics.reported_completion_tokens or metrics.tokens
        status.reply_estimated = metrics.reported_completion_tokens is None

    @on(Conversation.ReplyFinished)
    def reply_finished(self, event: Conversation.ReplyFinished) -> None:
        outcome = event.outcome
        status = self.status
        if outcome.content:
            self.history.append({"role": "assistant", "content": outcome.content})
        if outcome.usage is not None:
            reply_tokens = outcome.usage.completion_tokens
            self.conversation_tokens += outcome.usage.total_tokens
            status.reply_estimated = False
        else:
            reply_tokens = estimate_tokens(outcome.content + outcome.reasoning)
            prompt_chars = sum(len(message["content"]) for message in self.history)
            self.conversation_tokens += reply_tokens + estimate_tokens(" " * prompt_chars)
            self.conversation_estimated = True
            status.reply_estimated = True
        status.reply_tokens = reply_tokens
        status.conversation_tokens = self.conversation_tokens
        status.conversation_estimated = self.conversation_estimated
        status.time_to_first_token = outcome.metrics.time_to_first_token
        status.tokens_per_second = outcome.metrics.tokens_per_second
        status.state = {"complete": "idle", "stopped": "stopped"}.get(outcome.status, "error")

    # Actions

    def action_stop(self) -> None:
        if not self.conversation.cancel_reply() and self.focused is not self.prompt:
            self.prompt.focus()

    async def action_regenerate(self) -> None:
        if self.conversation.streaming:
            return
        last = self.conversation.last_of(AssistantMessage)
        if not self.history or self.history[-1]["role"] not in ("user", "assistant"):
            return
        if self.history[-1]["role"] == "assistant":
            self.history.pop()
        if last is not None and last is self.conversation.children[-1]:
            await last.remove()
        if self.history and self.history[-1]["role"] == "user":
            await self._start_reply()

    async def action_edit_last(self) -> None:
        if self.focused is self.prompt and self.prompt.text:
            # Ctrl+E keeps its editing meaning (end of line) while there is text to edit.
            self.prompt.action_cursor_line_end()
            return
        if self.conversation.streaming:
            self.conversation.cancel_reply()
            await self.conversation.workers.wait_for_complete()
        user = self.conversation.last_of(UserMessage)
        if user is None:
            return
        children = list(self.conversation.children)
        index = children.index(user)
        for child in children[index:]:
            await child.remove()
        while self.history and self.history[-1]["role"] != "user":
            self.history.pop()
        if self.history:
            self.history.pop()
        self.prompt.set_text(user.text)
        self.prompt.focus()

    async def action_new_conversation(self) -> None:
        await self.conversation.clear()
        await self.conversation.mount(Static(WELCOME, id="welcome"))
        self.history.clear()
        self.conversation_tokens = 0
        self.conversation_estimated = False
        status = self.status
        status.state = "idle"
        status.reply_tokens = None
        status.conversation_tokens = None
        status.time_to_first_token = None
        status.tokens_per_second = None
        self.prompt.focus()

    def action_copy_code(self) -> None:
        focused = self.focused
        scope = focused if isinstance(focused, MessageView) else self.conversation
        blocks = list(scope.query(CodeBlock))
        if not blocks:
            self.notify("No code block to copy.", severity="warning", timeout=2)
            return
        code = blocks[-1].code
        self.app.copy_to_clipboard(code)
        self.notify(f"Copied a code block ({len(code.splitlines())} lines).", timeout=2)

    def action_copy_reply(self) -> None:
        focused = self.focused
        message = (
            focused
            if isinstance(focused, MessageView)
            else self.conversation.last_of(AssistantMessage)
        )
        if not isinstance(message, MessageView):
            self.notify("No message to copy.", severity="warning", timeout=2)
            return
        self.app.copy_to_clipboard(message.text)
        self.notify(f"Copied the {message.role}'s message.", timeout=2)

    def action_focus_message(self, step: int) -> None:
        self.conversation.action_focus_message(step)
