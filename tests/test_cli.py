"""The command line as a user runs it: sessions shared between ask and the app, exports."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from chat_tui.mock_server import MockServer
from chat_tui.sessions import SessionStore
from tests.test_ask import clean_env


async def run_cli(tmp_path: Path, *args: str, stdin: bytes = b"") -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "chat_tui",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=clean_env(tmp_path),
    )
    out, err = await asyncio.wait_for(process.communicate(stdin), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_ask_continues_a_session_and_the_files_list_and_export(tmp_path: Path) -> None:
    sessions = tmp_path / "sessions"
    async with MockServer(reply_text="Answer one.\n") as server:
        base = (
            "ask",
            "--base-url",
            server.base_url,
            "--model",
            "mock-gpt",
            "--sessions-dir",
            str(sessions),
        )
        code, out, err = await run_cli(tmp_path, *base, "--continue", "first question")
        assert code == 1 and "no saved session" in err
        store = SessionStore(sessions)
        from chat_tui.sessions import Session

        seed = Session(title="Pipe chat")
        store.save(seed)
        code, out, err = await run_cli(tmp_path, *base, "--continue", "first question")
        assert code == 0, err
        code, out, err = await run_cli(tmp_path, *base, "--session", "Pipe chat", "second")
        assert code == 0, err
        sent = server.requests[-1].body["messages"]
        assert [m["content"] for m in sent] == ["first question", "Answer one.\n", "second"]
        session = store.load(seed.id)
        assert [m.role for m in session.messages] == ["user", "assistant"] * 2
        assert session.messages[-1].content == "Answer one.\n"

    code, out, _ = await run_cli(tmp_path, "sessions", "--sessions-dir", str(sessions), "list")
    assert code == 0 and seed.id in out and "Pipe chat" in out and "4 msgs" in out
    code, out, _ = await run_cli(
        tmp_path, "sessions", "--sessions-dir", str(sessions), "export", seed.id, "--format", "md"
    )
    assert code == 0 and out.startswith("# Pipe chat") and "## You" in out
    code, out, _ = await run_cli(
        tmp_path, "sessions", "--sessions-dir", str(sessions), "export", "Pipe", "--format", "json"
    )
    assert json.loads(out)["title"] == "Pipe chat"
    code, _, err = await run_cli(
        tmp_path, "sessions", "--sessions-dir", str(sessions), "export", "nothing-like-it"
    )
    assert code == 1 and err.startswith("error: no session matches")


async def test_a_failed_ask_still_saves_the_prompt_and_partial_reply(tmp_path: Path) -> None:
    sessions = tmp_path / "sessions"
    async with MockServer(reply_text="Partial words before the drop.\n") as server:
        from chat_tui.sessions import Session

        store = SessionStore(sessions)
        seed = Session(title="Cut")
        store.save(seed)
        code, out, err = await run_cli(
            tmp_path,
            "ask",
            "--base-url",
            server.base_url,
            "--model",
            "mock-gpt+drop-3",
            "--sessions-dir",
            str(sessions),
            "--session",
            "Cut",
            "question",
        )
    assert code == 1 and "cut off" in err
    session = store.load(seed.id)
    assert session.messages[0].content == "question"
    assert session.messages[1].status == "cut_off"
    assert session.messages[1].content and out.startswith(session.messages[1].content.strip())


async def test_config_path_and_init(tmp_path: Path) -> None:
    code, out, _ = await run_cli(tmp_path, "config", "path")
    assert code == 0 and out.strip() == str(tmp_path / "config" / "config.toml")
    code, out, _ = await run_cli(tmp_path, "config", "init")
    assert code == 0 and (tmp_path / "config" / "config.toml").exists()
    code, _, err = await run_cli(tmp_path, "config", "init")
    assert code == 1 and "already exists" in err


async def test_models_lists_the_demo_and_says_why_others_are_missing(tmp_path: Path) -> None:
    code, out, err = await run_cli(tmp_path, "models", "--timeout", "0.5")
    assert code == 0
    assert "demo/mock-gpt" in out
    assert "openai: unavailable (no API key" in err
