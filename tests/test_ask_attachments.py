"""``chat-tui ask -f`` and piped text, run as a real subprocess against the mock server:
what the server received, what the session kept, and every refusal before sending."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chat_tui.mock_server import MockServer
from chat_tui.sessions import AttachedFile, SessionStore, title_from_prompt
from tests.test_ask import REPLY, clean_env, error_lines, run_ask, target


@pytest.fixture
async def server() -> MockServer:
    async with MockServer(reply_text=REPLY, api_key="sk-secret-test") as running:
        yield running


def sent_prompt(server: MockServer) -> str:
    messages = server.requests[-1].body["messages"]
    assert messages[-1]["role"] == "user"
    return str(messages[-1]["content"])


def saved_session(tmp_path: Path) -> SessionStore:
    return SessionStore(tmp_path / "data" / "sessions")


async def test_files_are_sent_as_labelled_fences_and_saved(
    server: MockServer, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("# Notes\n```sh\nls\n```\n")
    todo = tmp_path / "todo.txt"
    todo.write_text("buy milk")
    code, out, err = await run_ask(
        tmp_path, *target(server), "-f", str(notes), "--file", str(todo), "what", "is", "open?"
    )
    assert code == 0, err
    assert out == REPLY
    assert sent_prompt(server) == (
        f"what is open?\n\n````{notes}\n# Notes\n```sh\nls\n```\n````"
        f"\n\n```{todo}\nbuy milk\n```"
    )
    store = saved_session(tmp_path)
    (summary,) = store.list()
    prompt = store.load(summary.id).messages[0]
    assert prompt.content == sent_prompt(server)
    size = len(notes.read_bytes())
    assert prompt.attachments == [AttachedFile(str(notes), size), AttachedFile(str(todo), 8)]


async def test_stdin_with_a_prompt_is_attached(server: MockServer, tmp_path: Path) -> None:
    diff = b"--- a/x\n+++ b/x\n-old\n+new\n"
    code, _, err = await run_ask(
        tmp_path, *target(server), "write a commit message", stdin=diff
    )
    assert code == 0, err
    assert sent_prompt(server) == f"write a commit message\n\n```stdin\n{diff.decode()}```"
    (summary,) = saved_session(tmp_path).list()
    session = saved_session(tmp_path).load(summary.id)
    assert session.messages[0].attachments == [AttachedFile("stdin", len(diff))]
    assert session.title == "write a commit message"


async def test_stdin_alone_is_still_the_prompt(server: MockServer, tmp_path: Path) -> None:
    code, _, err = await run_ask(tmp_path, *target(server), stdin=b"piped question\n")
    assert code == 0, err
    assert sent_prompt(server) == "piped question\n"
    (summary,) = saved_session(tmp_path).list()
    assert saved_session(tmp_path).load(summary.id).messages[0].attachments == []


async def test_stdin_as_the_prompt_with_a_file(server: MockServer, tmp_path: Path) -> None:
    data = tmp_path / "data.json"
    data.write_text(json.dumps({"a": 1}))
    code, _, err = await run_ask(tmp_path, *target(server), "-f", str(data), stdin=b"explain\n")
    assert code == 0, err
    assert sent_prompt(server) == f'explain\n\n\n```{data}\n{{"a": 1}}\n```'


async def test_a_file_alone_is_a_prompt(server: MockServer, tmp_path: Path) -> None:
    notes = tmp_path / "q.txt"
    notes.write_text("What is 2+2?\n")
    code, _, err = await run_ask(tmp_path, *target(server), "-f", str(notes))
    assert code == 0, err
    assert sent_prompt(server) == f"```{notes}\nWhat is 2+2?\n```"
    (summary,) = saved_session(tmp_path).list()
    assert saved_session(tmp_path).load(summary.id).title == title_from_prompt(f"📎 {notes}")


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda folder: folder / "missing.md", "{path}: no such file."),
        (lambda folder: folder, "{path} is a folder; only files can be attached."),
        (
            lambda folder: _write(folder / "logo.png", b"\x89PNG\r\n\x1a\n\x00\x00"),
            "{path} looks like a binary file (a NUL byte at offset 8); "
            "only text can be attached.",
        ),
        (
            lambda folder: _write(folder / "latin1.txt", b"caf\xe9"),
            "{path} is not UTF-8 text (byte 0xe9 at offset 3); only text can be attached.",
        ),
        (
            lambda folder: _write(folder / "big.log", b"x" * (1024 * 1024 + 1)),
            "{path} is 1,048,577 bytes, more than the 1,048,576-byte limit for attached files "
            "(max_attachment_kb in the config's [app] table raises it).",
        ),
    ],
    ids=["missing", "folder", "binary", "not-utf8", "too-big"],
)
async def test_files_that_cannot_be_attached_exit_2_and_send_nothing(
    server: MockServer, tmp_path: Path, make: object, words: str
) -> None:
    folder = tmp_path / "files"
    folder.mkdir()
    path = make(folder)  # type: ignore[operator]
    code, out, err = await run_ask(tmp_path, *target(server), "-f", str(path), "look at this")
    assert code == 2
    assert out == ""
    assert error_lines(err) == ["error: " + words.format(path=path)]
    assert server.requests == []
    assert not (tmp_path / "data" / "sessions").exists() or not saved_session(tmp_path).list()


async def test_the_limit_comes_from_the_config(server: MockServer, tmp_path: Path) -> None:
    config = tmp_path / "config" / "config.toml"
    config.parent.mkdir()
    config.write_text("[app]\nmax_attachment_kb = 1\n")
    config.chmod(0o600)
    notes = _write(tmp_path / "notes.md", b"n" * 2000)
    env = clean_env(tmp_path)
    code, _, err = await run_ask(tmp_path, *target(server), "-f", str(notes), "hi", env=env)
    assert code == 2
    assert error_lines(err) == [
        f"error: {notes} is 2.0 KB, more than the 1.0 KB limit for attached files "
        "(max_attachment_kb in the config's [app] table raises it)."
    ]
    code, _, err = await run_ask(
        tmp_path, *target(server), "hi", stdin=b"s" * 2000, env=env
    )
    assert code == 2
    assert error_lines(err) == [
        "error: stdin is 2.0 KB, more than the 1.0 KB limit for attached text "
        "(max_attachment_kb in the config's [app] table raises it)."
    ]
    assert server.requests == []


async def test_binary_stdin_with_a_prompt_is_refused(server: MockServer, tmp_path: Path) -> None:
    code, _, err = await run_ask(tmp_path, *target(server), "explain", stdin=b"a\x00b")
    assert code == 2
    assert error_lines(err) == [
        "error: stdin holds binary data (a NUL byte at offset 1); ask sends text only."
    ]
    assert server.requests == []


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


async def test_files_too_big_for_the_configured_window_exit_2(
    server: MockServer, tmp_path: Path
) -> None:
    config = tmp_path / "config" / "config.toml"
    config.parent.mkdir()
    config.write_text(
        f'[providers.mock]\nbase_url = "{server.base_url}"\napi_key = "sk-secret-test"\n'
        'models = ["mock-gpt"]\ncontext = 100\n'
    )
    config.chmod(0o600)
    notes = _write(tmp_path / "notes.md", b"word " * 200)  # about 250 tokens
    env = clean_env(tmp_path)
    code, _, err = await run_ask(
        tmp_path, "--model", "mock/mock-gpt", "-f", str(notes), "sum up", env=env
    )
    assert code == 2, err
    (line,) = error_lines(err)
    assert line.startswith("error: the prompt with its files comes to about 2")
    assert "mock/mock-gpt's context window of 100 (from the config)" in line
    assert server.requests == []
    small = _write(tmp_path / "small.md", b"tiny")
    code, _, err = await run_ask(
        tmp_path, "--model", "mock/mock-gpt", "-f", str(small), "sum up", env=env
    )
    assert code == 0, err
