"""An endpoint given by URL is a provider like any other (issue 12): its models are listed,
its first model is used when none is named, a dead provider never holds up the rest, and
``chat-tui models`` prints only what can be chosen. Real loopback servers throughout."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import MappingProxyType

import pytest

from chat_tui.backend import Backend
from chat_tui.catalog import fetch_catalog, with_marks
from chat_tui.config import PRESETS, Config, ProviderConfig, Target
from chat_tui.errors import ConfigError
from chat_tui.mock_server import MockServer

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def silent_server() -> Iterator[str]:
    """A server that accepts connections and never answers: the worst kind of dead."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    finally:
        listener.close()


def custom(url: str, model: str = "") -> Target:
    return Target(ProviderConfig("custom", url, local=True), model)


async def test_no_model_named_uses_the_first_the_endpoint_lists() -> None:
    async with MockServer(models=("served-model", "other")) as server:
        backend = Backend(custom(server.base_url))
        await backend.start()
        assert backend.target.label == "custom/served-model"
        async with backend.stream([{"role": "user", "content": "hi"}]) as stream:
            async for _ in stream:
                pass
        await backend.close()
        assert server.requests[-1].body["model"] == "served-model"


async def test_an_endpoint_that_lists_no_models_says_how_to_name_one() -> None:
    async with MockServer(models=()) as server:
        backend = Backend(custom(server.base_url))
        with pytest.raises(ConfigError, match="lists no models: name one with --model"):
            await backend.start()
        await backend.close()
        assert not [r for r in server.requests if r.body]  # nothing sent with a made-up name


async def test_one_dead_provider_does_not_hold_up_the_catalog() -> None:
    async with MockServer() as alive:
        with silent_server() as dead_url:
            providers = {
                "alive": ProviderConfig("alive", alive.base_url, local=True),
                "dead": ProviderConfig("dead", dead_url, local=True, models=("ghost",)),
                "groq": PRESETS["groq"],
            }
            began = time.monotonic()
            catalog = await fetch_catalog(
                Config(providers=MappingProxyType(providers)), timeout=0.5
            )
            assert time.monotonic() - began < 2.0
    refs = {entry.ref: entry for entry in catalog.entries}
    assert refs["alive/mock-gpt"].available
    assert not refs["dead/ghost"].available
    assert "dead" not in [entry.provider for entry in catalog.available]
    statuses = {status.provider: status for status in catalog.providers}
    assert not statuses["dead"].available
    assert statuses["groq"].reason == "no API key: set GROQ_API_KEY"
    # Usable models come first; favourites are marked again on a cached catalog.
    assert catalog.entries[0].available
    marked = with_marks(catalog, ["alive/mock-coder"], [])
    assert marked.entries[0].ref == "alive/mock-coder" and marked.entries[0].favourite


def run_cli(*args: str, env: dict[str, str], tmp: Path) -> tuple[int, str, str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CHAT_TUI_"))}
    full_env.update(
        CHAT_TUI_CONFIG_DIR=str(tmp / "config"),
        CHAT_TUI_DATA_DIR=str(tmp / "data"),
        CHAT_TUI_CACHE_DIR=str(tmp / "cache"),
        **env,
    )

    async def run() -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "chat_tui", *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=full_env,
            cwd=ROOT,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), 30)
        return process.returncode or 0, out.decode(), err.decode()

    return asyncio.run(run())


def models_of(stdout: str) -> list[str]:
    return [line.split(" ")[0] for line in stdout.splitlines()]


def test_models_lists_the_endpoint_from_the_environment(tmp_path: Path) -> None:
    from tests.tui.threaded_server import threaded_mock_server

    # The server runs on a thread of its own while the CLI runs as a subprocess.
    with threaded_mock_server(models=("served-a", "served-b")) as server:
        code, out, err = run_cli(
            "models",
            env={"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "gateway-key"},
            tmp=tmp_path,
        )
    assert code == 0, err
    listed = models_of(out)
    assert "custom/served-a" in listed and "custom/served-b" in listed
    # Only what can be chosen is on stdout; the rest is on stderr with its reason.
    assert not any(ref.startswith(("openai/", "groq/", "ollama/")) for ref in listed)
    assert "# groq: unavailable (no API key: set GROQ_API_KEY)" in err
    assert "openai: unavailable (OPENAI_API_KEY is the key of OPENAI_BASE_URL" in err
    assert "Traceback" not in err


def test_continue_on_a_session_whose_endpoint_is_gone_says_which_url(tmp_path: Path) -> None:
    from chat_tui.sessions import Message, Session, SessionStore

    store = SessionStore(tmp_path / "data" / "sessions")
    session = Session(title="on my server", provider="custom", model="m")
    session.base_url = "http://127.0.0.1:9/v1"
    session.add(Message("user", "hi"))
    store.save(session)
    code, _, err = run_cli("--continue", env={}, tmp=tmp_path)
    assert code == 1
    assert "custom/m at http://127.0.0.1:9/v1, which is not configured now" in err
    assert "--base-url http://127.0.0.1:9/v1" in err
    assert "Traceback" not in err
    saved = store.load(session.id)
    assert (saved.provider, saved.base_url, saved.revision) == (
        "custom",
        "http://127.0.0.1:9/v1",
        session.revision,
    )  # untouched


def test_models_takes_the_endpoint_as_a_flag_before_or_after(tmp_path: Path) -> None:
    from tests.tui.threaded_server import threaded_mock_server

    with threaded_mock_server(models=("served-a",)) as server:
        for args in (
            ("models", "--base-url", server.base_url),
            ("--base-url", server.base_url, "models"),
        ):
            code, out, err = run_cli(*args, env={}, tmp=tmp_path)
            assert code == 0, err
            assert "custom/served-a" in models_of(out)


def test_models_exits_1_when_the_named_endpoint_is_down(tmp_path: Path) -> None:
    with silent_server() as dead_url:
        code, out, err = run_cli("models", "--base-url", dead_url, env={}, tmp=tmp_path)
    assert code == 1
    assert "# custom: unavailable" in err
    assert "custom/" not in out


def test_models_on_a_pipe_prints_bare_refs_even_for_favourites(tmp_path: Path) -> None:
    from tests.tui.threaded_server import threaded_mock_server

    config = tmp_path / "config"
    config.mkdir()
    (config / "config.toml").write_text('[app]\nfavourites = ["custom/served-a"]\n')
    with threaded_mock_server(models=("served-a",)) as server:
        code, out, err = run_cli("models", "--base-url", server.base_url, env={}, tmp=tmp_path)
    assert code == 0, err
    assert "custom/served-a" in out.splitlines()
    assert "favourites" not in err  # a custom/ favourite is no config error


def test_the_app_on_a_pipe_says_to_use_ask_instead_of_hanging(tmp_path: Path) -> None:
    code, out, err = run_cli(env={}, tmp=tmp_path)  # stdin is /dev/null, stdout a pipe
    assert code == 2 and out == ""
    assert "needs a terminal" in err and "chat-tui ask" in err
