"""The main screen: it mediates between the prompt, the conversation, the status bar,
the backend that streams replies, and the session store that keeps them."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.css.query import NoMatches
from textual.message import Message as TextualMessage
from textual.screen import Screen
from textual.widgets import Footer, Static, TextArea

from chat_tui.attachments import (
    Attachment,
    AttachmentError,
    check_room,
    compose_message,
    mentioned_paths,
    read_attachment,
    split_message,
    typed_text,
)
from chat_tui.backend import Backend, Lease
from chat_tui.client.retry import MAX_RETRIES
from chat_tui.config import Config, Target, conversation_defaults
from chat_tui.context_window import ModelFacts, facts_for
from chat_tui.errors import ChatTuiError, SessionFileError
from chat_tui.meter import (
    ContextUse,
    context_use,
    conversation_cost,
    estimate_tokens,
    room_left,
    short_count,
    window_size,
    would_overflow,
)
from chat_tui.safe_text import neutralise
from chat_tui.sessions import AttachedFile, Message, Session, SessionStore, Usage
from chat_tui.tui.compositor import CroppedCompositor
from chat_tui.tui.screens.file_picker import FilePicker
from chat_tui.tui.screens.too_long import TooLong, TooLongChoice
from chat_tui.tui.widgets.code_block import CodeBlock
from chat_tui.tui.widgets.conversation import (
    Conversation,
    ReplyOutcome,
    describe_error,
)
from chat_tui.tui.widgets.messages import AssistantMessage, MessageView, UserMessage
from chat_tui.tui.widgets.pending_attachments import PendingAttachments
from chat_tui.tui.widgets.prompt import PromptInput
from chat_tui.tui.widgets.status_bar import StatusBar
from chat_tui.tui.worker_errors import ReportsWorkerErrors

DEMO_HINT = "offline demo: set OPENAI_API_KEY or run 'chat-tui config init'"
#: Seconds between saves while a reply streams: a crash loses at most this much of it.
AUTOSAVE_INTERVAL = 2.0
#: Messages mounted when a session opens; older ones are mounted as the user scrolls up.
WINDOW = 40

EDIT_PROMPT_HINT = (
    "Editing a prompt: Enter sends it as a new branch (the old one stays; [ and ] on a "
    "message flip between them), Esc cancels"
)
EDIT_REPLY_HINT = (
    "Editing a reply: Enter keeps your version as a new branch and sends nothing, Esc cancels"
)

CONTINUE_PROMPT = "Continue exactly where your last reply stopped."
#: How a reply may have ended for F5 to continue it.
CONTINUABLE = frozenset({"stopped", "cut_off", "length"})

WELCOME = Content.assemble(
    Content.styled("chat-tui\n\n", "bold $text-primary"),
    "Type a message below and press Enter. Ctrl+J adds a new line.\n",
    "Esc stops a reply · Ctrl+R retries · Ctrl+P lists every command · F1 shows the keys",
)


#: The status bar's state once a reply has ended, by how it ended.
REPLY_STATES = {
    "complete": "idle",
    "tool_calls": "idle",
    "stopped": "stopped",
    "length": "stopped",
    "content_filter": "stopped",
}


@dataclass
class InFlight:
    """A reply on its way: its message in the session, the target it streams from, the
    request's text (for an estimate of the prompt's tokens when the server sends no usage),
    its connection, and its widget and live outcome once the conversation has them."""

    message: Message
    label: str
    prompt_text: str
    lease: Lease | None = None
    view: AssistantMessage | None = None
    outcome: ReplyOutcome | None = None


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
        Binding("ctrl+f", "attach_file", "Attach file", show=False),
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
        # Partial frames render only the rows they repaint (see compositor.py).
        self._compositor = CroppedCompositor()
        self.backend = backend
        self.store = store
        self.session = session or self._new_session()
        if parameters and session is None:
            # Only a new conversation takes defaults: an opened session keeps what it has.
            for key, value in parameters.items():
                self.session.parameters.setdefault(key, value)
        #: Whether the session differs from its file: only then is it saved.
        self._dirty = False
        self._unmounted_older: list[Message] = []
        #: The reply in flight, from the moment it is added to the session until recorded.
        self._reply: InFlight | None = None
        self._last_save = 0.0
        #: The draft the open session came with, and the box's text once it was shown: the
        #: box may normalise it (line endings), and showing it is no change by the user.
        self._draft_shown: tuple[str, str] = ("", "")
        #: True while open_session replaces the session (the box's text is in between).
        self._switching = False
        #: While a message is being edited: the draft it pushed aside.
        self._edit_draft: str | None = None
        #: The message being edited, while it is.
        self._editing: Message | None = None
        #: The files that were pending when an edit put the edited prompt's files there.
        self._pending_before_edit: list[Attachment] | None = None
        #: The version the last edit branched away from, for "Undo edit" to go back to.
        self._undo_to: str | None = None
        #: Context window and prices by target label, learnt once per run in the background.
        self._facts: dict[str, ModelFacts] = {}
        #: The conversation's size without the box's text (the meter adds that as typed).
        self._context_use = ContextUse(0, True)

    def _new_session(self) -> Session:
        """A new conversation: the current target, and the config's system prompt and
        parameters (the one place a session is built from the config)."""
        saved = self.backend.target.saved
        config = getattr(self.app, "config", None)
        defaults = conversation_defaults(config if isinstance(config, Config) else Config())
        return Session(
            provider=saved.provider,
            model=saved.model,
            base_url=saved.base_url,
            system_prompt=defaults.system_prompt,
            parameters=dict(defaults.parameters),
        )

    def compose(self) -> ComposeResult:
        with Conversation(id="conversation"):
            yield Static(WELCOME, id="welcome")
        yield PendingAttachments(id="attachments")
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
            self.conversation.progress_listener = self._show_progress
            self.watch(self.conversation, "scroll_y", self._maybe_mount_older, init=False)
            self.set_interval(AUTOSAVE_INTERVAL, self._autosave)
            await self._show_session()
            self.prompt.focus()
        finally:
            # Even if showing the session failed, the keys waiting for the box must not be
            # held forever.
            self.call_after_refresh(self.post_message, self.Ready())

    def on_unmount(self) -> None:
        reply = self._reply
        if reply is not None:
            # Quitting stops the reply: keep the partial as stopped, not as a reply that was
            # still streaming (which reopens as cut off).
            self._reply = None
            outcome = reply.outcome or ReplyOutcome()
            if outcome.status == "streaming":
                outcome.status = "stopped"
            self._record(reply, outcome)
        self.save()

    def show_target(self) -> None:
        status = self.status
        label = self.backend.target.label
        reply = self._reply
        if reply is not None and reply.label != label:
            # Switched while a reply streams: it finishes where it started ("old → new"),
            # the next prompt goes to the new target. Said first, where 80 columns keep it.
            label = f"{reply.label} → {label}"
        status.target = neutralise(label)
        status.detail = DEMO_HINT if self.backend.is_demo else ""
        self._learn_model_facts()

    def target_switched(self) -> str | None:
        """The backend now points at another model: the session follows it (a setting the
        user changed) and the status bar says so. Returns the model the reply in flight
        still streams from, when that is another one."""
        saved = self.backend.target.saved
        session = self.session
        if (session.provider, session.model, session.base_url) != (
            saved.provider,
            saved.model,
            saved.base_url,
        ):
            session.provider, session.model = saved.provider, saved.model
            session.base_url = saved.base_url
            self._dirty = True
        self.show_target()
        reply = self._reply
        label = self.backend.target.label
        if reply is not None and self.conversation.streaming and reply.label != label:
            return reply.label
        return None

    # Sessions

    async def _show_session(self) -> None:
        """Mount the session's recent messages; older ones wait until scrolled to."""
        session = self.session
        self.status.session_name = neutralise(session.title)
        prompt = self.prompt
        prompt.prompt_history = [
            typed_text(m.content, len(m.attachments)) for m in session.messages if m.role == "user"
        ]
        # Each session has its own draft (open_session carries over text that has no
        # session to stay with).
        if prompt.text != session.draft:
            prompt.set_text(session.draft)
        self._draft_shown = (session.draft, prompt.text)
        replies = [m for m in session.messages if m.role == "assistant"]
        self._show_figures(replies[-1] if replies else None)
        if not session.messages:
            return
        self.query_one("#welcome").display = False
        self._unmounted_older = session.messages[:-WINDOW]
        await self.conversation.mount_all([self._widget_for(m) for m in session.messages[-WINDOW:]])
        self.conversation.scroll_end(animate=False, immediate=True)
        if session.notice:
            self.notify(session.notice, severity="warning", timeout=10)

    def _widget_for(self, message: Message) -> MessageView:
        return self._label(self._new_widget_for(message), message)

    def _new_widget_for(self, message: Message) -> MessageView:
        if message.role == "assistant":
            return AssistantMessage(
                model=message.model or "",
                content=message.content,
                reasoning=message.reasoning,
                status=message.status,
                error=message.error,
                finish_reason=message.finish_reason,
                warning=message.warning,
            )
        return UserMessage(message.content, message.attachments)

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

    def save(self, *, changed: bool = False) -> None:
        """Save the session if it differs from its file; ``changed`` says the caller just
        changed it. Viewing, browsing and quitting never rewrite a file. A failure is
        reported, never fatal."""
        if changed:
            self._dirty = True
        # An empty conversation is not worth a file; its draft goes with the first prompt.
        if self.store is None or self.session.read_only or not self.session.messages:
            return
        self._sync_reply()
        self._take_draft()
        if not self._dirty:
            return
        try:
            result = self.store.save(self.session)
        except (OSError, SessionFileError) as error:
            self.notify(f"Could not save the session: {error}", severity="error", timeout=8)
            return
        self._dirty = False
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
        if self._reply is not None:
            self.save()

    def _sync_reply(self) -> None:
        """Copy the streaming reply's text so far into its message."""
        reply = self._reply
        if reply is None or reply.outcome is None:
            return
        message, outcome = reply.message, reply.outcome
        if message.content != outcome.content or message.reasoning != outcome.reasoning:
            message.content = outcome.content
            message.reasoning = outcome.reasoning
            self._dirty = True

    def _take_draft(self) -> None:
        """Keep the box's text as the session's draft. Showing a session's own draft is no
        change, even where the box normalised it."""
        if self._switching:
            return  # open_session decides whose draft the box's text is
        try:
            text = self.prompt.text
        except NoMatches:  # at unmount the prompt may already be gone
            return
        original, shown = self._draft_shown
        draft = original if text == shown else text
        if draft != self.session.draft:
            self.session.draft = draft
            self._dirty = True

    @on(TextArea.Changed, "#prompt")
    def remember_draft(self) -> None:
        self._take_draft()
        self._show_meter()

    def _keeps_draft(self) -> bool:
        """Whether the box's text will be saved with the open session."""
        return self.store is not None and not self.session.read_only and bool(self.session.messages)

    async def open_session(self, session: Session, *, discard_current: bool = False) -> None:
        """Replace the conversation on screen with another session. The open one is saved
        if it changed, unless ``discard_current`` (it was deleted: deleting is final).

        The box's text stays with the session it was typed in; text that no file would keep
        (an empty conversation's, a deleted one's) moves to the new session instead, and so
        does whatever is typed while the switch is under way.
        """
        # The box's text as the switch begins is the open session's draft; keys typed
        # from here on (a fast burst after Ctrl+N) belong to the session being opened.
        self._take_draft()
        before = self.prompt.text
        self._switching = True
        try:
            await self._stop_and_wait()
            moves = discard_current or not self._keeps_draft()
            if not moves:
                self.save()
            await self.conversation.clear()
            await self.conversation.mount(Static(WELCOME, id="welcome"))
        finally:
            self._switching = False
        # Nothing is awaited from here until _show_session has put the draft in the box.
        now = self.prompt.text
        kept = "" if moves else before  # what stays behind as the old session's draft
        typed = now[len(kept) :] if now.startswith(kept) else now
        self._edit_draft = None
        self._editing = None
        self._undo_to = None
        self.session = session
        self._dirty = False
        if typed.strip():
            session.draft = f"{session.draft}\n{typed}" if session.draft.strip() else typed
            self._dirty = True
        self._reset_figures()
        await self._show_session()
        self.prompt.focus()

    @property
    def open_session_id(self) -> str:
        return self.session.id

    def rename_session(self, session_id: str, title: str) -> str:
        """Give a session a new title (one line); returns it. A title with nothing visible
        in it is refused with a ChatTuiError, and the old title stays everywhere."""
        clean = " ".join(title.split())
        if not clean:
            raise ChatTuiError("Not renamed: a title needs at least one visible character.")
        if session_id == self.session.id:
            if clean != self.session.title:
                self.session.title = clean
                self.status.session_name = neutralise(clean)
                self.save(changed=True)
        elif self.store is not None:
            self.store.rename(session_id, clean)
        return clean

    async def delete_session(self, session_id: str) -> Path:
        """Move a saved session to the trash; returns where it went. Deleting the open
        session is final: it is not saved again, and a new conversation takes its place."""
        if self.store is None:
            raise SessionFileError("sessions are not kept in this run")
        if session_id != self.session.id:
            return self.store.delete(session_id)
        await self._stop_and_wait()
        moved = self.store.delete(session_id)
        await self.open_session(self._new_session(), discard_current=True)
        return moved

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
        # An edited reply is only stored: "@name" in it is text, and no file goes with it.
        editing_reply = self._editing_reply()
        if not editing_reply and not await self._attach_mentioned(event.text):
            self._refuse(event.text)
            return
        attached = [] if editing_reply else self.pending_files.attachments
        if attached:
            try:
                # Files too big for even a new conversation are refused here; files that
                # only this conversation cannot hold get the too-long question below.
                check_room(attached, self._room_in_a_new_conversation(), whole_window=True)
            except AttachmentError as error:
                self._refuse(event.text)
                self.notify(neutralise(str(error)), severity="error", timeout=8, markup=False)
                return
        composed = compose_message(event.text, attached) if attached else event.text
        if self._warn_too_long(composed, event.text):
            return
        try:
            await self._submit(event.text)
        except BaseException:
            self.prompt.awaiting_reply = self.conversation.streaming
            raise

    async def _submit(self, typed: str) -> None:
        """Send the typed text with the files pending for it, or store an edited reply."""
        attached = [] if self._editing_reply() else await self.pending_files.take()
        text = compose_message(typed, attached) if attached else typed
        files = [AttachedFile(a.name, a.size) for a in attached]
        if self._edit_draft is not None and await self._branch_for_edit(text):
            return  # an edited reply: nothing is sent until the user goes on
        await self._restore_pending_files(drop_current=False)
        await self._send(text, files)

    async def _files_for_edit(self, message: Message) -> str:
        """What an edit of ``message`` puts in the box: a prompt's typed text, with its files
        pending again beside it (as chips, taken off or added to like any); the files that
        were pending before wait until the edit is sent or cancelled."""
        parsed = split_message(message.content, len(message.attachments))
        if message.role != "user" or not message.attachments or parsed is None:
            return message.content
        typed, blocks = parsed
        self._pending_before_edit = await self.pending_files.take()
        for attached, (_, body) in zip(message.attachments, blocks, strict=True):
            # The fence ends the block with a newline the file may not have had.
            text = body + "\n" if len(body.encode()) + 1 == attached.bytes else body
            await self.pending_files.add(Attachment(attached.name, text, attached.bytes))
        return typed

    async def _restore_pending_files(self, *, drop_current: bool) -> None:
        """Put back the files that were pending before an edit took the row."""
        before, self._pending_before_edit = self._pending_before_edit, None
        if before is None:
            return
        if drop_current:
            await self.pending_files.take()
        for attachment in before:
            if not self.pending_files.has(attachment.name):
                await self.pending_files.add(attachment)

    def _editing_reply(self) -> bool:
        """Whether the box holds an edited reply (files never go with one)."""
        edited = self._editing if self._edit_draft is not None else None
        return edited is not None and edited.role == "assistant"

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

    async def _send(self, text: str, attachments: list[AttachedFile] | None = None) -> None:
        # Before anything is awaited: no frame may show the prompt sent and the app idle.
        self.status.state = "connecting"
        self.query_one("#welcome").display = False
        prompt = self.session.add(Message("user", text, attachments=list(attachments or ())))
        self.session.draft = ""
        self._draft_shown = ("", "")
        self._dirty = True
        self.status.session_name = neutralise(self.session.title)
        self._label(await self.conversation.add_user(text, attachments or ()), prompt)
        await self._start_reply()

    async def _start_reply(self) -> None:
        if self._reply is not None:
            # The last reply's worker ended but its ReplyFinished is still queued.
            await self._end_reply()
        self.prompt.awaiting_reply = True
        self.status.state = "connecting"
        try:
            await self.backend.start()
        except ChatTuiError as error:
            # No usable model or endpoint (e.g. an endpoint that lists no models): the reply
            # fails in words like any other, and Ctrl+R tries again.
            failure: ChatTuiError | None = error
        else:
            failure = None
        messages = self.session.history()
        # The meter counts what is being sent (estimated) until the server says.
        self._context_use = context_use(self.session.system_prompt, self.session.messages)
        self._show_meter()
        target = self.backend.target
        saved = target.saved
        self.session.provider, self.session.model = saved.provider, saved.model
        self.session.base_url = saved.base_url
        reply = Message("assistant", "", model=target.label, status="streaming")
        self.session.add(reply)
        # The reply keeps this connection until it ends, whatever model is picked meanwhile.
        lease = self.backend.lease() if failure is None else None
        in_flight = InFlight(
            reply, target.label, "".join(m["content"] for m in messages), lease=lease
        )
        self._reply = in_flight
        self.save(changed=True)
        status = self.status
        status.time_to_first_token = None
        status.tokens_per_second = None
        parameters = dict(self.session.parameters)

        def open_stream() -> Any:
            if failure is not None:
                raise failure
            assert lease is not None
            return lease.stream(messages, **parameters)

        in_flight.view, in_flight.outcome = await self.conversation.start_reply(
            open_stream, model=target.label
        )
        self._label(in_flight.view, reply)

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

    def _show_progress(self, outcome: ReplyOutcome) -> None:
        status = self.status
        metrics = outcome.metrics
        status.time_to_first_token = metrics.time_to_first_token
        status.tokens_per_second = metrics.tokens_per_second
        status.reply_tokens = metrics.reported_completion_tokens or metrics.tokens
        status.reply_estimated = metrics.reported_completion_tokens is None

    @on(Conversation.ReplyFinished)
    async def reply_finished(self, event: Conversation.ReplyFinished) -> None:
        reply = self._reply
        if reply is None or event.message is not reply.view:
            return  # recorded already, when the reply was stopped and waited for
        await self._end_reply()

    async def _end_reply(self) -> None:
        """Record how the reply in flight ended, show it, save it, release its connection.
        Its worker has ended, or never ran (then the reply counts as stopped)."""
        reply, self._reply = self._reply, None
        if reply is None:
            return
        self.prompt.awaiting_reply = False
        outcome = reply.outcome or ReplyOutcome()
        if outcome.status == "streaming":
            outcome.status = "stopped"
            if reply.view is not None and reply.view.status == "streaming":
                await reply.view.finish("stopped")
        self._record(reply, outcome)
        status = self.status
        status.time_to_first_token = outcome.metrics.time_to_first_token
        status.tokens_per_second = outcome.metrics.tokens_per_second
        status.state = REPLY_STATES.get(reply.message.ending, "error")
        self._show_figures(reply.message)
        self.show_target()
        self.save()
        if reply.lease is not None:
            await self.backend.release(reply.lease)

    def _record(self, reply: InFlight, outcome: ReplyOutcome) -> None:
        """Write how a reply ended into its message in the session."""
        message = reply.message
        message.content = outcome.content
        message.reasoning = outcome.reasoning
        message.status = outcome.status  # type: ignore[assignment]
        message.error = describe_error(outcome.error)
        message.finish_reason = outcome.finish_reason
        message.warning = outcome.warning
        if outcome.usage is not None:
            message.usage = Usage(
                outcome.usage.prompt_tokens,
                outcome.usage.completion_tokens,
                outcome.usage.total_tokens,
                cost=outcome.usage.cost,
            )
        elif outcome.content or outcome.reasoning:
            # The request's own text, never the reply's: that is what the prompt was.
            prompt = estimate_tokens(reply.prompt_text)
            completion = estimate_tokens(outcome.content + outcome.reasoning)
            message.usage = Usage(prompt, completion, prompt + completion, estimated=True)
        else:
            message.usage = None
        facts = self._facts.get(reply.label)
        if message.usage is not None and message.usage.cost is None and facts is not None:
            usage = message.usage
            usage.cost = facts.cost(usage.prompt_tokens, usage.completion_tokens)
        self._dirty = True

    def _show_figures(self, last_reply: Message | None) -> None:
        """Token figures from the saved usage of the session's messages, so that a reply
        that is regenerated or edited away no longer counts, and a reopened session shows
        what it showed before (estimates keep their ``~``)."""
        status = self.status
        usages = [m.usage for m in self.session.messages if m.usage is not None]
        status.conversation_tokens = sum(u.total_tokens for u in usages) or None
        status.conversation_estimated = any(u.estimated for u in usages)
        usage = last_reply.usage if last_reply is not None else None
        status.reply_tokens = usage.completion_tokens if usage is not None else None
        status.reply_estimated = usage.estimated if usage is not None else False
        status.reply_cost = usage.cost if usage is not None else None
        # Every branch's replies were paid for: the total is the session's, not the path's.
        status.total_cost, status.cost_estimated = conversation_cost(self.session.all_messages())
        self._context_use = context_use(self.session.system_prompt, self.session.messages)
        self._show_meter()

    # Context window and cost

    def _learn_model_facts(self) -> None:
        """Learn the current model's window and prices once, in the background: the first
        token never waits for it, and a server that cannot say leaves the meter blank."""
        target = self.backend.target
        if target.model and target.label not in self._facts:
            self._facts[target.label] = ModelFacts()  # asked once, whatever it answers
            self._discover_facts(target)
        self._show_meter()

    @work(group="facts", exit_on_error=False)
    async def _discover_facts(self, target: Target) -> None:
        self._facts[target.label] = await facts_for(target)
        self._show_meter()

    def _window(self) -> int | None:
        facts = self._facts.get(self.backend.target.label)
        return facts.context if facts is not None else None

    def _reserve(self) -> int:
        """Tokens the request keeps for the reply (its ``max_tokens``, when set)."""
        limit = self.session.parameters.get("max_tokens")
        return limit if isinstance(limit, int) and not isinstance(limit, bool) else 0

    def _show_meter(self) -> None:
        """The context meter: the conversation so far and, estimated, the box's text."""
        status = self.status
        window = self._window()
        status.context_window = window
        if window is None:
            status.context_tokens = None
            return
        try:
            use = self._context_use.plus(self.prompt.text)
            for attachment in self.pending_files.attachments:
                use = use.plus(attachment.text)  # files go with the next prompt too
        except NoMatches:  # the screen is going away
            return
        status.context_tokens = use.tokens
        status.context_estimated = use.estimated

    def _room_in_a_new_conversation(self) -> int | None:
        """Tokens a prompt may take in a new conversation (the system prompt and the reply's
        ``max_tokens`` kept aside), or None when the window is unknown."""
        use = ContextUse(estimate_tokens(self.session.system_prompt), True)
        return room_left(self._window(), use, self._reserve())

    def context_room(self) -> int | None:
        """Tokens left in the model's context window for the next prompt (the reply's
        ``max_tokens`` kept aside), or None when the window is unknown."""
        return room_left(self._window(), self._context_use, self._reserve())

    def _warn_too_long(self, text: str, typed: str) -> bool:
        """Ask what to do when ``text`` (the typed text with its files) clearly does not
        fit the window with the conversation (without what an edit branches away from); True
        when asked (the prompt then waits for the answer, and ``typed`` goes back to the box
        on Cancel)."""
        window = self._window()
        reserve = self._reserve()
        use = self._context_use
        if self._editing_reply():
            return False  # an edited reply is only stored: nothing is sent
        edited = self._editing if self._edit_draft is not None else None
        path = self.session.messages
        index = next((i for i, m in enumerate(path) if edited and m.id == edited.id), None)
        if index is not None:
            # An edit branches off before the edited message: what follows it is not sent.
            use = context_use(self.session.system_prompt, path[:index])
        if window is None or not would_overflow(window, use, text, reserve):
            return False
        needed = use.plus(text).tokens + reserve
        kept = f" (with {reserve} kept for the reply)" if reserve else ""
        alone = estimate_tokens(self.session.system_prompt) + estimate_tokens(text) + reserve
        fresh_fits = alone <= window
        label = self.backend.target.label
        explanation = (
            f"This prompt does not fit: with the conversation it comes to about "
            f"{short_count(needed)} tokens{kept}, and {label} holds {window_size(window)}. "
            "The server may refuse it or forget the start of the conversation.\n\n"
            + (
                "Nothing is removed from this conversation: start a new one with this "
                "prompt, send it here anyway, or cancel and edit it."
                if fresh_fits
                else f"The prompt alone is about {short_count(alone)} tokens, too long even "
                "for a new conversation: cancel and shorten it, or send it anyway."
            )
        )

        async def answer(choice: TooLongChoice | None) -> None:
            if choice == "send" and not self.conversation.streaming:
                await self._submit(typed)
            elif choice == "new" and not self.conversation.streaming:
                await self.open_session(self._new_session())
                await self._submit(typed)
            else:
                self._refuse(typed)

        self.app.push_screen(TooLong(explanation, offer_new=fresh_fits), answer)
        return True

    async def _stop_and_wait(self) -> None:
        """Stop the reply in flight, if any, and record how it ended before going on."""
        if self.conversation.streaming:
            self.conversation.cancel_reply()
            await self.conversation.workers.wait_for_complete()
            await self.app.animator.wait_until_complete()
        if self._reply is not None:
            await self._end_reply()

    def _reset_figures(self) -> None:
        status = self.status
        status.state = "idle"
        status.reply_tokens = None
        status.conversation_tokens = None
        status.reply_cost = status.total_cost = None
        status.time_to_first_token = None
        status.tokens_per_second = None

    # Actions

    async def action_stop(self) -> None:
        if self.conversation.cancel_reply():
            return
        if self._edit_draft is not None:
            await self._cancel_edit()
        elif self.focused is not self.prompt:
            self.prompt.focus()

    def _refuse_action(self, key: str, what: str) -> bool:
        """Say why ``key`` does nothing now, if it cannot act; True when it cannot."""
        if self.conversation.streaming:
            self.notify(
                f"A reply is still streaming: Esc stops it, then {key} {what}.",
                severity="warning",
                timeout=4,
            )
            return True
        if self.session.read_only:
            self.notify("This session is read-only; press Ctrl+N for a new one.", timeout=4)
            return True
        return False

    async def action_regenerate(self) -> None:
        """Ask again for the focused reply (or the last one): the new reply is a new
        version beside the old, which stays. On a focused prompt, ask it again."""
        if self._refuse_action("Ctrl+R", "asks again"):
            return
        await self._stop_and_wait()
        messages = self.session.messages
        focused = self.focused
        target = messages[-1] if messages else None
        if isinstance(focused, MessageView) and focused.message_id is not None:
            target = next((m for m in messages if m.id == focused.message_id), target)
        prompt = target
        if target is not None and target.role == "assistant":
            prompt = self.session.message(target.parent) if target.parent else None
        if prompt is None or prompt.role != "user":
            self.notify("There is no prompt to ask again yet.", timeout=3)
            return
        old = list(messages)
        if (
            target is not None
            and target.role == "assistant"
            and not (target.content or target.reasoning or self.session.children(target.id))
        ):
            # A reply without a word in it is no version worth keeping: the new one replaces it.
            self.session.delete_branch(target.id)
        self.session.go_to(prompt.id)
        self._dirty = True
        await self._show_branch(old)
        await self._start_reply()

    async def action_continue_reply(self) -> None:
        """Ask the model to carry on from a reply that was stopped or cut off (by the
        connection, by Esc, or by the token limit)."""
        if self._refuse_action("F5", "continues it"):
            return
        await self._stop_and_wait()
        messages = self.session.messages
        last = messages[-1] if messages and messages[-1].role == "assistant" else None
        if last is None:
            self.notify("There is no reply to continue.", severity="warning", timeout=3)
            return
        ending = last.ending
        if not last.content:
            reason = (
                "was stopped before the server answered"
                if ending == "stopped"
                else "has no text to continue from"
            )
            self.notify(f"The last reply {reason}: Ctrl+R asks again.", timeout=4)
            return
        if ending not in CONTINUABLE:
            why = {
                "content_filter": "was stopped by the provider's content filter",
                "tool_calls": "ended with a tool call",
            }.get(ending, "is complete")
            self.notify(f"The last reply {why}; Ctrl+R asks again.", timeout=3)
            return
        await self._send(CONTINUE_PROMPT)

    async def action_edit_last(self) -> None:
        """Put the last prompt in the box to edit (see ``_edit``)."""
        if self._edit_draft is not None or self.session.read_only:
            return
        await self._stop_and_wait()
        index = self._last_user_index()
        if index is None:
            self.notify("There is no prompt to edit yet.", timeout=3)
            return
        await self._start_edit(self.session.messages[index])

    async def action_edit_message(self) -> None:
        """Edit the focused message, or the last prompt when no message has focus."""
        focused = self.focused
        if isinstance(focused, MessageView) and focused.message_id is not None:
            await self._edit(focused.message_id)
        else:
            await self.action_edit_last()

    @on(MessageView.EditRequested)
    async def edit_requested(self, event: MessageView.EditRequested) -> None:
        event.stop()
        if event.view.message_id is not None:
            await self._edit(event.view.message_id)

    async def _edit(self, message_id: str) -> None:
        """Put a message in the box to edit. Nothing changes until it is sent: then it
        becomes a new version of the message, on a branch of its own (the old one and what
        follows it stay, a flip away). Esc gives the box back its draft."""
        if self.session.read_only:
            self.notify("This session is read-only; press Ctrl+N for a new one.", timeout=4)
            return
        if self._edit_draft is not None:
            await self._cancel_edit(quiet=True)
        await self._stop_and_wait()
        if all(message.id != message_id for message in self.session.messages):
            return  # no longer shown (the branch changed meanwhile)
        await self._start_edit(self.session.message(message_id))

    async def _start_edit(self, message: Message) -> None:
        index = self.session.messages.index(message)
        self._edit_draft = self.prompt.text
        self._editing = message
        for view in self._views_from(index):
            view.add_class("-replacing")
        self.prompt.set_text(await self._files_for_edit(message))
        self.prompt.focus()
        self.status.state = "editing"
        kept = " Your unsent text is kept: Esc brings it back." if self._edit_draft else ""
        hint = EDIT_REPLY_HINT if message.role == "assistant" else EDIT_PROMPT_HINT
        self.notify(hint + "." + kept, timeout=5, markup=False)

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

    async def _cancel_edit(self, *, quiet: bool = False) -> None:
        draft, self._edit_draft = self._edit_draft or "", None
        self._editing = None
        for view in self.conversation.query(".-replacing"):
            view.remove_class("-replacing")
        self.prompt.set_text(draft)
        await self._restore_pending_files(drop_current=True)
        self.status.state = "idle"
        if not quiet:
            self.notify("Edit cancelled.", timeout=2)

    async def _branch_for_edit(self, text: str) -> bool:
        """Start the branch an edit makes: an edited prompt is sent next from the place of
        the old one; an edited reply is added as a version of the old one here, and then
        nothing is sent (returns True)."""
        draft, self._edit_draft = self._edit_draft or "", None
        edited, self._editing = self._editing, None
        done = False
        if edited is not None and any(m.id == edited.id for m in self.session.messages):
            old = list(self.session.messages)
            self._undo_to = edited.id
            if edited.role == "assistant":
                version = Message("assistant", text, model=edited.model)
                self.session.branch_at(edited.id, version)
                done = True
            else:
                self.session.go_to(edited.parent)
            self._dirty = True
            await self._show_branch(old)
            self.notify(
                "The edit is a new branch; the old one stays: [ and ] on the message flip "
                "between them, 'Undo edit' (Ctrl+P) swaps back.",
                markup=False,
            )
        if draft:
            self.prompt.give_back(draft)
        if done:
            self.prompt.awaiting_reply = False  # no reply is coming: the box is free
            self.status.state = "idle"
            self.save()
        return done

    async def action_undo_edit(self) -> None:
        """Go back to the version the last edit branched away from (and again, forth)."""
        target = self._undo_to
        if target is None or self.session.read_only or not self._has(target):
            self.notify("There is no edit to undo.", timeout=3)
            return
        await self._stop_and_wait()
        depth = len(self.session.path_to(target)) - 1
        shown = self.session.messages[depth] if depth < len(self.session.messages) else None
        await self._show_leaf(self.session.leaf_of(target))
        self._undo_to = shown.id if shown is not None else None
        self.notify("Swapped the earlier version back in; 'Undo edit' again swaps back.")

    # Branches

    def _has(self, message_id: str) -> bool:
        return self.session.has(message_id)

    def _label(self, view: MessageView, message: Message) -> MessageView:
        """Tie a widget to its message, and show which version of it this is."""
        view.message_id = message.id
        if self._has(message.id):
            view.show_versions(*self.session.sibling_position(message.id))
        return view

    async def _show_branch(self, old: list[Message]) -> None:
        """Show the current branch after it changed from ``old``: the start they share
        stays mounted, the rest is replaced, and the figures follow."""
        new = self.session.messages
        same = 0
        for before, after in zip(old, new, strict=False):
            if before is not after:
                break
            same += 1
        conversation = self.conversation
        views = conversation.messages
        if self.focused in views:
            # Else removing it hands focus to a neighbour, and Textual then scrolls to that
            # one after the new branch is shown (the caller focuses what it means to).
            self.prompt.focus(scroll_visible=False)
        older = len(self._unmounted_older)
        if same < older or len(views) != len(old) - older:
            # The change starts above what is mounted: mount the window again.
            await conversation.remove_children(views)
            self._unmounted_older = new[:-WINDOW] if len(new) > WINDOW else []
            fresh = new[-WINDOW:]
        else:
            await conversation.remove_children(views[same - older :])
            fresh = new[same:]
        if fresh:
            await conversation.mount_all([self._widget_for(m) for m in fresh])
        for view in conversation.messages:
            if view.message_id is not None and self._has(view.message_id):
                view.show_versions(*self.session.sibling_position(view.message_id))
        replies = [m for m in new if m.role == "assistant"]
        self._show_figures(replies[-1] if replies else None)

    async def _show_leaf(self, leaf: str) -> None:
        """Make the branch ending at ``leaf`` the current one, show it and save that it is
        (a session reopens on the branch it was left on)."""
        old = list(self.session.messages)
        self.session.go_to(leaf)
        await self._show_branch(old)
        self.save(changed=True)

    async def show_branch_with(self, query: str) -> None:
        """Show a branch whose messages hold ``query``, when the current one does not."""
        if self.conversation.streaming:
            return  # the reply streams into the branch on screen
        leaf = self.session.find_branch(query)
        if leaf is not None and leaf != self.session.current:
            await self._show_leaf(leaf)

    @on(MessageView.VersionRequested)
    async def version_requested(self, event: MessageView.VersionRequested) -> None:
        event.stop()
        await self._flip(event.view, event.step)

    async def action_switch_version(self, step: int) -> None:
        """Show the previous (-1) or next (1) version of the focused message, or of the
        last message that has versions when none has focus."""
        focused = self.focused
        view = focused if isinstance(focused, MessageView) else None
        if view is None:
            versioned = [v for v in self.conversation.messages if v.versions[1] > 1]
            view = versioned[-1] if versioned else None
        if view is None:
            self.notify(
                "No message here has other versions yet: e on a message edits it, "
                "Ctrl+R asks again for a reply.",
                timeout=4,
            )
            return
        await self._flip(view, step)

    async def _flip(self, view: MessageView, step: int) -> None:
        if view.message_id is None or not self._has(view.message_id):
            return
        if self.conversation.streaming:
            self.notify(
                "A reply is still streaming: Esc stops it, then [ and ] switch versions.",
                severity="warning",
                timeout=4,
                markup=False,
            )
            return
        position, count = self.session.sibling_position(view.message_id)
        if count == 1:
            self.notify(
                "This message has no other versions: e edits it, Ctrl+R on a reply asks again.",
                timeout=3,
            )
            return
        if self._edit_draft is not None:
            await self._cancel_edit(quiet=True)
        await self._stop_and_wait()
        old = list(self.session.messages)
        target = self.session.switch(view.message_id, step)
        if target is None:
            edge = "first" if step < 0 else "last"
            self.notify(f"This is the {edge} version ({position}/{count}).", timeout=2)
            return
        await self._show_branch(old)
        self.save(changed=True)
        shown = next((v for v in self.conversation.messages if v.message_id == target.id), None)
        if shown is not None:
            self.conversation.reveal(shown)

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

    # Attachments

    @property
    def pending_files(self) -> PendingAttachments:
        return self.query_one(PendingAttachments)

    @work(exclusive=True, group="attach")
    async def action_attach_file(self) -> None:
        """Pick a file under the working directory to send with the next prompt."""
        root = Path.cwd()
        chosen = await self.app.push_screen_wait(FilePicker(root))
        if chosen:
            await self.attach(root / Path(chosen).expanduser(), chosen)
        self.prompt.focus()

    async def _attach_mentioned(self, text: str) -> bool:
        """Add the files the prompt names as ``@path`` to the pending ones; False (with the
        reason said) when one of them cannot go."""
        root = Path.cwd()
        for name in mentioned_paths(text, root):
            if self.pending_files.has(name):
                continue  # picked with Ctrl+F as well: it goes once
            if not await self.attach(root / Path(name).expanduser(), name):
                return False
        return True

    async def attach(self, path: Path, name: str) -> bool:
        """Read ``path`` and add it to the files pending for the next prompt, or say in
        words why it cannot go (nothing is added then). True when it is pending."""
        if self.pending_files.has(name):
            self.notify(f"{neutralise(name)} is attached already.", timeout=3)
            return True
        config = getattr(self.app, "config", None)
        settings = (config if isinstance(config, Config) else Config()).app
        try:
            attachment: Attachment = read_attachment(
                path, max_bytes=settings.max_attachment_kb * 1024, name=name
            )
        except AttachmentError as error:
            self.notify(neutralise(str(error)), severity="error", timeout=8, markup=False)
            return False
        await self.pending_files.add(attachment)
        return True

    @on(PendingAttachments.Changed)
    def pending_files_changed(self, event: PendingAttachments.Changed) -> None:
        # The box may send with no typed text while files are waiting.
        self.prompt.has_attachments = event.count > 0
        self._show_meter()
        if not event.count and self.focused is None:
            self.prompt.focus()
