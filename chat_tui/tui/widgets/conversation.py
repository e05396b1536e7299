"""The scrolling conversation pane and the worker that streams a reply into it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, suppress
from dataclasses import dataclass, field
from typing import Protocol

from textual import work
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.geometry import Size
from textual.message import Message
from textual.widget import Widget

from chat_tui.client.events import (
    ContentDelta,
    Finish,
    ReasoningDelta,
    SkippedEvent,
    StreamEvent,
    Usage,
)
from chat_tui.client.metrics import ReplyMetrics
from chat_tui.client.retry import BASE_DELAY, retry_delay, should_retry
from chat_tui.errors import ChatTuiError, ClientError, HTTPStatusError
from chat_tui.sessions import AttachedFile
from chat_tui.tui.widgets.line_scroll_bar import WithLineScrollBar
from chat_tui.tui.widgets.messages import AssistantMessage, MessageView, UserMessage
from chat_tui.tui.widgets.prose_view import LaidOutOnce
from chat_tui.tui.worker_errors import ReportsWorkerErrors, WorkerFailed

#: Seconds between two renders of a streaming reply: 12 a second. Everything that arrives
#: in between is joined into one append, so the cost of rendering does not grow with the
#: number of tokens the server sends. Each render costs a frame and a new rendering of the
#: open Markdown block (2 to 3 ms of CPU together): at 20 a second that was the larger part
#: of the app's CPU at 100 tokens a second. 15 a second cost a quarter less; 12 a second
#: another tenth (measured by turns, benchmarks/run.py rate-100), and text still moves as
#: it arrives, a few words at a time. A slower stream is drawn as each token arrives.
RENDER_INTERVAL = 1 / 12
#: Seconds between two updates of the live figures (speed, tokens) while a reply streams.
PROGRESS_INTERVAL = 0.25
#: After a render that took ``cost`` seconds to reach the screen, the next waits at least
#: this many times as long. In a burst the text waiting to be read is the backlog, and each
#: frame lays out the whole reply: drawing 20 times a second left the reader a fraction of
#: the CPU, so that a 20,000-token burst was read (and shown) seconds after the server had
#: sent it all. Rendering now takes at most a third of the time while text keeps arriving.
RENDER_BACKOFF = 2.0
#: Seconds between two frames of the screen (Textual draws at most 60 a second).
FRAME = 1 / 60


class Alarm:
    """A sleep that ends early once the alarm rings (the stream ended: render what is left
    now). ``asyncio.wait_for`` on an event did the same with a task and a timer for each
    wait, two a render."""

    def __init__(self) -> None:
        self.rung = False
        self._waiter: asyncio.Future[None] | None = None

    def ring(self) -> None:
        self.rung = True
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def reset(self) -> None:
        self.rung = False

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds``, or until the alarm rings, whichever is first."""
        if self.rung or seconds <= 0:
            return
        loop = asyncio.get_running_loop()
        self._waiter = waiter = loop.create_future()
        timer = loop.call_later(seconds, _wake, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def render_pause(cost: float) -> float:
    """Seconds to wait before the next render, after one that took ``cost`` seconds."""
    return max(RENDER_INTERVAL - cost, cost * RENDER_BACKOFF)


def describe_error(error: ChatTuiError | None) -> str | None:
    """The error as a reply keeps it: the server's words and a hint. The keys that help
    are added where it is shown, by how the reply ended (``ending_note``)."""
    if error is None:
        return None
    hint = error.hint if isinstance(error, ClientError) and error.hint else ""
    return " ".join(part for part in (str(error), hint) if part)


def skipped_warning(skipped: list[SkippedEvent]) -> str | None:
    """In words, that a reply may be missing text because events were left out."""
    if not skipped:
        return None
    first = skipped[0]
    count = "an event" if len(skipped) == 1 else f"{len(skipped)} events"
    return (
        f"Possibly incomplete: the server sent {count} that could not be read and "
        f"{'was' if len(skipped) == 1 else 'were'} left out "
        f"(event {first.number}: {first.preview!r})."
    )


class EventStream(Protocol):
    """What the conversation needs from a streamed reply: events and live metrics."""

    metrics: ReplyMetrics
    #: Once caught up with the server, the least seconds between two reads of the socket.
    read_interval: float

    def __aiter__(self) -> AsyncIterator[StreamEvent]: ...


OpenStream = Callable[[], AbstractAsyncContextManager[EventStream]]


@dataclass
class ReplyOutcome:
    """How a reply ended, for the screen to save and show."""

    content: str = ""
    reasoning: str = ""
    #: streaming until the worker ends, then complete, stopped, cut_off or error (the
    #: server's finish_reason says more about a complete one: length, tool_calls...).
    status: str = "streaming"
    error: ChatTuiError | None = None
    finish_reason: str | None = None
    usage: Usage | None = None
    metrics: ReplyMetrics = field(default_factory=ReplyMetrics)
    #: Events the client could not read and left out: the reply may be missing text.
    skipped: list[SkippedEvent] = field(default_factory=list)

    @property
    def warning(self) -> str | None:
        return skipped_warning(self.skipped)


class Conversation(
    ReportsWorkerErrors, LaidOutOnce, WithLineScrollBar, VerticalScroll, can_focus=False
):
    """Messages, newest at the bottom, following new text unless the user scrolls up."""

    #: First step of the retry backoff, in seconds (tests make it small).
    retry_base = BASE_DELAY
    #: When the live figures were last reported (see PROGRESS_INTERVAL).
    _last_progress = 0.0
    #: Told the reply's live figures while it streams (the screen's status bar shows them).
    #: A call, not a message: a message reached the status bar through three queues, about
    #: 7 ms later, after the frame that drew the text, and so repainted it in a frame of
    #: its own (a frame costs about a millisecond, however little it repaints).
    progress_listener: Callable[[ReplyOutcome], None] | None = None

    BINDINGS = [
        Binding("ctrl+up", "focus_message(-1)", "Previous message", show=False),
        Binding("ctrl+down", "focus_message(1)", "Next message", show=False),
    ]

    class ReplyStarted(Message):
        """The server answered and the reply has begun to stream."""

    @dataclass
    class RetryCountdown(Message):
        """The request failed before any text arrived and will be sent again."""

        attempt: int
        seconds_left: float
        reason: str

    @dataclass
    class ReplyFinished(Message):
        """The reply ended, for whatever reason."""

        message: AssistantMessage
        outcome: ReplyOutcome

    def on_mount(self) -> None:
        self.anchor()

    def _size_updated(
        self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True
    ) -> bool:
        changed = super()._size_updated(size, virtual_size, container_size, layout)
        # Growing moves the scrollbar's thumb, which Textual repaints in a frame of its own
        # after the layout's (a message away): one frame in every eight while a reply
        # streams. Its rows are added to the layout's frame instead, which is being drawn.
        bar = self._vertical_scrollbar
        if changed and bar is not None and bar._repaint_regions and self.is_attached:
            self.screen._compositor.update_widgets({bar})
        return changed

    @property
    def messages(self) -> list[MessageView]:
        return list(self.query_children(MessageView))

    @property
    def streaming(self) -> bool:
        return any(
            worker.group == "reply" and worker.is_running for worker in self.workers._workers
        )

    async def add_user(self, text: str, attachments: Sequence[AttachedFile] = ()) -> UserMessage:
        message = UserMessage(text, attachments)
        await self.mount(message)
        return message

    async def add_assistant(self, **kwargs: object) -> AssistantMessage:
        message = AssistantMessage(**kwargs)  # type: ignore[arg-type]
        await self.mount(message)
        return message

    async def clear(self) -> None:
        self.cancel_reply()
        await self.remove_children()

    def cancel_reply(self) -> bool:
        """Stop the streaming reply, if there is one; returns whether there was."""
        cancelled = False
        for worker in self.workers._workers:
            if worker.group == "reply" and worker.is_running:
                worker.cancel()
                cancelled = True
        return cancelled

    async def start_reply(
        self, open_stream: OpenStream, *, model: str
    ) -> tuple[AssistantMessage, ReplyOutcome]:
        """Add an empty assistant message and stream a reply into it in a worker.

        The outcome is filled in as the reply streams; once the worker has ended it is final
        (its status is no longer "streaming"), whether or not ReplyFinished was handled yet.
        """
        message = await self.add_assistant(model=model, status="streaming")
        self.anchor()
        outcome = ReplyOutcome()
        self._stream_reply(message, open_stream, outcome)
        return message, outcome

    @work(exclusive=True, group="reply", exit_on_error=False)
    async def _stream_reply(
        self, message: AssistantMessage, open_stream: OpenStream, outcome: ReplyOutcome
    ) -> None:
        content: list[str] = []
        reasoning: list[str] = []
        wake = asyncio.Event()
        ended = Alarm()  # rings when the stream ends: render what is left now, not later
        finished = False

        async def read(stream: EventStream) -> None:
            nonlocal finished
            started = False
            try:
                async for event in stream:
                    if isinstance(event, ContentDelta):
                        content.append(event.text)
                    elif isinstance(event, ReasoningDelta):
                        reasoning.append(event.text)
                    elif isinstance(event, Finish):
                        outcome.finish_reason = event.reason
                        continue
                    elif isinstance(event, Usage):
                        outcome.usage = event
                        continue
                    elif isinstance(event, SkippedEvent):
                        outcome.skipped.append(event)
                        continue
                    else:
                        # Tool calls are not run here: the finish_reason says the model asked.
                        continue
                    if not started:
                        started = True
                        self.post_message(self.ReplyStarted())
                    wake.set()
            finally:
                finished = True
                ended.ring()
                wake.set()

        async def render() -> None:
            while True:
                await wake.wait()
                wake.clear()
                began = time.monotonic()
                await self._render_pending(message, content, reasoning, outcome)
                if finished and not content and not reasoning:
                    return
                # The cost of a render is mostly the frame it causes (layout, compositing),
                # which the screen draws within a frame's time: how late a sleep that long
                # wakes up says how busy the app was meanwhile, drawing it (and reading).
                slept = time.monotonic()
                await ended.sleep(FRAME)
                woke = time.monotonic()
                cost = (slept - began) + max(0.0, woke - slept - FRAME)
                await ended.sleep(render_pause(cost) - (woke - slept))

        attempt = 0
        while True:
            try:
                async with open_stream() as stream:
                    outcome.metrics = stream.metrics
                    # Text is drawn once per render interval at most: reading the socket
                    # more often than that only costs CPU (a wakeup per event).
                    stream.read_interval = RENDER_INTERVAL
                    renderer = asyncio.create_task(render())
                    try:
                        await read(stream)
                    except BaseException:
                        renderer.cancel()
                        raise
                    finally:
                        with suppress(asyncio.CancelledError):
                            await renderer
                outcome.status = "complete"
                break
            except asyncio.CancelledError:
                outcome.status = "stopped"
                break
            except Exception as error:
                if not isinstance(error, ChatTuiError):
                    # A bug, not a server's answer: end the reply in words (the app's error
                    # handler hears of it too) rather than leave it "connecting" forever.
                    self.post_message(WorkerFailed(error))
                    error = ChatTuiError(f"Internal error: {type(error).__name__}: {error}")
                received = bool(outcome.content or content or outcome.reasoning or reasoning)
                if not should_retry(error, attempt, received_any=received):
                    outcome.error = error
                    outcome.status = "cut_off" if received else "error"
                    break
                retry_after = error.retry_after if isinstance(error, HTTPStatusError) else None
                delay = retry_delay(attempt, retry_after, base=self.retry_base)
                attempt += 1
                finished = False
                ended.reset()
                wake.clear()
                try:
                    await self._count_down(attempt, delay, str(error))
                except asyncio.CancelledError:
                    outcome.status = "stopped"
                    outcome.error = error
                    break
        try:
            await self._render_pending(message, content, reasoning, outcome)
            await message.finish(
                outcome.status,
                describe_error(outcome.error),
                finish_reason=outcome.finish_reason,
                warning=outcome.warning,
            )
        finally:
            # Whatever happened above, the screen must hear that the reply is over.
            self.post_message(self.ReplyFinished(message, outcome))

    async def _count_down(self, attempt: int, delay: float, reason: str) -> None:
        """Wait before a retry, telling the screen how long is left once a second."""
        deadline = time.monotonic() + delay
        while (left := deadline - time.monotonic()) > 0:
            self.post_message(self.RetryCountdown(attempt, left, reason))
            await asyncio.sleep(min(1.0, left))

    async def _render_pending(
        self,
        message: AssistantMessage,
        content: list[str],
        reasoning: list[str],
        outcome: ReplyOutcome,
    ) -> None:
        if reasoning:
            text = "".join(reasoning)
            reasoning.clear()
            outcome.reasoning += text
            await message.append_reasoning(text)
        if content:
            text = "".join(content)
            content.clear()
            outcome.content += text
            await message.append_content(text)
        now = time.monotonic()
        if now - self._last_progress >= PROGRESS_INTERVAL or outcome.status != "streaming":
            # Live figures need not change 12 times a second. The last render always
            # reports.
            self._last_progress = now
            if self.progress_listener is not None:
                self.progress_listener(outcome)

    def action_focus_message(self, step: int) -> None:
        messages = self.messages
        if not messages:
            return
        focused = self.screen.focused
        if isinstance(focused, MessageView) and focused in messages:
            index = messages.index(focused) + step
        else:
            index = len(messages) - 1 if step < 0 else 0
        index = max(0, min(len(messages) - 1, index))
        self.reveal(messages[index])

    def reveal(self, view: MessageView) -> None:
        """Focus a message and bring it into view: all of it when it fits, else its start
        (its header, with the versions), once it has been laid out."""
        view.focus(scroll_visible=False)
        # Else the anchor pulls the view back to the bottom when the branch below mounts.
        self.release_anchor()

        def scroll() -> None:
            if view.is_attached:
                tall = view.outer_size.height > self.scrollable_content_region.height
                self.scroll_to_widget(view, animate=False, top=tall, immediate=True)

        self.call_after_refresh(scroll)

    def last_of(self, kind: type[Widget]) -> Widget | None:
        found = [child for child in self.children if isinstance(child, kind)]
        return found[-1] if found else None
