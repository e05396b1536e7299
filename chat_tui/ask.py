"""``chat-tui ask``: one prompt in, the streamed reply out, for pipes and scripts."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass, replace
from typing import TextIO

from chat_tui.backend import Backend
from chat_tui.client import ContentDelta, ReasoningDelta, Usage
from chat_tui.config import Target
from chat_tui.errors import ChatTuiError
from chat_tui.sessions import Message, Session, SessionStore
from chat_tui.sessions import Usage as SessionUsage

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

DEMO_TOKENS_PER_SECOND = 400


@dataclass(frozen=True)
class AskRequest:
    """What one ``ask`` run sends."""

    prompt: str
    system: str | None = None
    show_reasoning: bool = False
    show_usage: bool = False
    temperature: float | None = None
    max_tokens: int | None = None


async def stream_reply(
    backend: Backend,
    messages: list[dict[str, str]],
    request: AskRequest,
    out: TextIO,
    err: TextIO,
    sink: Message | None = None,
) -> tuple[str, str, Usage | None]:
    """Stream one reply to ``out`` as it arrives; returns the content, reasoning and usage."""
    async with backend.stream(
        messages, temperature=request.temperature, max_tokens=request.max_tokens
    ) as stream:
        wrote_reasoning = False
        received: list[str] = []
        try:
            async for event in stream:
                if isinstance(event, ContentDelta):
                    if wrote_reasoning:
                        err.write("\n")
                        err.flush()
                        wrote_reasoning = False
                    out.write(event.text)
                    out.flush()
                    if sink is not None:
                        received.append(event.text)
                elif isinstance(event, ReasoningDelta) and request.show_reasoning:
                    err.write(event.text)
                    err.flush()
                    wrote_reasoning = True
        finally:
            if sink is not None:
                sink.content = "".join(received)
            if stream.content and not stream.content.endswith("\n"):
                out.write("\n")
                out.flush()
        if request.show_usage:
            usage = stream.usage
            if usage is not None:
                err.write(
                    f"usage: {usage.prompt_tokens} prompt + {usage.completion_tokens} completion"
                    f" = {usage.total_tokens} tokens\n"
                )
            else:
                err.write(f"usage: ~{len(stream.content) // 4} completion tokens (estimate)\n")
        return stream.content, stream.reasoning, stream.usage


def build_messages(history: list[dict[str, str]], request: AskRequest) -> list[dict[str, str]]:
    messages: list[dict[str, str]] = []
    if request.system:
        messages.append({"role": "system", "content": request.system})
    messages.extend(history)
    messages.append({"role": "user", "content": request.prompt})
    return messages


def read_prompt(prompt_words: list[str], stdin: TextIO) -> str:
    """The prompt from the arguments, else from standard input."""
    if prompt_words:
        return " ".join(prompt_words)
    if stdin.isatty():
        raise ChatTuiError("no prompt given: pass it as an argument or pipe it on stdin.")
    return stdin.read()


def run(
    target: Target,
    request: AskRequest,
    *,
    session: Session | None = None,
    store: SessionStore | None = None,
    err: TextIO = sys.stderr,
) -> int:
    """Run one ask to completion and return the process exit code."""
    if target.provider.demo:
        err.write(
            "chat-tui: no provider configured, using the built-in offline demo. "
            "Set OPENAI_API_KEY, or run 'chat-tui config init' to add a provider.\n"
        )
    try:
        asyncio.run(_ask(target, request, session, store))
    except KeyboardInterrupt:
        err.write("\nerror: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`chat-tui ask ... | head`): not an error worth a message.
        return EXIT_OK
    except ChatTuiError as error:
        err.write(f"error: {error}\n")
        return EXIT_ERROR
    return EXIT_OK


async def _ask(
    target: Target, request: AskRequest, session: Session | None, store: SessionStore | None
) -> None:
    backend = Backend(target, demo_rate=DEMO_TOKENS_PER_SECOND)
    await backend.start()
    history = session.history() if session is not None else []
    if session is not None and store is not None:
        # The prompt is saved before the request, and the reply whatever happens to it, so
        # a conversation continued from a pipe is never lost and opens in the app as is.
        if request.system:
            session.system_prompt = request.system
            history = session.history()
            request = replace(request, system=None)
        session.add(Message("user", request.prompt))
        store.save(session)
    reply = Message("assistant", "", model=target.label)
    try:
        content, reasoning, usage = await stream_reply(
            backend, build_messages(history, request), request, sys.stdout, sys.stderr, reply
        )
        reply.content, reply.reasoning = content, reasoning
        if usage is not None:
            reply.usage = SessionUsage(
                usage.prompt_tokens, usage.completion_tokens, usage.total_tokens
            )
    except BaseException as error:
        if isinstance(error, KeyboardInterrupt | asyncio.CancelledError):
            reply.status = "stopped"
        else:
            reply.status = "cut_off" if reply.content else "error"
        reply.error = str(error) if isinstance(error, ChatTuiError) else None
        raise
    finally:
        await backend.close()
        if session is not None and store is not None:
            session.add(reply)
            store.save(session)
