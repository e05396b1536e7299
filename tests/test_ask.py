"""``chat-tui ask`` run as a real subprocess against the mock server."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from chat_tui.mock_server import MockServer

REPLY = "Hello from the mock: café 中文 😀\n"


def clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CHAT_TUI_"))}
    env["CHAT_TUI_CONFIG_DIR"] = str(tmp_path / "config")
    env["CHAT_TUI_DATA_DIR"] = str(tmp_path / "data")
    env["PYTHONIOENCODING"] = "utf-8"
    return env


async def run_ask(
    tmp_path: Path, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "chat_tui",
        "ask",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env or clean_env(tmp_path),
    )
    out, err = await asyncio.wait_for(process.communicate(stdin or b""), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.fixture
async def server() -> MockServer:
    async with MockServer(reply_text=REPLY, api_key="sk-secret-test") as running:
        yield running


async def test_streams_from_any_server(server: MockServer, tmp_path: Path) -> None:
    code, out, err = await run_ask(
        tmp_path,
        "--base-url",
        server.base_url,
        "--api-key",
        "sk-secret-test",
        "--model",
        "mock-gpt",
        "--usage",
        "hi",
    )
    assert code == 0, err
    assert out == REPLY
    assert "usage:" in err and "completion" in err
    assert server.requests[-1].body["messages"] == [{"role": "user", "content": "hi"}]


async def test_prompt_from_stdin_and_system_prompt(server: MockServer, tmp_path: Path) -> None:
    code, out, _ = await run_ask(
        tmp_path,
        "--base-url",
        server.base_url,
        "--api-key",
        "sk-secret-test",
        "--system",
        "be brief",
        stdin=b"piped question\n",
    )
    assert code == 0 and out == REPLY
    assert server.requests[-1].body["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "piped question\n"},
    ]


async def test_env_variables_are_used(server: MockServer, tmp_path: Path) -> None:
    env = clean_env(tmp_path) | {
        "OPENAI_BASE_URL": server.base_url,
        "OPENAI_API_KEY": "sk-secret-test",
    }
    code, out, err = await run_ask(tmp_path, "--model", "mock-gpt", "hi", env=env)
    assert code == 0, err
    assert out == REPLY


async def test_reasoning_only_with_the_flag(server: MockServer, tmp_path: Path) -> None:
    base = ("--base-url", server.base_url, "--api-key", "sk-secret-test", "--model")
    code, out, err = await run_ask(tmp_path, *base, "mock-gpt+reasoning", "hi")
    assert code == 0 and out == REPLY and err == ""
    code, out, err = await run_ask(tmp_path, *base, "mock-gpt+reasoning", "--show-reasoning", "hi")
    assert code == 0 and out == REPLY and err.strip()


@pytest.mark.parametrize(
    ("model", "words"),
    [
        ("mock-gpt+http-404", "does not exist"),
        ("mock-gpt+http-429", "Rate limit"),
        ("mock-gpt+http-502", "502 Bad Gateway"),
        ("mock-gpt+error-event", "server had an error"),
        ("mock-gpt+drop-3", "cut off"),
    ],
)
async def test_failures_exit_non_zero_with_one_clear_line(
    server: MockServer, tmp_path: Path, model: str, words: str
) -> None:
    code, out, err = await run_ask(
        tmp_path,
        "--base-url",
        server.base_url,
        "--api-key",
        "sk-secret-test",
        "--model",
        model,
        "--retries",
        "0",
        "hi",
    )
    assert code == 1
    lines = err.strip().splitlines()
    # One error line, and at most one hint line with what to do about it.
    assert lines[0].startswith("error: ") and words in lines[0]
    assert len(lines) == 1 or (len(lines) == 2 and lines[1].startswith("hint: "))
    assert "Traceback" not in err and "sk-secret-test" not in err
    if model.endswith("drop-3") or model.endswith("error-event"):
        assert out.strip(), "text already received stays printed"


async def test_wrong_key_says_so_without_leaking_it(server: MockServer, tmp_path: Path) -> None:
    code, _, err = await run_ask(
        tmp_path, "--base-url", server.base_url, "--api-key", "sk-wrong-key-123", "hi"
    )
    assert code == 1 and "401" in err and "sk-wrong-key-123" not in err


async def test_unreachable_server(tmp_path: Path) -> None:
    code, _, err = await run_ask(tmp_path, "--base-url", "http://127.0.0.1:9/v1", "hi")
    assert code == 1 and "Could not connect to http://127.0.0.1:9/v1" in err
    assert "Traceback" not in err


async def test_demo_provider_with_nothing_configured(tmp_path: Path) -> None:
    code, out, err = await run_ask(tmp_path, "hello")
    assert code == 0, err
    assert "offline demo" in err
    assert len(out) > 200 and "```" in out


# Issue 14: every flag means what it says, every ending is reported.


def target(server: MockServer, model: str = "mock-gpt") -> tuple[str, ...]:
    return ("--base-url", server.base_url, "--api-key", "sk-secret-test", "--model", model)


def error_lines(err: str) -> list[str]:
    lines = err.strip().splitlines()
    assert "Traceback" not in err
    return lines


async def test_config_defaults_apply_and_flags_override_them(
    server: MockServer, tmp_path: Path
) -> None:
    """Item 3: the config's [app] system prompt and parameters, as the app uses them."""
    config = tmp_path / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(
        '[app]\nsystem_prompt = "from the config"\ntemperature = 0.3\nmax_tokens = 500\n'
    )
    code, _, err = await run_ask(tmp_path, *target(server), "hi")
    assert code == 0, err
    body = server.requests[-1].body
    assert body["messages"][0] == {"role": "system", "content": "from the config"}
    assert body["temperature"] == 0.3 and body["max_tokens"] == 500
    code, _, err = await run_ask(
        tmp_path, *target(server), "--system", "flag", "--temperature", "1", "hi"
    )
    assert code == 0, err
    body = server.requests[-1].body
    assert body["messages"][0] == {"role": "system", "content": "flag"}
    assert body["temperature"] == 1.0 and body["max_tokens"] == 500


@pytest.mark.parametrize(
    ("model", "extra", "words"),
    [
        (
            "mock-gpt",
            ("--max-tokens", "3"),
            "the model reached its token limit (finish_reason=length)",
        ),
        ("mock-gpt+finish-content_filter", (), "content filter stopped it"),
        ("mock-gpt+tools", (), "call a tool"),
    ],
)
async def test_a_reply_cut_off_by_the_server_exits_3_with_a_note(
    server: MockServer, tmp_path: Path, model: str, extra: tuple[str, ...], words: str
) -> None:
    """Item 4: finish_reason length, content_filter and tool_calls are not a success."""
    code, out, err = await run_ask(tmp_path, *target(server, model), *extra, "hi")
    assert code == 3, err
    lines = error_lines(err)
    assert len(lines) == 1 and lines[0].startswith("note: reply cut off: ") and words in lines[0]
    if extra:
        assert out.strip() and len(out) < len(REPLY), "what arrived is printed"


async def test_a_damaged_stream_keeps_the_reply_and_exits_4(
    server: MockServer, tmp_path: Path
) -> None:
    """Item 5: unreadable events are numbered on stderr and the exit code says so."""
    code, out, err = await run_ask(tmp_path, *target(server, "mock-gpt+hostile"), "hi")
    assert code == 4, err
    assert REPLY.strip() in out
    lines = error_lines(err)
    # Event 1 is the role chunk; 2 is JSON nested 10,000 deep; 4 is "{not json".
    assert len(lines) == 2
    assert "event #2" in lines[0] and "'[[[[" in lines[0]
    assert "event #4" in lines[1] and "{not json" in lines[1]


@pytest.mark.parametrize(("args", "stdin"), [(("",), b""), (("  ",), b""), ((), b""), ((), b" \n")])
async def test_an_empty_prompt_is_a_usage_error(
    server: MockServer, tmp_path: Path, args: tuple[str, ...], stdin: bytes
) -> None:
    """Item 6: nothing is sent for an empty or blank prompt."""
    code, _, err = await run_ask(tmp_path, *target(server), *args, stdin=stdin)
    assert code == 2
    assert error_lines(err) == ["error: the prompt is empty: give it as arguments or on stdin."]
    assert server.requests == []


@pytest.mark.parametrize(
    ("flag", "value", "words"),
    [
        ("--temperature", "5", "temperature must be a number from 0 to 2"),
        ("--temperature", "-1", "temperature must be a number from 0 to 2"),
        ("--temperature", "nan", "temperature must be a number from 0 to 2"),
        ("--temperature", "inf", "temperature must be a number from 0 to 2"),
        ("--max-tokens", "0", "max_tokens must be a whole number of at least 1"),
        ("--max-tokens", "-5", "max_tokens must be a whole number of at least 1"),
        ("--max-tokens", "1.5", "max_tokens must be a whole number of at least 1"),
        ("--timeout", "0", "must be a number of seconds above 0"),
        ("--timeout", "nan", "must be a number of seconds above 0"),
        ("--retries", "-1", "must be a whole number from 0 to 10"),
    ],
)
async def test_out_of_range_values_are_usage_errors(
    server: MockServer, tmp_path: Path, flag: str, value: str, words: str
) -> None:
    """Item 7: checked by the same rules as the config and the palette."""
    code, _, err = await run_ask(tmp_path, *target(server), flag, value, "hi")
    assert code == 2 and words in err and "Traceback" not in err
    assert server.requests == []


async def test_timeout_says_timed_out(server: MockServer, tmp_path: Path) -> None:
    """Item 8: --timeout is the read timeout, and the error says so in words."""
    started = asyncio.get_running_loop().time()
    code, _, err = await run_ask(
        tmp_path, *target(server, "mock-gpt+stall"), "--timeout", "0.5", "hi"
    )
    assert code == 1
    lines = error_lines(err)
    assert len(lines) == 1 and lines[0].startswith("error: Timed out: ") and "0.5 s" in lines[0]
    assert asyncio.get_running_loop().time() - started < 10


async def test_retries_before_the_first_token_with_a_note_each(
    server: MockServer, tmp_path: Path
) -> None:
    """Item 9: 429/5xx/refused are retried as in the app; --retries 0 turns it off."""
    code, out, err = await run_ask(tmp_path, *target(server, "mock-gpt+flaky-1"), "hi")
    assert code == 0 and out == REPLY
    lines = error_lines(err)
    assert len(lines) == 1 and lines[0].startswith("note: HTTP 503") and "retry 1 of 3" in lines[0]
    code, _, err = await run_ask(
        tmp_path, *target(server, "mock-gpt+flaky-1+x"), "--retries", "0", "hi"
    )
    assert code == 1 and "503" in err
    assert [line[:6] for line in error_lines(err)] == ["error:", "hint: "]


async def test_retry_after_is_honoured(server: MockServer, tmp_path: Path) -> None:
    code, _, err = await run_ask(
        tmp_path, *target(server, "mock-gpt+http-429"), "--retries", "1", "hi"
    )
    assert code == 1
    lines = error_lines(err)
    assert len(lines) == 3
    assert "Retrying in 1.0 s (retry 1 of 1)" in lines[0]
    assert lines[1].startswith("error: HTTP 429")
    assert lines[2] == "hint: Rate-limited by the server: wait a moment, then retry."
    assert len(server.requests) == 2


@pytest.mark.parametrize(
    ("stdin", "words"),
    [
        (b"caf\xe9 au lait\n", "stdin is not UTF-8 text (byte 0xe9 at offset 3)"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "stdin is not UTF-8 text (byte 0x89 at offset 0)"),
        (b"text\x00with a NUL", "stdin holds binary data (a NUL byte at offset 4)"),
    ],
)
async def test_binary_or_invalid_utf8_stdin_is_refused_in_words(
    server: MockServer, tmp_path: Path, stdin: bytes, words: str
) -> None:
    """Item 15: never a UnicodeEncodeError traceback from deep in httpx."""
    code, _, err = await run_ask(tmp_path, *target(server), stdin=stdin)
    assert code == 2
    assert error_lines(err) == [f"error: {words}; ask sends text only."]
    assert server.requests == []


async def test_invalid_utf8_in_the_prompt_argument(server: MockServer, tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "chat_tui",
        "ask",
        *target(server),
        b"caf\xe9",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=clean_env(tmp_path),
    )
    _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2
    assert "the prompt is not valid UTF-8 text (byte 0xe9)" in err.decode()
    assert "Traceback" not in err.decode() and server.requests == []


@pytest.mark.parametrize("url", ["http://127.0.0.1:99999/v1", "http://[::1/v1"])
async def test_unusable_base_urls_are_one_line(tmp_path: Path, url: str) -> None:
    """Item 15: a port out of range and a broken IPv6 address are errors in words."""
    code, _, err = await run_ask(tmp_path, "--base-url", url, "--model", "m", "hi")
    assert code == 1
    lines = error_lines(err)
    assert len(lines) == 1 and lines[0].startswith("error: ")


@pytest.mark.parametrize(
    "suffix", ["?api-version=2024-10-21", "/chat/completions", "/chat/completions/?x=1"]
)
async def test_base_urls_with_a_query_or_the_full_endpoint(
    server: MockServer, tmp_path: Path, suffix: str
) -> None:
    """Item 16: Azure's query string stays at the end; the full endpoint is accepted."""
    code, out, err = await run_ask(
        tmp_path,
        "--base-url",
        server.base_url + suffix,
        "--api-key",
        "sk-secret-test",
        "--model",
        "mock-gpt",
        "hi",
    )
    assert code == 0, err
    assert out == REPLY
    assert server.requests[-1].path == "/v1/chat/completions"


async def test_on_a_pipe_the_reply_passes_through_unchanged(
    server: MockServer, tmp_path: Path
) -> None:
    """Item 17, the pipe half (the terminal half is in test_ask_terminal.py)."""
    hostile = "a\x1b[2Jb\x1b]52;c;aGk=\x07c\x1b]0;title\x07"
    code, out, err = await run_ask(tmp_path, *target(server, "mock-gpt+echo"), hostile)
    assert code == 0, err
    assert out == hostile + "\n"


async def test_an_empty_reply_is_noted_not_passed_off_as_an_answer(tmp_path: Path) -> None:
    async with MockServer(reply_text="") as empty:
        code, out, err = await run_ask(
            tmp_path, "--base-url", empty.base_url, "--model", "mock-gpt", "hi"
        )
    assert (code, out) == (0, "")
    assert "note: the server sent an empty reply" in err


async def test_a_reply_the_server_interrupted_is_not_complete(tmp_path: Path) -> None:
    # llama.cpp's way of ending a reply it interrupted: [DONE] with no finish_reason.
    async with MockServer(reply_text=REPLY) as server:
        code, out, err = await run_ask(
            tmp_path,
            "--base-url",
            server.base_url,
            "--model",
            "mock-gpt+llamacpp+interrupt-2",
            "hi",
        )
    assert code == 1 and out
    assert "no finish_reason" in err and "Traceback" not in err
