"""An SVG snapshot of attachments: a sent prompt's compact lines (one expanded) and a file
waiting above the prompt box."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.widgets import Collapsible

from tests.tui.helpers import chat_screen, make_app
from tests.tui.test_snapshots import SIZE, SNAPSHOT_PORT, pin_figures, reply_recorded
from tests.tui.threaded_server import threaded_mock_server


def test_attachments(snap_compare: Any, tmp_path: Path) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("# Notes\n\n- ship the attachments\n- then the meter\n")
    code = tmp_path / "app.py"
    code.write_text("print('hello')\n")
    with threaded_mock_server(reply_text="Two files, noted.\n", port=SNAPSHOT_PORT) as server:

        async def run_before(pilot: Any) -> None:
            await pilot.pause()
            screen = chat_screen(pilot.app)
            await screen.attach(notes, "notes.md")
            await screen.attach(code, "app.py")
            screen.prompt.set_text("What is left to do?")
            await pilot.press("enter")
            await reply_recorded(pilot)
            pilot.app.query(Collapsible).first().collapsed = False
            await screen.attach(code, "app.py")
            await pilot.pause()
            pin_figures(pilot.app)
            await pilot.pause()

        assert snap_compare(make_app(server.base_url), terminal_size=SIZE, run_before=run_before)
