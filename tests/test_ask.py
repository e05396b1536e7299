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
        "hi",
    )
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0]
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
