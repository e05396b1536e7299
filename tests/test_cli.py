"""The command line as a user runs it: sessions shared between ask and the app, exports."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from chat_tui.mock_server import MockServer
from chat_tui.sessions import Session, SessionStore
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


# Issue 14, item 1: options mean the same before the subcommand or after it.


async def test_target_options_before_ask_are_used(tmp_path: Path) -> None:
    async with MockServer() as server:
        code, out, err = await run_cli(
            tmp_path, "--base-url", server.base_url, "--model", "mock-gpt+echo", "ask", "hi"
        )
        assert code == 0, err
        assert out == "hi\n" and "demo" not in err
        assert server.requests[-1].body["model"] == "mock-gpt+echo"
        # ... and the prompt's words may stand on both sides of ask's options.
        code, out, err = await run_cli(
            tmp_path,
            "ask",
            "two",
            "--base-url",
            server.base_url,
            "--model",
            "mock-gpt+echo",
            "words",
        )
        assert code == 0, err
        assert out == "two words\n"


async def test_sessions_dir_before_sessions_is_used(tmp_path: Path) -> None:
    sessions = tmp_path / "elsewhere"
    seed = Session(title="Kept elsewhere")
    SessionStore(sessions).save(seed)
    for args in (
        ("--sessions-dir", str(sessions), "sessions", "list"),
        ("sessions", "--sessions-dir", str(sessions), "list"),
        ("sessions", "list", "--sessions-dir", str(sessions)),
    ):
        code, out, err = await run_cli(tmp_path, *args)
        assert code == 0, err
        assert seed.id in out and "Kept elsewhere" in out, args
    code, out, _ = await run_cli(
        tmp_path, "sessions", "export", seed.id, "--sessions-dir", str(sessions)
    )
    assert code == 0 and out.startswith("# Kept elsewhere")


async def test_an_option_a_command_does_not_take_is_refused_not_ignored(tmp_path: Path) -> None:
    code, out, err = await run_cli(tmp_path, "--sessions-dir", str(tmp_path), "config", "path")
    assert code == 2 and out == ""
    assert "--sessions-dir does not apply to 'chat-tui config'" in err
    code, _, err = await run_cli(tmp_path, "--model", "m", "sessions", "list")
    assert code == 2 and "--model does not apply to 'chat-tui sessions'" in err


async def test_timeout_before_models_is_used(tmp_path: Path) -> None:
    code, out, _ = await run_cli(tmp_path, "--timeout", "0.5", "models")
    assert code == 0 and "demo/mock-gpt" in out


# Help: every option, the exit codes, the environment, examples.


async def test_help_texts(tmp_path: Path) -> None:
    code, out, _ = await run_cli(tmp_path, "ask", "--help")
    assert code == 0
    for words in (
        "--temperature T       0 to 2",
        "--retries N",
        "--timeout SECONDS",
        "--no-save",
        "--raw",
        "exit codes:",
        "  3    the reply was cut off",
        "  4    damaged stream",
        "143 SIGTERM",
        "141  the program reading stdout exited",
        "OPENAI_BASE_URL",
        "stdin is not a terminal it is read",
        "examples:",
    ):
        assert words in out, words
    code, out, _ = await run_cli(tmp_path, "mock-server", "--help")
    assert code == 0 and "flaky-N" in out and "finish-REASON" in out and "mock-gpt+" in out
    code, out, _ = await run_cli(tmp_path, "sessions", "export", "--help")
    assert code == 0 and "--format {md,json}" in out and "examples:" in out
    code, out, _ = await run_cli(tmp_path, "models", "--help")
    assert code == 0 and "--base-url" in out and "each provider's model list" in out


async def test_sessions_list_json_and_unreadable_files_on_stderr(tmp_path: Path) -> None:
    sessions = tmp_path / "sessions"
    store = SessionStore(sessions)
    seed = Session(title="In JSON")
    store.save(seed)
    (sessions / "broken.toml").write_text("this is [not toml")
    code, out, err = await run_cli(tmp_path, "sessions", "--sessions-dir", str(sessions), "list")
    assert code == 0 and "broken" not in out and seed.id in out
    assert err.startswith("note: unreadable session file ") and "broken.toml" in err
    code, out, err = await run_cli(
        tmp_path, "sessions", "list", "--json", "--sessions-dir", str(sessions)
    )
    assert code == 0
    listed = json.loads(out)
    assert [entry["id"] for entry in listed] == [seed.id]
    assert listed[0]["title"] == "In JSON" and listed[0]["message_count"] == 0
    assert "broken.toml" in err


# Issue 14, item 15: output that cannot be written is one line and a known exit code.


def many_sessions(folder: Path, count: int) -> None:
    from chat_tui.sessions.codec import dumps

    folder.mkdir(parents=True)
    for number in range(count):
        session = Session(id=f"2026-01-01-000000-{number:04x}", title=f"Session {number}")
        (folder / f"{session.id}.toml").write_text(dumps(session))


def run_shell(tmp_path: Path, script: str) -> subprocess.CompletedProcess[bytes]:
    """``script`` in sh, with "$chat_tui" the command line of chat-tui."""
    env = clean_env(tmp_path) | {"chat_tui": f"{sys.executable} -m chat_tui"}
    return subprocess.run(["sh", "-c", script], env=env, capture_output=True, timeout=60)


def test_sessions_list_into_head(tmp_path: Path) -> None:
    sessions = tmp_path / "data" / "sessions"
    many_sessions(sessions, 3000)
    done = run_shell(tmp_path, '$chat_tui sessions list | head -1; echo "status=$?"')
    # The shell reports head's status; chat-tui's own is checked below.
    lines = done.stdout.decode().splitlines()
    assert len(lines) == 2 and "Session" in lines[0]
    assert "Traceback" not in done.stderr.decode() and "Exception" not in done.stderr.decode()
    # A reader that is gone before anything is written, deterministically.
    process = subprocess.Popen(
        [sys.executable, "-m", "chat_tui", "sessions", "list"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(tmp_path),
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    err = process.stderr.read().decode()
    assert process.wait(60) == 141
    assert err.splitlines() == ["note: output stopped: the program reading it exited (broken pipe)"]


def test_stdout_on_a_full_disk(tmp_path: Path) -> None:
    many_sessions(tmp_path / "data" / "sessions", 3)
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "chat_tui", "sessions", "list"],
            stdout=full,
            stderr=subprocess.PIPE,
            env=clean_env(tmp_path),
            timeout=60,
        )
    assert done.returncode == 1
    assert done.stderr.decode().splitlines() == [
        "error: cannot write to stdout: No space left on device"
    ]


async def test_ask_into_a_full_disk_or_a_closed_stdout(tmp_path: Path) -> None:
    async with MockServer(reply_text="A reply.\n") as server:
        ask = f'$chat_tui ask --base-url {server.base_url} --model mock-gpt "hi"'
        done = await asyncio.to_thread(run_shell, tmp_path, f"{ask} > /dev/full")
        assert done.returncode == 1
        assert done.stderr.decode().splitlines() == [
            "error: cannot write to stdout: No space left on device"
        ]
        # The reply that could not be written is saved as stopped, with the reason.
        session = SessionStore(tmp_path / "data" / "sessions").latest()
        assert session is not None and session.messages[-1].status == "stopped"
        assert "No space left" in (session.messages[-1].error or "")

        requests = len(server.requests)
        done = await asyncio.to_thread(run_shell, tmp_path, f"{ask} >&-")
        assert done.returncode == 1
        assert done.stderr.decode().splitlines() == [
            "error: stdout is closed: there is nowhere to write the output"
        ]
        assert len(server.requests) == requests, "nothing is asked when it cannot be printed"


async def test_ask_into_a_reader_that_goes_away(tmp_path: Path) -> None:
    async with MockServer() as server:
        done = await asyncio.to_thread(
            run_shell,
            tmp_path,
            f"$chat_tui ask --base-url {server.base_url} --model mock-gpt+tokens-20000 hi"
            " | head -c 10",
        )
    assert "Traceback" not in done.stderr.decode()
    assert done.stderr.decode().splitlines() == [
        "note: output stopped: the program reading it exited (broken pipe)"
    ]


def test_the_app_imports_no_http_markdown_or_highlighting_before_its_first_frame() -> None:
    """httpx (with the click, Pygments and Rich modules its command line pulls in),
    markdown-it and Pygments are imported after the first frame: start-up is part of the
    experience. A module-level import anywhere in the app's modules undoes that."""
    code = (
        "import sys, chat_tui.cli, chat_tui.tui.app, chat_tui.tui.launch; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'httpx', 'httpcore', 'markdown_it', 'pygments', 'click'}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
