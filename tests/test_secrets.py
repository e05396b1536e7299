"""The API key never reaches a file, an export, an error message or the screen."""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from pathlib import Path

from chat_tui.backend import Backend
from chat_tui.config import ProviderConfig, Target
from chat_tui.mock_server import MockServer
from chat_tui.sessions import SessionStore
from chat_tui.tui.app import ChatApp
from tests.test_ask import clean_env
from tests.tui.helpers import chat_screen

KEY = "sk-test-SECRET-a1b2c3d4e5f6"


def files_under(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


async def test_the_key_is_in_no_file_screen_or_message(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CHAT_TUI_DATA_DIR", str(tmp_path / "data"))
    store = SessionStore(tmp_path / "data" / "sessions")
    shown: list[str] = []
    async with MockServer(reply_text="A reply.", api_key=KEY) as server:
        provider = ProviderConfig("mock", server.base_url)
        for model, key in (
            ("mock-gpt", KEY),
            ("mock-gpt", KEY + "-wrong"),
            ("mock-gpt+drop-1", KEY),
        ):
            app = ChatApp(Backend(Target(provider, model, key)), store=store)
            async with app.run_test(size=(100, 30), notifications=True) as pilot:
                await pilot.pause()
                chat_screen(app).prompt.set_text("hello")
                await pilot.press("enter")
                await app.workers.wait_for_complete()
                await pilot.pause()
                await app.run_action("export")
                await app.workers.wait_for_complete()
                await pilot.pause()
                shown.append(app.export_screenshot())
                shown.extend(n.message for n in app._notifications)
                shown.append(str(app.title) + str(app.sub_title))

    # The CLI writes into the same folders.
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "chat_tui",
        "ask",
        "--base-url",
        "http://127.0.0.1:9/v1",
        "--api-key",
        KEY,
        "--sessions-dir",
        str(store.root),
        "--continue",
        "hi",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=clean_env(tmp_path),
    )
    out, err = await process.communicate()
    shown.append(out.decode() + err.decode())

    written = files_under(tmp_path)
    assert any(p.suffix == ".toml" for p in written) and any(p.suffix == ".md" for p in written)
    for path in written:
        assert KEY.encode() not in path.read_bytes(), path
        if os.name == "posix":
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
    for text in shown:
        assert KEY not in text
