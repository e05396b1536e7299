"""``chat-tui ask``: one prompt in, the streamed reply out, for pipes and scripts.

Scripts trust the exit code, so every way a reply can end has its own (see EXIT_* below,
``ask --help`` and the README): a reply the server cut short or that arrived damaged is
printed but never reported as a plain success.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from chat_tui import output
from chat_tui.attachments import (
    DEFAULT_MAX_BYTES,
    Attachment,
    check_room,
    check_size,
    compose_message,
    read_attachment,
)
from chat_tui.backend import Backend
from chat_tui.client import ContentDelta, ReasoningDelta, SkippedEvent, Usage
from chat_tui.client.retry import MAX_RETRIES, retry_delay, should_retry
from chat_tui.config import ConversationDefaults, Target
from chat_tui.context_window import configured_facts
from chat_tui.errors import ChatTuiError, ClientError, OutputError, UsageError
from chat_tui.meter import format_cost
from chat_tui.output import report
from chat_tui.safe_text import check_utf8, neutralise
from chat_tui.sessions import AttachedFile, Message, Session, SessionStore
from chat_tui.sessions import Usage as SessionUsage

EXIT_OK = 0
#: The server, the network, a timeout, the configuration, a session file, or stdout.
EXIT_ERROR = 1
#: The command as given cannot work: a bad option or value, an empty prompt, binary stdin.
EXIT_USAGE = 2
#: The server ended the reply early (finish_reason length, content_filter, tool_calls).
EXIT_CUT_OFF = 3
#: Events of the stream could not be read and were skipped: text may be missing.
EXIT_DAMAGED = 4
EXIT_HANGUP = 128 + 1
EXIT_INTERRUPTED = 128 + 2
EXIT_TERMINATED = 128 + 15
#: The program reading stdout exited (``chat-tui ask ... | head -1``).
EXIT_BROKEN_PIPE = output.EXIT_BROKEN_PIPE

#: Why a reply ended early, by finish_reason.
CUT_OFF_REASONS = {
    "length": "the model reached its token limit",
    "content_filter": "the server's content filter stopped it",
    "tool_calls": "the model asked to call a tool, which ask does not do",
    "function_call": "the model asked to call a function, which ask does not do",
}
#: Signals that stop a reply the way Ctrl+C does: the partial reply is saved as stopped.
STOP_SIGNALS: dict[int, int] = {
    signal.SIGINT: EXIT_INTERRUPTED,
    signal.SIGTERM: EXIT_TERMINATED,
    **({signal.SIGHUP: EXIT_HANGUP} if hasattr(signal, "SIGHUP") else {}),
}
#: Unreadable events reported one by one; beyond this only their number is given.
SKIPPED_SHOWN = 5
#: The offline demo streams quickly here: a script has no reader to pace for.
DEMO_TOKENS_PER_SECOND = 400


@dataclass(frozen=True)
class AskRequest:
    """What one ``ask`` run was asked for on its command line."""

    prompt: str
    #: None: the session's system prompt, or the config's for a new conversation.
    system: str | None = None
    show_reasoning: bool = False
    show_usage: bool = False
    temperature: float | None = None
    max_tokens: int | None = None
    #: Retries of a failed request before the first token (0: none).
    retries: int = MAX_RETRIES
    #: Save the exchange as a session (a new one unless one was given).
    save: bool = True
    #: The files whose blocks end ``prompt`` (see ``read_prompt``).
    attachments: tuple[AttachedFile, ...] = ()


@dataclass
class Turn:
    """What is sent for one ask, and the session it is saved in (None: not saved)."""

    messages: list[dict[str, str]]
    parameters: dict[str, Any]
    session: Session | None


@dataclass
class Reply:
    """What has arrived of the reply so far."""

    content: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    usage: Usage | None = None
    finish_reason: str | None = None
    skipped: list[SkippedEvent] = field(default_factory=list)

    @property
    def received_any(self) -> bool:
        return bool(self.content or self.reasoning)


@dataclass(frozen=True)
class Prompt:
    """The user message to send: the typed text with any attachments folded in."""

    text: str
    #: What was attached, in the order of its blocks at the end of ``text``.
    attachments: tuple[AttachedFile, ...] = ()


def read_prompt(
    words: list[str],
    stdin: TextIO | None,
    files: Sequence[str] = (),
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    room_tokens: int | None = None,
) -> Prompt:
    """The prompt: the arguments, with each ``--file`` attached as a fenced block. Standard
    input, when it is not a terminal, is attached too (``git diff | chat-tui ask "write a
    commit message"``), or is the prompt itself when no arguments are given.

    UsageError when there is nothing to send, stdin is not text, or a file cannot be
    attached (missing, a folder, binary, over ``max_bytes``, or more than ``room_tokens``,
    the room left in the context window when that is known).
    """
    typed = " ".join(words)
    check_utf8("the prompt", typed)
    piped = ""
    if stdin is not None and not _isatty(stdin):
        piped = _read_stdin(stdin)
    attachments = [read_attachment(path, max_bytes=max_bytes) for path in files]
    if typed.strip() and piped.strip():
        text_in = Attachment("stdin", piped, len(piped.encode("utf-8")))
        check_size(text_in, max_bytes)
        attachments.insert(0, text_in)
    elif not typed.strip():
        typed = piped if piped.strip() else ""
    if not typed.strip() and not attachments:
        raise UsageError("the prompt is empty: give it as arguments or on stdin.")
    check_room(attachments, room_tokens)
    return Prompt(
        compose_message(typed, attachments),
        tuple(AttachedFile(attachment.name, attachment.size) for attachment in attachments),
    )


def _read_stdin(stdin: TextIO) -> str:
    binary = getattr(stdin, "buffer", None)
    if binary is None:  # an in-memory text stream (tests)
        return stdin.read()
    data: bytes = binary.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UsageError(
            f"stdin is not UTF-8 text (byte 0x{data[error.start]:02x} at offset "
            f"{error.start}); ask sends text only."
        ) from None
    if (nul := text.find("\x00")) >= 0:
        raise UsageError(
            f"stdin holds binary data (a NUL byte at offset {nul}); ask sends text only."
        )
    return text.removeprefix("\ufeff")


def plan_turn(
    target: Target,
    request: AskRequest,
    defaults: ConversationDefaults,
    session: Session | None,
) -> Turn:
    """The messages and parameters to send, and the session to save them in.

    A new conversation starts from the config's defaults, with the flags laid over them,
    and is saved with them. A continued one uses its own system prompt and parameters
    (the config's fill in what it lacks, as in the app); flags given with it apply to this
    turn only and leave the session's own settings alone.
    """
    flags: dict[str, Any] = {}
    if request.temperature is not None:
        flags["temperature"] = request.temperature
    if request.max_tokens is not None:
        flags["max_tokens"] = request.max_tokens
    if session is None:
        system = defaults.system_prompt if request.system is None else request.system
        parameters = {**defaults.parameters, **flags}
        if request.save:
            session = Session(system_prompt=system, parameters=dict(parameters))
            _record_target(session, target)
        history: list[dict[str, str]] = []
    else:
        drop_failed_retry(session, request.prompt)
        system = session.system_prompt if request.system is None else request.system
        parameters = {**defaults.parameters, **session.parameters, **flags}
        history = answered_turns(session)
        _record_target(session, target)
        if not request.save:
            session = None
    messages = [{"role": "system", "content": system}] if system else []
    messages += [*history, {"role": "user", "content": request.prompt}]
    return Turn(messages, parameters, session)


def _record_target(session: Session, target: Target) -> None:
    """Note in the session where its replies come from, as the app does, so that reopening
    it (in the app or with --continue) finds the same endpoint again."""
    saved = target.saved
    session.provider, session.model, session.base_url = saved.provider, saved.model, saved.base_url


def drop_failed_retry(session: Session, prompt: str) -> bool:
    """Remove the last exchange when it is this same prompt and got no reply text (an
    error, a stop before the first token, a run killed before the reply): sending it again
    replaces it instead of leaving two copies of the prompt in the conversation."""
    messages = session.messages
    end = len(messages)
    if end and messages[-1].role == "assistant" and not messages[-1].content:
        end -= 1
    if end and messages[end - 1].role == "user" and messages[end - 1].content == prompt:
        asked = messages[end - 1]
        if end < len(messages):
            session.delete_branch(messages[-1].id)
        if session.children(asked.id):
            # Another branch holds a reply to it: that stays, and the retry is a new branch.
            session.go_to(asked.parent)
        else:
            session.delete_branch(asked.id)
        return True
    return False


def answered_turns(session: Session) -> list[dict[str, str]]:
    """The conversation as sent: every turn except replies with no text and the prompts
    they failed to answer. Those stay in the file, but the model never saw them, and two
    user messages in a row are rejected by servers with strict chat templates."""
    turns: list[dict[str, str]] = []
    for message in session.messages:
        if message.role == "assistant" and not message.content:
            continue
        if message.role == "user" and turns and turns[-1]["role"] == "user":
            turns.pop()
        turns.append({"role": message.role, "content": message.content})
    if turns and turns[-1]["role"] == "user":
        turns.pop()
    return turns


class Printer:
    """The reply to stdout as it arrives; reasoning, notes and usage to stderr.

    On a terminal stderr, reasoning is labelled and dimmed so it cannot be mistaken for the
    answer, and its control characters are made visible (stdout's are, by its stream).
    """

    def __init__(self, out: TextIO, err: TextIO, *, show_reasoning: bool) -> None:
        self.out = out
        self.err = err
        self.show_reasoning = show_reasoning
        self.err_terminal = _isatty(err)
        self.style = self.err_terminal and not os.environ.get("NO_COLOR")
        self.in_reasoning = False
        self.wrote_content = False
        self.ends_with_newline = True
        self.broken = False

    def content(self, text: str) -> None:
        self.end_reasoning()
        self.wrote_content = True
        try:
            self.out.write(text)
            self.out.flush()
        except OutputError:
            self.broken = True
            raise
        self.ends_with_newline = text.endswith("\n")

    def reasoning(self, text: str) -> None:
        if not self.show_reasoning:
            return
        if self.err_terminal:
            text = neutralise(text)
            if not self.in_reasoning:
                text = ("\x1b[2m" if self.style else "") + "reasoning:\n" + text
        self.in_reasoning = True
        self.err.write(text)
        self.err.flush()

    def end_reasoning(self) -> None:
        if self.in_reasoning:
            self.in_reasoning = False
            self.err.write(("\x1b[0m" if self.style else "") + "\n")
            self.err.flush()

    def skipped(self, event: SkippedEvent, count: int) -> None:
        if count <= SKIPPED_SHOWN:
            self.note(
                f"warning: skipped unreadable event #{event.number} from the server "
                f"(the reply may be missing text): {event.preview!r}"
            )

    def note(self, line: str) -> None:
        """One line on stderr, after any reasoning, with the server's words made inert."""
        self.end_reasoning()
        self.err.write(one_line(line) + "\n")
        self.err.flush()

    def finish(self) -> None:
        """End the reply's last line, unless stdout is what failed."""
        self.end_reasoning()
        if self.wrote_content and not self.ends_with_newline and not self.broken:
            self.out.write("\n")
            self.out.flush()
            self.ends_with_newline = True


def one_line(text: object) -> str:
    """A message on one inert line: server words may hold newlines and escape sequences."""
    return neutralise(" ".join(str(text).split()))


def run(
    target: Target,
    request: AskRequest,
    *,
    session: Session | None = None,
    store: SessionStore | None = None,
    defaults: ConversationDefaults | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Run one ask to completion and return the process exit code."""
    out = out or sys.stdout
    err = err or sys.stderr
    if target.provider.demo and not (session is not None and session.provider == "demo"):
        err.write(
            "chat-tui: no provider configured, using the built-in offline demo. "
            "Set OPENAI_API_KEY, or run 'chat-tui config init' to add a provider.\n"
        )
    if session is not None and session.provider and session.model:
        made = f"{session.provider}/{session.model}"
        now = target.saved
        same_endpoint = (session.provider, session.base_url) == (now.provider, now.base_url)
        if not same_endpoint:
            # A flag sent this turn to another endpoint than the session's own: worth a line
            # (a model named with --model is the user's own, visible choice).
            where = f" at {session.base_url}" if session.base_url else ""
            err.write(
                one_line(f"note: session made with {made}{where}; this turn goes to "
                         f"{target.label}") + "\n"
            )
    turn = plan_turn(target, request, defaults or ConversationDefaults(), session)
    asking = _Ask(target, request, turn, store if turn.session else None, out, err)
    try:
        return asyncio.run(asking.main())
    except KeyboardInterrupt:  # Ctrl+C before the signal handlers were in place
        err.write("\nerror: interrupted\n")
        return EXIT_INTERRUPTED
    except OutputError as error:
        return report(error, err)
    except ChatTuiError as error:
        err.write(f"error: {one_line(error)}\n")
        hint = getattr(error, "hint", None)
        if hint:
            # The same advice the app shows under a failed reply ("Check the API key.").
            err.write(f"hint: {one_line(ChatTuiError(hint))}\n")
        return EXIT_USAGE if isinstance(error, UsageError) else EXIT_ERROR


class _Ask:
    """One run: send, print, retry, save, and turn how it ended into an exit code."""

    def __init__(
        self,
        target: Target,
        request: AskRequest,
        turn: Turn,
        store: SessionStore | None,
        out: TextIO,
        err: TextIO,
    ) -> None:
        self.target = target
        self.request = request
        self.turn = turn
        self.store = store
        self.printer = Printer(out, err, show_reasoning=request.show_reasoning)
        self.reply = Reply()
        self.signal: int | None = None
        self.saved_reply = False

    async def main(self) -> int:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        handled: list[int] = []
        for signum in STOP_SIGNALS:
            try:
                loop.add_signal_handler(signum, self._on_signal, signum, task)
                handled.append(signum)
            except (NotImplementedError, RuntimeError, ValueError):
                pass  # no such handlers on this platform: the default action stays
        try:
            return await self._ask()
        except asyncio.CancelledError:
            if self.signal is None:
                raise
            task.uncancel()
            name = signal.Signals(self.signal).name
            kept = "; the partial reply was saved as stopped" if self.saved_reply else ""
            self.printer.note(f"error: stopped by {name}{kept}")
            return STOP_SIGNALS[self.signal]
        finally:
            for signum in handled:
                loop.remove_signal_handler(signum)

    def _on_signal(self, signum: int, task: asyncio.Task[int]) -> None:
        if self.signal is not None:
            # A second signal while the first one is being handled: leave at once.
            os._exit(STOP_SIGNALS[signum])
        self.signal = signum
        task.cancel()

    async def _ask(self) -> int:
        session = self.turn.session
        if session is not None:
            # The prompt is saved before the request, and the reply whatever happens to it,
            # so a conversation continued from a pipe is never lost and opens in the app.
            attached = list(self.request.attachments)
            session.add(Message("user", self.request.prompt, attachments=attached))
            self._save(session)
        message = Message("assistant", "", model=self.target.label)
        backend = Backend(self.target, demo_rate=DEMO_TOKENS_PER_SECOND)
        try:
            await backend.start()
            if backend.target != self.target:
                # No model was named: the backend took the endpoint's first one.
                self.target = backend.target
                self.printer.note(f"note: using {self.target.label}, the first model it lists")
                message.model = self.target.label
                if session is not None:
                    _record_target(session, self.target)
            await self._reply_with_retries(backend)
            self.printer.finish()
            message.status = "complete"
        except BaseException as error:
            if isinstance(error, KeyboardInterrupt | asyncio.CancelledError | OutputError):
                message.status = "stopped"
            else:
                message.status = "cut_off" if self.reply.content else "error"
            if isinstance(error, ChatTuiError):
                message.error = str(error)
            # What is being raised says more than a newline that could not be written.
            with contextlib.suppress(OutputError):
                self.printer.finish()
            raise
        finally:
            self._fill(message)
            # Saved before the backend closes: closing awaits, and a second signal there
            # must not cost the reply.
            if session is not None:
                session.add(message)
                self.saved_reply = self._save(session)
            await backend.close()
        return self._ending()

    async def _reply_with_retries(self, backend: Backend) -> None:
        retries = self.request.retries
        attempt = 0
        while True:
            self.reply = Reply()
            try:
                await self._stream(backend)
                return
            except ClientError as error:
                received = self.reply.received_any
                if not should_retry(error, attempt, received_any=received, max_retries=retries):
                    raise
                delay = retry_delay(attempt, getattr(error, "retry_after", None))
                attempt += 1
                self.printer.note(
                    f"note: {error} Retrying in {delay:.1f} s (retry {attempt} of {retries})."
                )
                await asyncio.sleep(delay)

    async def _stream(self, backend: Backend) -> None:
        reply, printer = self.reply, self.printer
        async with backend.stream(self.turn.messages, **self.turn.parameters) as stream:
            async for event in stream:
                if isinstance(event, ContentDelta):
                    reply.content.append(event.text)
                    printer.content(event.text)
                elif isinstance(event, ReasoningDelta):
                    reply.reasoning.append(event.text)
                    printer.reasoning(event.text)
                elif isinstance(event, SkippedEvent):
                    reply.skipped.append(event)
                    printer.skipped(event, len(reply.skipped))
            reply.usage = stream.usage
            reply.finish_reason = stream.finish_reason

    def _fill(self, message: Message) -> None:
        reply = self.reply
        message.content = "".join(reply.content)
        message.reasoning = "".join(reply.reasoning)
        message.finish_reason = reply.finish_reason
        if reply.usage is not None:
            usage = reply.usage
            message.usage = SessionUsage(
                usage.prompt_tokens, usage.completion_tokens, usage.total_tokens, cost=self._cost()
            )

    def _cost(self) -> float | None:
        """The reply's cost: the server's own figure, else the configured prices'; None
        when neither is known (never a zero that nobody said)."""
        usage = self.reply.usage
        if usage is None:
            return None
        if usage.cost is not None:
            return usage.cost
        facts = configured_facts(self.target.provider, self.target.model or "")
        return facts.cost(usage.prompt_tokens, usage.completion_tokens)

    def _ending(self) -> int:
        """Report how a reply that arrived ended, and the exit code for it."""
        reply, printer = self.reply, self.printer
        if self.request.show_usage:
            if reply.usage is not None:
                usage = reply.usage
                cost = self._cost()
                printer.note(
                    f"usage: {usage.prompt_tokens} prompt + {usage.completion_tokens} "
                    f"completion = {usage.total_tokens} tokens"
                    + (f", {format_cost(cost)}" if cost is not None else "")
                )
            else:
                estimate = len("".join(reply.content)) // 4
                printer.note(f"usage: ~{estimate} completion tokens (estimate)")
        code = EXIT_OK
        if not "".join(reply.content).strip() and reply.finish_reason in (None, "stop"):
            # An empty reply that ended normally (seen with llama.cpp serving a model whose
            # chat template it did not know) would otherwise pass for an answer.
            printer.note("note: the server sent an empty reply")
        why = CUT_OFF_REASONS.get(reply.finish_reason or "")
        if why is not None:
            printer.note(f"note: reply cut off: {why} (finish_reason={reply.finish_reason})")
            code = EXIT_CUT_OFF
        if reply.skipped:
            if len(reply.skipped) > SKIPPED_SHOWN:
                more = len(reply.skipped) - SKIPPED_SHOWN
                printer.note(f"warning: {more} more unreadable events were skipped")
            code = EXIT_DAMAGED
        return code

    def _save(self, session: Session) -> bool:
        """Save, saying so when the file became a conflict copy; a session that cannot be
        saved is a warning, not a failed ask (the reply is what was asked for)."""
        if self.store is None:
            return False
        try:
            result = self.store.save(session)
        except (ChatTuiError, OSError) as error:
            reason = error.strerror if isinstance(error, OSError) else str(error)
            self.printer.note(f"warning: the session could not be saved: {reason}")
            self.store = None
            return False
        if result.conflict is not None:
            self.printer.note(f"note: {result.conflict.message}")
        return True


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (OSError, ValueError, AttributeError):
        return False
