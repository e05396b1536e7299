"""Switching models from the keyboard between two real mock servers."""

from __future__ import annotations

from pathlib import Path

from chat_tui.backend import Backend
from chat_tui.config import AppSettings, Config, ProviderConfig, Target
from chat_tui.mock_server import MockServer
from chat_tui.tui.app import ChatApp
from chat_tui.tui.screens.model_picker import ModelPicker
from tests.tui.helpers import chat_screen, status_text


def two_provider_app(one: MockServer, two: MockServer, tmp_path: Path) -> ChatApp:
    providers = {
        "one": ProviderConfig("one", one.base_url, local=True, models=("alpha",)),
        "two": ProviderConfig("two", two.base_url, local=True),
    }
    config = Config(
        app=AppSettings(favourites=("one/alpha", "two/mock-coder")),
        providers=providers,
        path=tmp_path / "config.toml",
    )
    return ChatApp(Backend(Target(providers["one"], "alpha")), config=config)


async def send(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    chat_screen(pilot.app).prompt.set_text(text)
    await pilot.press("enter")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def test_pick_a_model_of_another_provider_and_the_reply_comes_from_it(
    tmp_path: Path,
) -> None:
    async with (
        MockServer(reply_text="from one") as one,
        MockServer(reply_text="from two", models=("mock-gpt", "mock-coder", "big-model")) as two,
    ):
        app = two_provider_app(one, two, tmp_path)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            await send(pilot, "first")
            assert one.requests[-1].body["model"] == "alpha"
            await pilot.press("ctrl+l")
            for _ in range(50):
                await pilot.pause(0.05)
                if isinstance(app.screen, ModelPicker):
                    break
            assert isinstance(app.screen, ModelPicker)
            await pilot.press(*"bigmod")
            await pilot.pause(0.1)
            await pilot.press("enter")
            await pilot.pause(0.2)
            assert "two/big-model" in status_text(app)
            await send(pilot, "second")
            assert two.requests[-1].body["model"] == "big-model"
            sent = [m["content"] for m in two.requests[-1].body["messages"]]
            assert sent == ["first", "from one", "second"]
            session = chat_screen(app).session
            assert session.messages[1].model == "one/alpha"
            assert session.messages[3].model == "two/big-model"
            assert (session.provider, session.model) == ("two", "big-model")
        state = (tmp_path / "state.toml").read_text()
        assert "two/big-model" in state


async def test_cycle_favourites_without_opening_anything(tmp_path: Path) -> None:
    async with MockServer(reply_text="from one") as one, MockServer(reply_text="from two") as two:
        app = two_provider_app(one, two, tmp_path)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            await pilot.press("ctrl+t")
            await pilot.pause()
            assert "two/mock-coder" in status_text(app)
            await send(pilot, "hello")
            assert two.requests[-1].body["model"] == "mock-coder"
            await pilot.press("ctrl+t")
            await pilot.pause()
            assert "one/alpha" in status_text(app)
            await pilot.press("alt+t")
            await pilot.pause()
            assert "two/mock-coder" in status_text(app)


async def test_unreachable_provider_is_shown_not_hidden(tmp_path: Path) -> None:
    async with MockServer(reply_text="x") as one, MockServer(reply_text="y") as two:
        app = two_provider_app(one, two, tmp_path)
    # Both servers are closed now: the picker still opens and says why.
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+l")
        for _ in range(80):
            await pilot.pause(0.05)
            if isinstance(app.screen, ModelPicker):
                break
        assert isinstance(app.screen, ModelPicker)
        text = app.screen.query_one(".unavailable").render()
        assert "one: unavailable" in str(text) and "Could not connect" in str(text)
        await pilot.press("escape")
