"""SVG snapshots of the context meter with a cost, and of the question asked before a
prompt that does not fit (pytest-textual-snapshot; live figures pinned)."""

from __future__ import annotations

from typing import Any

from chat_tui.backend import Backend
from chat_tui.config import ProviderConfig, Target
from chat_tui.config.model import ModelSettings
from chat_tui.tui.app import ChatApp
from tests.tui.test_snapshots import SIZE, SNAPSHOT_PORT, pin_figures, reply_recorded, type_and_send
from tests.tui.threaded_server import threaded_mock_server

REPLY = "A short answer, for a conversation that is filling its window."


def app_for(base_url: str) -> ChatApp:
    provider = ProviderConfig(
        name="local",
        base_url=base_url,
        model_settings={"mock-gpt": ModelSettings(context=30, price_in=3, price_out=15)},
    )
    return ChatApp(Backend(Target(provider=provider, model="mock-gpt")))


def test_meter_in_warning_colour_with_cost(snap_compare: Any) -> None:
    with threaded_mock_server(reply_text=REPLY, port=SNAPSHOT_PORT) as server:

        async def run_before(pilot: Any) -> None:
            await type_and_send(pilot, "How full is the window now?")
            await reply_recorded(pilot)
            pin_figures(pilot.app)
            await pilot.pause()

        assert snap_compare(app_for(server.base_url), terminal_size=SIZE, run_before=run_before)


def test_too_long_question(snap_compare: Any) -> None:
    with threaded_mock_server(reply_text=REPLY, port=SNAPSHOT_PORT) as server:

        async def run_before(pilot: Any) -> None:
            await type_and_send(pilot, "How full is the window now?")
            await reply_recorded(pilot)
            pin_figures(pilot.app)
            await type_and_send(pilot, "And this longer question, which will not fit at all?")
            await pilot.pause()

        assert snap_compare(app_for(server.base_url), terminal_size=SIZE, run_before=run_before)
