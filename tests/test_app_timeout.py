"""``chat-tui --timeout SECONDS`` reaches the app's provider as its read timeout (issue 14,
item 8), read by the same parser as ``ask``'s, before or after nothing else."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chat_tui.backend import Backend
from chat_tui.cli import build_parser, parse_args


class FakeApp:
    """Stands in for ChatApp: records what launch built and runs nothing."""

    built: list[Backend] = []
    return_code = 0

    def __init__(self, backend: Backend, **_: Any) -> None:
        self.built.append(backend)

    def run(self) -> None:
        pass


@pytest.mark.parametrize(("argv", "expected"), [(["--timeout", "7.5"], 7.5), ([], 120.0)])
def test_timeout_is_the_apps_read_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str], expected: float
) -> None:
    import chat_tui.tui.app
    import chat_tui.tui.launch
    from chat_tui.tui.launch import launch

    monkeypatch.setenv("CHAT_TUI_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("CHAT_TUI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(chat_tui.tui.app, "ChatApp", FakeApp)
    monkeypatch.setattr(chat_tui.tui.launch, "has_terminal", lambda: True)
    FakeApp.built.clear()
    args = parse_args(
        build_parser(), [*argv, "--base-url", "http://127.0.0.1:9/v1", "--model", "m"]
    )
    assert launch(args) == 0
    assert FakeApp.built[0].target.provider.read_timeout == expected
