"""``chat-tui ask`` writing to a real terminal (a pseudo-terminal): model output cannot act on
the terminal unless --raw asks for it, and reasoning is told apart from the answer
(issue 14, item 17). The pipe case is in test_ask.py."""

from __future__ import annotations

import asyncio
import os
import pty
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chat_tui.mock_server import MockServer
from tests.test_ask import clean_env

HOSTILE = "a\x1b[2Jb\x1b]52;c;aGk=\x07c\x1b]8;;http://x\x1b\\link\x1b]0;title\x07\x9b1m"


@pytest.fixture
async def server() -> AsyncIterator[MockServer]:
    async with MockServer(reply_text="The answer.\n") as running:
        yield running


def run_on_terminal(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> bytes:
    """Everything ``chat-tui ask ARGS`` writes to a terminal (stdout and stderr both)."""
    main, child = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "chat_tui", "ask", *args],
            stdin=subprocess.DEVNULL,
            stdout=child,
            stderr=child,
            env=env or clean_env(tmp_path),
        )
    finally:
        os.close(child)
    received = bytearray()
    try:
        while True:
            try:
                data = os.read(main, 65536)
            except OSError:  # EIO: every copy of the terminal's other end is closed
                break
            if not data:
                break
            received += data
    finally:
        os.close(main)
    assert process.wait(60) == 0, received
    return bytes(received)


async def test_control_sequences_are_shown_not_obeyed(server: MockServer, tmp_path: Path) -> None:
    shown = await asyncio.to_thread(
        run_on_terminal,
        tmp_path,
        "--base-url",
        server.base_url,
        "--model",
        "mock-gpt+echo",
        HOSTILE,
    )
    assert b"\x1b" not in shown and b"\x07" not in shown and b"\xc2\x9b" not in shown
    text = shown.decode()
    assert "a\u241b[2Jb\u241b]52;c;aGk=\u2407c" in text
    assert "link\u241b]0;title\u2407\ufffd1m" in text


async def test_raw_passes_them_through(server: MockServer, tmp_path: Path) -> None:
    shown = await asyncio.to_thread(
        run_on_terminal,
        tmp_path,
        "--base-url",
        server.base_url,
        "--model",
        "mock-gpt+echo",
        "--raw",
        HOSTILE,
    )
    assert HOSTILE.encode() in shown


@pytest.mark.parametrize("no_color", [False, True])
async def test_reasoning_on_a_terminal_is_labelled(
    server: MockServer, tmp_path: Path, no_color: bool
) -> None:
    env = clean_env(tmp_path)
    if no_color:
        env["NO_COLOR"] = "1"
    shown = await asyncio.to_thread(
        run_on_terminal,
        tmp_path,
        "--base-url",
        server.base_url,
        "--model",
        "mock-gpt+reasoning",
        "--show-reasoning",
        "hi",
        env=env,
    )
    text = shown.decode().replace("\r\n", "\n")
    label = "reasoning:\nLet me think"
    if no_color:
        assert text.startswith(label) and "\x1b" not in text
    else:
        assert text.startswith("\x1b[2m" + label)
    assert text.endswith(("\x1b[0m" if not no_color else "") + "\nThe answer.\n")
