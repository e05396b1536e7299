"""``chat-tui ask`` and the session files it keeps (issue 14, items 10 to 14): every
exchange saved, signals that keep the partial reply, retries that do not duplicate a
prompt, conflicts said out loud, and --system on a continued session."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chat_tui.ask import drop_failed_retry
from chat_tui.mock_server import MockServer
from chat_tui.sessions import Message, Session, SessionStore, SessionSummary
from tests.test_ask import clean_env, run_ask

REPLY = "Answer from the mock.\n"


@pytest.fixture
async def server() -> AsyncIterator[MockServer]:
    async with MockServer(reply_text=REPLY) as running:
        yield running


def store_of(tmp_path: Path) -> SessionStore:
    """Where ask saves by default in these tests (CHAT_TUI_DATA_DIR/sessions)."""
    return SessionStore(tmp_path / "data" / "sessions")


def only_session(tmp_path: Path) -> Session:
    entries = store_of(tmp_path).list()
    assert len(entries) == 1 and isinstance(entries[0], SessionSummary), entries
    return store_of(tmp_path).load(entries[0].id)


def sent(server: MockServer) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in server.requests[-1].body["messages"]]


async def test_every_ask_is_saved_so_continue_works_right_after(
    server: MockServer, tmp_path: Path
) -> None:
    """Item 14: like llm -c and mods -C; --no-save keeps nothing."""
    base = ("--base-url", server.base_url, "--model", "mock-gpt")
    code, _, err = await run_ask(tmp_path, *base, "first question")
    assert code == 0, err
    code, _, err = await run_ask(tmp_path, *base, "--continue", "second question")
    assert code == 0, err
    assert sent(server) == [
        ("user", "first question"),
        ("assistant", REPLY),
        ("user", "second question"),
    ]
    session = only_session(tmp_path)
    assert session.title == "first question"
    assert [(m.role, m.status) for m in session.messages] == [
        ("user", "complete"),
        ("assistant", "complete"),
    ] * 2
    assert session.messages[-1].finish_reason == "stop"

    nothing = tmp_path / "other"
    nothing.mkdir()
    code, _, err = await run_ask(nothing, *base, "--no-save", "not kept")
    assert code == 0, err
    assert not (nothing / "data").exists()


async def test_parameters_of_a_new_session_are_kept_and_flags_on_continue_are_one_turn(
    server: MockServer, tmp_path: Path
) -> None:
    base = ("--base-url", server.base_url, "--model", "mock-gpt")
    assert (await run_ask(tmp_path, *base, "--temperature", "0.5", "one"))[0] == 0
    assert (await run_ask(tmp_path, *base, "--continue", "two"))[0] == 0
    assert server.requests[-1].body["temperature"] == 0.5
    assert (await run_ask(tmp_path, *base, "--continue", "--temperature", "1.5", "three"))[0] == 0
    assert server.requests[-1].body["temperature"] == 1.5
    assert only_session(tmp_path).parameters == {"temperature": 0.5}


async def test_system_with_continue_applies_to_this_turn_only(
    server: MockServer, tmp_path: Path
) -> None:
    """Item 13: the session's own system prompt is never silently replaced."""
    base = ("--base-url", server.base_url, "--model", "mock-gpt")
    assert (await run_ask(tmp_path, *base, "--system", "old rules", "one"))[0] == 0
    assert (await run_ask(tmp_path, *base, "--continue", "--system", "new rules", "two"))[0] == 0
    assert sent(server)[0] == ("system", "new rules")
    assert only_session(tmp_path).system_prompt == "old rules"
    assert (await run_ask(tmp_path, *base, "--continue", "three"))[0] == 0
    assert sent(server)[0] == ("system", "old rules")


async def test_a_failed_prompt_sent_again_replaces_it(server: MockServer, tmp_path: Path) -> None:
    """Item 11: never two user messages in a row, in the file or on the wire."""
    url = ("--base-url", server.base_url, "--retries", "0")
    assert (await run_ask(tmp_path, *url, "--model", "mock-gpt", "first"))[0] == 0
    code, _, _ = await run_ask(
        tmp_path, *url, "--model", "mock-gpt+http-500", "--continue", "second"
    )
    assert code == 1
    failed = only_session(tmp_path)
    assert [m.status for m in failed.messages[-2:]] == ["complete", "error"]

    code, _, err = await run_ask(tmp_path, *url, "--model", "mock-gpt", "--continue", "second")
    assert code == 0, err
    assert sent(server) == [("user", "first"), ("assistant", REPLY), ("user", "second")]
    session = only_session(tmp_path)
    assert [(m.role, m.content) for m in session.messages] == [
        ("user", "first"),
        ("assistant", REPLY),
        ("user", "second"),
        ("assistant", REPLY),
    ]


async def test_a_prompt_that_got_no_reply_is_not_sent_as_history(
    server: MockServer, tmp_path: Path
) -> None:
    url = ("--base-url", server.base_url, "--retries", "0")
    assert (await run_ask(tmp_path, *url, "--model", "mock-gpt", "first"))[0] == 0
    code, _, _ = await run_ask(tmp_path, *url, "--model", "mock-gpt+http-500", "--continue", "lost")
    assert code == 1
    code, _, err = await run_ask(tmp_path, *url, "--model", "mock-gpt", "--continue", "other")
    assert code == 0, err
    assert sent(server) == [("user", "first"), ("assistant", REPLY), ("user", "other")]
    # The file still shows what happened.
    contents = [m.content for m in only_session(tmp_path).messages]
    assert contents == ["first", REPLY, "lost", "", "other", REPLY]


async def test_a_concurrent_save_is_reported_with_the_copy_id(
    server: MockServer, tmp_path: Path
) -> None:
    """Item 12: the session forks into a conflict copy, and ask says so."""
    base = ("--base-url", server.base_url, "--model", "mock-gpt")
    assert (await run_ask(tmp_path, *base, "first"))[0] == 0
    original = only_session(tmp_path)
    process = await start_ask(
        tmp_path,
        "--base-url",
        server.base_url,
        "--model",
        "mock-gpt+tokens-60+rate-30",
        "--continue",
        "second",
    )
    assert process.stdout is not None and process.stderr is not None
    await asyncio.wait_for(process.stdout.read(1), 30)
    # Another program saves the same session while the reply streams.
    elsewhere = store_of(tmp_path).load(original.id)
    elsewhere.title = "renamed elsewhere"
    store_of(tmp_path).save(elsewhere)
    await asyncio.wait_for(process.wait(), 30)
    err = (await process.stderr.read()).decode()
    assert process.returncode == 0, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"note: Session {original.id} was not over")
    copy_id = lines[0].rsplit("saved as ", 1)[1].split()[0]
    copy = store_of(tmp_path).load(copy_id)
    assert [m.content for m in copy.messages][-2:] == ["second", copy.messages[-1].content]
    assert copy.messages[-1].content and copy.messages[-1].status == "complete"
    assert store_of(tmp_path).load(original.id).title == "renamed elsewhere"


async def start_ask(tmp_path: Path, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "chat_tui",
        "ask",
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=clean_env(tmp_path),
    )


@pytest.mark.parametrize(
    ("signum", "code"),
    [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130)],
)
async def test_a_signal_keeps_the_partial_reply_as_stopped(
    server: MockServer, tmp_path: Path, signum: int, code: int
) -> None:
    """Item 10: `timeout 2 chat-tui ask --continue ...` leaves no dangling prompt."""
    base = ("--base-url", server.base_url)
    assert (await run_ask(tmp_path, *base, "--model", "mock-gpt", "first"))[0] == 0
    process = await start_ask(
        tmp_path, *base, "--model", "mock-gpt+tokens-400+rate-40", "--continue", "second"
    )
    assert process.stdout is not None and process.stderr is not None
    printed = await asyncio.wait_for(process.stdout.read(20), 30)
    process.send_signal(signum)
    printed += await asyncio.wait_for(process.stdout.read(), 30)
    err = (await process.stderr.read()).decode()
    assert await asyncio.wait_for(process.wait(), 30) == code
    name = signal.Signals(signum).name
    assert err.strip().splitlines() == [
        f"error: stopped by {name}; the partial reply was saved as stopped"
    ]
    session = only_session(tmp_path)
    assert [m.role for m in session.messages] == ["user", "assistant"] * 2
    partial = session.messages[-1]
    assert partial.status == "stopped" and partial.content
    assert printed.decode() == partial.content + "\n"


async def test_how_the_reply_ended_is_in_the_session_file(
    server: MockServer, tmp_path: Path
) -> None:
    """Item 4, the file half: a reply cut off by the token limit says so in the session."""
    code, out, _ = await run_ask(
        tmp_path, "--base-url", server.base_url, "--model", "mock-gpt", "--max-tokens", "2", "hi"
    )
    assert code == 3
    reply = only_session(tmp_path).messages[-1]
    assert reply.finish_reason == "length" and reply.content == out.rstrip("\n")
    session = only_session(tmp_path)
    assert (session.provider, session.model, session.base_url) == (
        "custom",
        "mock-gpt",
        server.base_url,
    )


async def test_continuing_on_another_endpoint_says_so(server: MockServer, tmp_path: Path) -> None:
    """Found by a first-time user: --continue with another --base-url moved silently."""
    code, _, err = await run_ask(
        tmp_path, "--base-url", server.base_url, "--model", "mock-gpt", "a"
    )
    assert code == 0 and "note: session made" not in err
    code, _, err = await run_ask(tmp_path, "--base-url", server.base_url, "--continue", "b")
    assert code == 0 and "note: session made" not in err  # its own endpoint and model
    async with MockServer(reply_text=REPLY) as other:
        code, _, err = await run_ask(tmp_path, "--base-url", other.base_url, "--continue", "c")
    assert code == 0, err
    assert f"note: session made with custom/mock-gpt at {server.base_url}" in err


async def test_continue_and_session_follow_the_current_branch(
    server: MockServer, tmp_path: Path
) -> None:
    """Issue 16: a session edited in the app has branches; ask goes on from the one that
    was on screen, sends only it as history, and leaves the other branch as it was."""
    base = ("--base-url", server.base_url, "--model", "mock-gpt")
    assert (await run_ask(tmp_path, *base, "first"))[0] == 0
    assert (await run_ask(tmp_path, *base, "--continue", "second"))[0] == 0
    store = store_of(tmp_path)
    session = only_session(tmp_path)
    session.branch_at(session.messages[2].id, Message("user", "second, edited"))
    session.add(Message("assistant", "edited answer"))
    store.save(session)

    code, _, err = await run_ask(tmp_path, *base, "--continue", "third")
    assert code == 0, err
    assert sent(server) == [
        ("user", "first"),
        ("assistant", REPLY),
        ("user", "second, edited"),
        ("assistant", "edited answer"),
        ("user", "third"),
    ]
    code, _, err = await run_ask(tmp_path, *base, "--session", session.id, "fourth")
    assert code == 0, err
    assert sent(server)[-3:-1] == [("user", "third"), ("assistant", REPLY)]
    after = only_session(tmp_path)
    assert [m.content for m in after.messages][2:] == [
        "second, edited", "edited answer", "third", REPLY, "fourth", REPLY
    ]  # fmt: skip
    old = after.siblings(after.messages[2].id)[0]
    assert [m.content for m in after.path_to(after.leaf_of(old.id))][2:] == ["second", REPLY]


def test_a_failed_retry_is_dropped_without_touching_another_branch() -> None:
    """A prompt sent again after it failed replaces the failed try, but a reply to it on
    another branch stays: the retry then starts a branch of its own."""
    session = Session()
    asked = session.add(Message("user", "q"))
    good = session.add(Message("assistant", "a good answer"))
    session.go_to(asked.id)
    failed = session.add(Message("assistant", "", status="error"))
    assert drop_failed_retry(session, "q")
    assert session.messages == [] and session.current is None
    assert [m.id for m in session.tree] == [asked.id, good.id] and failed not in session.tree
    session.add(Message("user", "q"))
    assert len(session.siblings(asked.id)) == 2
    # Without another branch, the failed exchange simply goes.
    alone = Session()
    alone.add(Message("user", "q"))
    alone.add(Message("assistant", "", status="error"))
    assert drop_failed_retry(alone, "q") and alone.tree == [] and alone.messages == []
