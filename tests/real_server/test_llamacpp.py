"""chat-tui end to end against a real llama.cpp server: ``ask``, the client, the full-screen app.

Replies are kept to a dozen tokens so the whole folder runs in seconds, and sampling is
greedy (temperature 0) so that the tiny base model says the same thing on every run.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from typing import Any

from textual.pilot import Pilot

from chat_tui import ask
from chat_tui.backend import Backend
from chat_tui.client import ChatClient, ContentDelta, Finish, Usage
from chat_tui.config import ProviderConfig, Target
from chat_tui.errors import ChatTuiError, HTTPStatusError
from chat_tui.tui.app import ChatApp
from chat_tui.tui.widgets.messages import AssistantMessage
from tests.real_server.conftest import RealServer
from tests.tui.helpers import chat_screen, status_text

SHORT = 12
#: What llama.cpp does with ``stream_options: {"include_usage": true}`` in 0.3.x: it ignores
#: it (the request model has no such field), so a stream never carries usage. If a new
#: version starts to honour it, the mock's ``llamacpp`` option must follow.
LLAMACPP_STREAMS_USAGE = False
USAGE_LINE = re.compile(
    r"^usage: (\d+ prompt \+ \d+ completion = \d+ tokens|~\d+ completion tokens \(estimate\))$",
    re.MULTILINE,
)


def run_ask(
    server: RealServer, env: dict[str, str], *args: str, base_url: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``python3 -m chat_tui ask`` on the real server, with the test's folders and no OPENAI_*."""
    command = [
        sys.executable,
        "-m",
        "chat_tui",
        "ask",
        "--base-url",
        base_url or server.base_url,
        "--api-key",
        "x",
        "--model",
        server.model,
        *args,
    ]
    return subprocess.run(
        command,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def length_exit_code() -> int:
    """The exit code ``chat_tui.ask`` documents for a reply cut off by the token limit.

    Found by name (``EXIT_CUT_OFF`` today), so the test follows the code's own definition
    rather than a number copied here.
    """
    words = ("CUT", "LENGTH", "LIMIT", "TRUNC")
    codes = {
        name: value
        for name, value in vars(ask).items()
        if name.startswith("EXIT_") and any(word in name for word in words)
    }
    assert len(codes) == 1, f"ask names the token limit but has no exit code for it: {codes}"
    return int(next(iter(codes.values())))


def assert_exit_code(result: subprocess.CompletedProcess[str]) -> None:
    """0 for a reply that ended by itself; the documented code when ask says the reply hit
    the token limit (with max_tokens this small, it usually does)."""
    assert "Traceback" not in result.stderr
    if "token limit" in result.stderr.lower():
        assert result.returncode == length_exit_code(), result.stderr
    else:
        assert result.returncode == ask.EXIT_OK, result.stderr


# chat-tui ask


def test_ask_prints_the_reply(real_server: RealServer, isolated_env: dict[str, str]) -> None:
    result = run_ask(
        real_server, isolated_env, "--max-tokens", str(SHORT), "--temperature", "0", "Say hi"
    )
    assert result.stdout.strip(), result.stderr
    assert_exit_code(result)


def test_ask_usage_goes_to_stderr(real_server: RealServer, isolated_env: dict[str, str]) -> None:
    result = run_ask(
        real_server,
        isolated_env,
        "--max-tokens",
        str(SHORT),
        "--temperature",
        "0",
        "--usage",
        "Say hi",
    )
    assert_exit_code(result)
    assert result.stdout.strip()
    match = USAGE_LINE.search(result.stderr)
    assert match, result.stderr
    assert "usage" not in result.stdout
    # llama.cpp sends no usage in a stream, so all ask can give is its estimate.
    assert ("estimate" in match[0]) is not LLAMACPP_STREAMS_USAGE


def test_ask_at_a_wrong_path_names_the_url(
    real_server: RealServer, isolated_env: dict[str, str]
) -> None:
    # The common mistake: the base URL without its /v1. FastAPI answers {"detail": "Not Found"}.
    root = real_server.base_url.removesuffix("/v1")
    result = run_ask(real_server, isolated_env, "--max-tokens", "4", "hi", base_url=root)
    assert result.returncode == ask.EXIT_ERROR
    assert "Traceback" not in result.stderr
    # The status, the URL that failed, and the server's own words ("Not Found").
    assert "404" in result.stderr and f"{root}/chat/completions" in result.stderr
    assert result.stderr.count("Not Found") >= 1


# The streaming client


async def test_client_streams_a_reply(real_server: RealServer) -> None:
    async with (
        ChatClient(real_server.base_url, "x") as client,
        client.stream_chat(
            [{"role": "user", "content": "Say hi"}],
            real_server.model,
            max_tokens=SHORT,
            temperature=0,
        ) as stream,
    ):
        events = [event async for event in stream]
    kinds = [type(event).__name__ for event in events]
    assert kinds.count("ContentDelta") >= 1
    assert kinds.count("Finish") == 1
    finish = next(event for event in events if isinstance(event, Finish))
    assert finish.reason in ("stop", "length")
    assert stream.finish_reason == finish.reason
    assert stream.content == "".join(e.text for e in events if isinstance(e, ContentDelta))
    assert stream.content
    # Every event but the finish is content: no reasoning, no tool calls, and (recorded
    # behaviour) usage only if llama.cpp honours include_usage.
    assert set(kinds) <= {"ContentDelta", "Finish", "Usage"}
    assert ("Usage" in kinds) is LLAMACPP_STREAMS_USAGE
    assert (stream.usage is not None) is LLAMACPP_STREAMS_USAGE
    assert stream.skipped_events == 0
    assert stream.metrics.time_to_first_token is not None
    if finish.reason == "length":
        # One delta per token: the count matches max_tokens (bar held-back UTF-8 pieces).
        assert 1 <= kinds.count("ContentDelta") <= SHORT


async def test_client_without_stream_options_gets_the_same_stream(
    real_server: RealServer,
) -> None:
    # Providers can turn stream_options off for servers that reject it; llama.cpp ignores it,
    # so both ways must give the same greedy reply.
    replies: list[str] = []
    for send_options in (True, False):
        async with (
            ChatClient(real_server.base_url, "x", send_stream_options=send_options) as client,
            client.stream_chat(
                [{"role": "user", "content": "Say hi"}],
                real_server.model,
                max_tokens=6,
                temperature=0,
            ) as stream,
        ):
            events = [event async for event in stream]
        assert not any(isinstance(event, Usage) for event in events)
        replies.append(stream.content)
    assert replies[0] == replies[1] != ""


async def test_client_lists_the_served_model(real_server: RealServer) -> None:
    async with ChatClient(real_server.base_url, "x") as client:
        assert await client.list_models() == [real_server.model]


async def test_client_reports_a_context_overflow_without_crashing(
    real_server: RealServer,
) -> None:
    # Streamed, llama.cpp fails after its 200 headers and sends an empty body: the client
    # can only say the stream ended with nothing in it (the real cause is in the server log).
    prompt = "word " * (real_server.context_window + 100)
    async with ChatClient(real_server.base_url, "x") as client:
        try:
            async with client.stream_chat(
                [{"role": "user", "content": prompt}], real_server.model, max_tokens=4
            ) as stream:
                events = [event async for event in stream]
        except ChatTuiError as error:
            assert real_server.base_url.split("//")[1].split("/")[0] in str(error)
            assert not isinstance(error, HTTPStatusError)
        else:
            raise AssertionError(f"an overflowing prompt streamed {events!r}")
    # The traceback reaches the server log just after the empty body went out.
    deadline = time.monotonic() + 10
    while "exceed context window" not in real_server.log():
        assert time.monotonic() < deadline, "the server logged no context overflow"
        await asyncio.sleep(0.05)


# The full-screen app


def make_app(server: RealServer, **parameters: Any) -> ChatApp:
    """The app on the real server, as tests/tui/helpers.py builds it on the mock."""
    provider = ProviderConfig(name="llamacpp", base_url=server.base_url, local=True)
    target = Target(provider=provider, model=server.model, api_key="x")
    return ChatApp(Backend(target), parameters=parameters)


async def send(pilot: Pilot[None], text: str) -> None:
    screen = chat_screen(pilot.app)  # type: ignore[arg-type]
    screen.prompt.focus()
    screen.prompt.set_text(text)
    await pilot.press("enter")


async def wait_for_reply(pilot: Pilot[None]) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def test_app_streams_two_turns(real_server: RealServer, isolated_env: dict[str, str]) -> None:
    app = make_app(real_server, max_tokens=SHORT, temperature=0)
    async with app.run_test(size=(100, 40)) as pilot:
        await send(pilot, "Say hi")
        await wait_for_reply(pilot)
        screen = chat_screen(app)
        (reply,) = app.query(AssistantMessage)
        assert reply.text.strip()
        first = screen.session.messages[-1]
        assert first.role == "assistant" and first.content == reply.text
        assert first.status == "complete" and first.finish_reason in ("stop", "length")
        assert first.error is None
        # No usage in llama.cpp's stream: the status bar shows an estimate.
        assert first.usage is not None and first.usage.estimated is not LLAMACPP_STREAMS_USAGE
        # Idle after a reply that ended by itself; one cut by max_tokens may read "stopped".
        bar = status_text(app)
        assert "error" not in bar and ("idle" in bar or "stopped" in bar), bar

        await send(pilot, "Say hi again")
        await wait_for_reply(pilot)
        replies = list(app.query(AssistantMessage))
        assert len(replies) == 2 and replies[1].text.strip()
        messages = screen.session.messages
        assert [m.role for m in messages] == ["user", "assistant", "user", "assistant"]
        assert messages[-1].status == "complete" and messages[-1].content == replies[1].text
        # What the next request would carry: both exchanges, the first reply word for word
        # (the server cannot be asked what it received, so this is where it is checked).
        history = screen.session.history()
        assert history == [
            {"role": "user", "content": "Say hi"},
            {"role": "assistant", "content": first.content},
            {"role": "user", "content": "Say hi again"},
            {"role": "assistant", "content": replies[1].text},
        ]


async def test_app_escape_stops_a_long_reply_and_the_server_keeps_serving(
    real_server: RealServer, isolated_env: dict[str, str]
) -> None:
    disconnects_before = real_server.log().count("Disconnected from client")
    app = make_app(real_server, max_tokens=200, temperature=0)
    async with app.run_test(size=(100, 40)) as pilot:
        await send(pilot, "Tell me a long story about a dragon.")
        deadline = time.monotonic() + 60
        while "streaming" not in status_text(app):
            assert time.monotonic() < deadline, status_text(app)
            await pilot.pause(0.01)
        await pilot.press("escape")
        await wait_for_reply(pilot)
        screen = chat_screen(app)
        (reply,) = app.query(AssistantMessage)
        assert reply.status == "stopped"
        stopped = screen.session.messages[-1]
        assert stopped.status == "stopped" and stopped.content == reply.text
        assert "stopped" in status_text(app)

        # Closing the response is how the server learns to stop: it logs the disconnect
        # when it next tries to send a token.
        deadline = time.monotonic() + 20
        while real_server.log().count("Disconnected from client") <= disconnects_before:
            assert time.monotonic() < deadline, "llama.cpp never saw the client go away"
            await asyncio.sleep(0.05)

        screen.session.parameters["max_tokens"] = SHORT
        await send(pilot, "Say hi")
        await wait_for_reply(pilot)
        replies = list(app.query(AssistantMessage))
        assert len(replies) == 2
        assert replies[1].status == "complete" and replies[1].text.strip()
        assert screen.session.messages[-1].finish_reason in ("stop", "length")
