"""The main screen: it mediates between the prompt, the conversation, the status bar,
the backend that streams replies, and the session store that keeps them."""

from __future__ import annotations

import os
import time
from contextlib import suppress
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.css.query import NoMatches
from textual.message import Message as TextualMessage
from textual.screen import Screen
from textual.widgets import Footer, Static, TextArea

from chat_tui.backend import Backend
from chat_tui.client.retry import MAX_RETRIES
from chat_tui.errors import SessionFileError
from chat_tui.safe_text import neutralise
from chat_tui.sessions import Message, Session, SessionStore, Usage
from chat_tui.tui.widgets.code_block import CodeBlock
from chat_tui.tui.widgets.conversation import Conversation, ReplyOutcome
from chat_tui.tui.widgets.messages import AssistantMessage, MessageView, UserMessage
from chat_tui.tui.widgets.prompt import PromptInput
from chat_tui.tui.widgets.status_bar import StatusBar
from chat_tui.tui.worker_errors import ReportsWorkerErrors

DEMO_HINT = "offline demo: set OPENAI_API_KEY or run 'chat-tui config init'"
#: Seconds between saves while a reply streams: a crash loses at most this much of it.
AUTOSAVE_INTERVAL = 2.0
#: Messages mounted when a session opens; older ones are mounted as the user scrolls up.
WINDOW = 40

EDITING_HINT = "Editing the last prompt: Enter replaces the last exchange, Esc cancels"

CONTINUE_PROMPT = "Continue exactly where your last reply stopped."

WELCOME = Content.assemble(
    Content.styled("chat-tui\n\n", "bold $text-primary"),
    "Type a message below and press Enter. Ctrl+J adds a new line.\n",
    "Esc stops a reply · Ctrl+R retries · Ctrl+P lists every command · F1 shows the keys",
)


def estimate_tokens(text: str) -> int:
    """A rough token count (about four characters a token) for servers that send no usage."""
    return max(1, len(text) // 4) if text else 0


class ChatScreen(ReportsWorkerErrors, Screen[None]):
    """One conversation (a saved session) with the current model."""

    class Ready(TextualMessage):
        """The conversation is shown and the prompt box has focus: keys can go to it."""

    BINDINGS = [
        Binding("escape", "stop", "Stop", show=True),
        Binding("ctrl+r", "regenerate", "Retry"),
        Binding("f5", "continue_reply", "Continue", show=False),
        # Not a priority binding: in the prompt box Ctrl+E is the box's own (end of line, or
        # edit the last prompt when the box is empty), handled in the order keys arrive.
        Binding("ctrl+e", "edit_last", "Edit last", show=False),
        Binding("ctrl+n", "new_conversation", "New"),
        Binding("ctrl+g", "copy_code", "Copy code"),
        Binding("ctrl+o", "copy_reply", "Copy reply", show=False),
        Binding("ctrl+up", "focus_message(-1)", "Prev message", show=False),
        Binding("ctrl+down", "focus_message(1)", "Next message", show=False),
    ]

    def __init__(
        self,
        backend: Backend,
        *,
        store: SessionStore | None = None,
        session: Session | None = None,
        parameters: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.backend = backend
        self.store = store
        self.session = session or self._new_session()
        if parameters:
            for key, value in parameters.items():
                self.session.parameters.setdefault(key, value)
        self.conversation_tokens = 0
        self.conversation_estimated = False
        self._unmounted_older: list[Message] = []
        self._streaming_message: Message | None = None
        self._live_outcome: ReplyOutcome | None = None
        self._last_save = 0.0
        #: While the last prompt is being edited: the draft it pushed aside.
        self._edit_draft: str | None = None
        #: The exchange the last edit replaced, for "Undo edit": (index, messages).
        self._replaced: tuple[int, list[Message]] | None = None

    def _new_session(self) -> Session:
        target = self.backend.target
        return Session(provider=target.provider.name, model=target.model)

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

    async def on_mount(self) -> None:
        try:
            self.show_target()
            self.watch(self.conversation, "scroll_y", self._maybe_mount_older, init=False)
            self.set_interval(AUTOSAVE_INTERVAL, self._autosave)
            await self._show_session()
            self.prompt.focus()
        finally:
            # Even if showing the session failed, the keys waiting for the box must not be
            # held forever.
            self.call_after_refresh(self.post_message, self.Ready())

    def on_unmount(self) -> None:
        self.save()

    def show_target(self) -> None:
        status = self.status
        status.target = neutralise(self.backend.target.label)
        status.detail = DEMO_HINT if self.backend.is_demo else ""

    # Sessions

    async def _show_session(self) -> None:
        """Mount the session's recent messages; older ones wait until scrolled to."""
        session = self.session
        self.status.session_name = neutralise(session.title)
        self.prompt.prompt_history = [m.content for m in session.messages if m.role == "user"]
        if session.draft or self.prompt.text:
            # Never wipe what the user has already typed into the box.
            self.prompt.set_text(session.draft or self.prompt.text)
        self.conversation_tokens = sum(
            m.usage.total_tokens for m in session.messages if m.usage is not None
        )
        self.status.conversation_tokens = self.conversation_tokens or None
        if not session.messages:
            return
        self.query_one("#welcome").display = False
        self._unmounted_older = session.messages[:-WINDOW]
        await self.conversation.mount_all([self._widget_for(m) for m in session.messages[-WINDOW:]])
        self.conversation.scroll_end(animate=False, immediate=True)
        if session.notice:
            self.notify(session.notice, severity="warning", timeout=10)

    def _widget_for(self, message: Message) -> MessageView:
        if message.role == "assistant":
            return AssistantMessage(
                model=message.model or "",
                content=message.content,
                reasoning=message.reasoning,
                status=message.status,
                error=message.error,
            )
        return UserMessage(message.content)

    async def _maybe_mount_older(self, scroll_y: float) -> None:
        if scroll_y > 2 or not self._unmounted_older:
            return
        batch = self._unmounted_older[-WINDOW:]
        del self._unmounted_older[-WINDOW:]
        conversation = self.conversation
        first = next(iter(conversation.query_children(MessageView)), None)
        from_bottom = conversation.max_scroll_y - scroll_y
        await conversation.mount_all([self._widget_for(m) for m in batch], before=first)

        def keep_place() -> None:
            # Older messages grew the pane above the view: keep the same text in sight.
            conversation.scroll_to(
                y=max(0, conversation.max_scroll_y - from_bottom), animate=False, immediate=True
            )

        self.call_after_refresh(keep_place)

    def save(self) -> None:
        """Save the session now (a failure is reported, never fatal)."""
        # An empty conversation is not worth a file; its draft goes with the first prompt.
        if self.store is None or self.session.read_only or not self.session.messages:
            return
        self._sync_streaming_message()
        with suppress(NoMatches):  # at unmount the prompt may already be gone
            self.session.draft = self.prompt.text
        try:
            result = self.store.save(self.session)
        except (OSError, SessionFileError) as error:
            self.notify(f"Could not save the session: {error}", severity="error", timeout=8)
            return
        self._last_save = time.monotonic()
        if result.conflict_copy_of:
            self.notify(
                "This session was changed by another chat-tui; yours was kept as a copy: "
                f"{self.session.title}",
                severity="warning",
                timeout=10,
            )
            self.status.session_name = neutralise(self.session.title)

    def _autosave(self) -> None:
        if self._streaming_message is not None:
            self.save()

    def _sync_streaming_message(self) -> None:
        message, outcome = self._streaming_message, self._live_outcome
        if message is not None and outcome is not None:
            message.content = outcome.content
            message.reasoning = outcome.reasoning

    @on(TextArea.Changed, "#prompt")
    def remember_draft(self) -> None:
        self.session.draft = self.prompt.text

    async def open_session(self, session: Session) -> None:
        """Replace the conversation on screen with another saved session."""
        await self._stop_and_wait()
        self.save()
        await self.conversation.clear()
        await self.conversation.mount(Static(WELCOME, id="welcome"))
        self._edit_draft = None
        self._replaced = None
        self.session = session
        self._reset_figures()
        await self._show_session()
        self.prompt.focus()

    def rename_session(self, title: str) -> None:
        self.session.title = title.strip() or self.session.title
        self.status.session_name = neutralise(self.session.title)
        self.save()

    # Sending and streaming

    @on(PromptInput.Submitted)
    async def send_prompt(self, event: PromptInput.Submitted) -> None:
        event.stop()
        if self.conversation.streaming:
            self._refuse(event.text)
            self.tell_still_streaming()
            return
        if self.session.read_only:
            self._refuse(event.text)
            self.notify("This session is read-only; press Ctrl+N for a new one.", timeout=4)
            return
        try:
            if self._edit_draft is not None:
                await self._replace_last_exchange()
            await self._send(event.text)
        except BaseException:
            self.prompt.awaiting_reply = self.conversation.streaming
            raise

    def _refuse(self, text: str) -> None:
        self.prompt.awaiting_reply = self.conversation.streaming
        self.prompt.give_back(text)

    @on(PromptInput.Refused)
    def tell_still_streaming(self) -> None:
        self.notify(
            "A reply is still streaming: press Esc to stop it first. Your text stays in the box.",
            severity="warning",
            timeout=3,
        )

    @on(PromptInput.PasteCleaned)
    def tell_paste_cleaned(self, event: PromptInput.PasteCleaned) -> None:
        codes = "code" if event.removed == 1 else "codes"
        self.notify(
            f"Left out {event.removed} terminal colour/control {codes} from the pasted text.",
            timeout=4,
        )

    @on(PromptInput.EditLastRequested)
    async def edit_last_requested(self) -> None:
        await self.action_edit_last()

    async def _send(self, text: str) -> None:
        self.query_one("#welcome").display = False
        self.session.add(Message("user", text))
        self.session.draft = ""
        self.status.session_name = neutralise(self.session.title)
        await self.conversation.add_user(text)
        await self._start_reply()

    async def _start_reply(self) -> None:
        self.prompt.awaiting_reply = True
        await self.backend.start()
        messages = self.session.history()
        target = self.backend.target
        self.session.provider, self.session.model = target.provider.name, target.model
        reply = Message("assistant", "", model=target.label, status="streaming")
        self.session.add(reply)
        self._streaming_message = reply
        self._live_outcome = None
        self.save()
        status = self.status
        status.state = "connecting"
        status.time_to_first_token = None
        status.tokens_per_second = None
        parameters = dict(self.session.parameters)
        await self.conversation.start_reply(
            lambda: self.backend.stream(messages, **parameters), model=target.label
        )

    @on(Conversation.ReplyStarted)
    def reply_started(self) -> None:
        self.status.state = "streaming"
        self.show_target()

    @on(Conversation.RetryCountdown)
    def retry_counting_down(self, event: Conversation.RetryCountdown) -> None:
        status = self.status
        status.state = "retrying"
        reason = event.reason if len(event.reason) <= 60 else event.reason[:59] + "…"
        status.detail = neutralise(
            f"retry {event.attempt}/{MAX_RETRIES} in {event.seconds_left:.0f}s (Esc gives up): "
            f"{reason}"
        )

    @on(Conversation.ReplyProgressed)
    def reply_progressed(self, event: Conversation.ReplyProgressed) -> None:
        status = self.status
        metrics = event.outcome.metrics
        self._live_outcome = event.outcome
        status.time_to_first_token = metrics.time_to_first_token
        status.tokens_per_second = metrics.tokens_per_second
        status.reply_tokens = metrics.reported_completion_tokens or metrics.tokens
        status.reply_estimated = metrics.reported_completion_tokens is None

    @on(Conversation.ReplyFinished)
    def reply_finished(self, event: Conversation.ReplyFinished) -> None:
        outcome = event.outcome
        status = self.status
        message = self._streaming_message
        self._streaming_message = self._live_outcome = None
        self.prompt.awaiting_reply = False
        if outcome.usage is not None:
            usage = Usage(
                outcome.usage.prompt_tokens,
                outcome.usage.completion_tokens,
                outcome.usage.total_tokens,
            )
            self.conversation_tokens += usage.total_tokens
        elif not (outcome.content or outcome.reasoning):
            usage = Usage()
        else:
            completion = estimate_tokens(outcome.content + outcome.reasoning)
            prompt = estimate_tokens("".join(m["content"] for m in self.session.history()))
            usage = Usage(prompt, completion, prompt + completion, estimated=True)
            self.conversation_tokens += usage.total_tokens
            self.conversation_estimated = True
        if message is not None:
            message.content = outcome.content
            message.reasoning = outcome.reasoning
            message.status = outcome.status  # type: ignore[assignment]
            message.error = str(outcome.error) if outcome.error else None
            message.finish_reason = outcome.finish_reason
            message.usage = usage if outcome.content or outcome.usage else None
        status.reply_tokens = usage.completion_tokens
        status.reply_estimated = usage.estimated
        status.conversation_tokens = self.conversation_tokens
        status.conversation_estimated = self.conversation_estimated
        status.time_to_first_token = outcome.metrics.time_to_first_token
        status.tokens_per_second = outcome.metrics.tokens_per_second
        status.state = {"complete": "idle", "stopped": "stopped"}.get(outcome.status, "error")
        self.show_target()
        self.save()

    async def _stop_and_wait(self) -> None:
        if self.conversation.streaming:
            self.conversation.cancel_reply()
            await self.conversation.workers.wait_for_complete()
            await self.app.animator.wait_until_complete()

    def _reset_figures(self) -> None:
        self.conversation_tokens = 0
        self.conversation_estimated = False
        status = self.status
        status.state = "idle"
        status.reply_tokens = None
        status.conversation_tokens = None
        status.time_to_first_token = None
        status.tokens_per_second = None

    # Actions

    def action_stop(self) -> None:
        if self.conversation.cancel_reply():
            return
        if self._edit_draft is not None:
            self._cancel_edit()
        elif self.focused is not self.prompt:
            self.prompt.focus()

    async def action_regenerate(self) -> None:
        if self.conversation.streaming or self.session.read_only:
            return
        messages = self.session.messages
        if messages and messages[-1].role == "assistant":
            messages.pop()
            last = self.conversation.last_of(AssistantMessage)
            if last is not None:
                await last.remove()
        if messages and messages[-1].role == "user":
            await self._start_reply()

    async def action_continue_reply(self) -> None:
        """Ask the model to carry on from a reply that was stopped or cut off."""
        messages = self.session.messages
        if self.conversation.streaming or self.session.read_only:
            return
        if not messages or messages[-1].role != "assistant" or not messages[-1].content:
            self.notify("There is no partial reply to continue.", severity="warning", timeout=3)
            return
        if messages[-1].status not in ("stopped", "cut_off"):
            self.notify("The last reply is complete; Ctrl+R asks again.", timeout=3)
            return
        await self._send(CONTINUE_PROMPT)

    async def action_edit_last(self) -> None:
        """Put the last prompt in the box to edit. Nothing is removed until the edited
        prompt is sent; Esc gives the box back its draft; "Undo edit" swaps the replaced
        exchange back in."""
        if self._edit_draft is not None or self.session.read_only:
            return
        await self._stop_and_wait()
        index = self._last_user_index()
        if index is None:
            self.notify("There is no prompt to edit yet.", timeout=3)
            return
        self._edit_draft = self.prompt.text
        for view in self._views_from(index):
            view.add_class("-replacing")
        self.prompt.set_text(self.session.messages[index].content)
        self.prompt.focus()
        self.status.state = "editing"
        kept = " Your unsent text is kept: Esc brings it back." if self._edit_draft else ""
        self.notify(EDITING_HINT + "." + kept, timeout=5)

    def _last_user_index(self) -> int | None:
        messages = self.session.messages
        for index in range(len(messages) - 1, -1, -1):
            if messages[index].role == "user":
                return index
        return None

    def _views_from(self, index: int) -> list[MessageView]:
        """The widgets showing ``session.messages[index:]`` (they are the last ones)."""
        count = len(self.session.messages) - index
        views = self.conversation.messages
        return views[len(views) - count :] if count else []

    def _cancel_edit(self) -> None:
        draft, self._edit_draft = self._edit_draft or "", None
        for view in self.conversation.query(".-replacing"):
            view.remove_class("-replacing")
        self.prompt.set_text(draft)
        self.status.state = "idle"
        self.notify("Edit cancelled.", timeout=2)

    async def _replace_last_exchange(self) -> None:
        draft, self._edit_draft = self._edit_draft or "", None
        index = self._last_user_index()
        if index is not None:
            for view in self._views_from(index):
                await view.remove()
            self._replaced = (index, self.session.messages[index:])
            del self.session.messages[index:]
            self.notify("Replaced the last exchange; 'Undo edit' (Ctrl+P) brings it back.")
        if draft:
            self.prompt.give_back(draft)

    async def action_undo_edit(self) -> None:
        """Swap the exchange the last edit replaced back in (and the new one out)."""
        if self._replaced is None or self.session.read_only:
            self.notify("There is no edit to undo.", timeout=3)
            return
        await self._stop_and_wait()
        index, replaced = self._replaced
        for view in self._views_from(index):
            await view.remove()
        self._replaced = (index, self.session.messages[index:])
        del self.session.messages[index:]
        self.session.messages.extend(replaced)
        await self.conversation.mount_all([self._widget_for(m) for m in replaced])
        self.conversation.scroll_end(animate=False)
        self.save()
        self.notify("Swapped the earlier exchange back in; 'Undo edit' again swaps back.")

    async def action_new_conversation(self) -> None:
        await self.open_session(self._new_session())

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

    @work(exclusive=True, group="export")
    async def export_markdown(self) -> None:
        from chat_tui import paths
        from chat_tui.sessions import to_markdown

        folder = paths.data_dir() / "exports"
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            path = folder / f"{self.session.id}.md"
            # Private to the user, like every file the app writes.
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                file.write(to_markdown(self.session))
        except OSError as error:
            self.notify(f"Could not export: {error}", severity="error")
            return
        self.notify(f"Exported to {path}", timeout=6)
