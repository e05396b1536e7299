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
        from textual.widgets import OptionList

        options = app.screen.query_one(OptionList)
        shown = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert any("one" in row and "unavailable: Could not connect" in row for row in shown)
        await pilot.press("escape")


async def open_picker(pilot) -> ModelPicker:  # type: ignore[no-untyped-def]
    await pilot.press("ctrl+l")
    for _ in range(80):
        await pilot.pause(0.05)
        if isinstance(pilot.app.screen, ModelPicker):
            break
    screen = pilot.app.screen
    assert isinstance(screen, ModelPicker)
    await pilot.pause(0.1)
    return screen


async def test_the_picker_opens_on_the_current_model_and_never_offers_unusable_ones(
    tmp_path: Path,
) -> None:
    from textual.widgets import OptionList

    async with MockServer() as one, MockServer(models=("mock-gpt", "zeta")) as two:
        providers = {
            "one": ProviderConfig("one", one.base_url, local=True),
            "two": ProviderConfig("two", two.base_url, local=True),
            "groq": ProviderConfig(
                "groq", "http://127.0.0.1:9/v1", api_key_env="NO_SUCH_KEY_VAR", models=("llama",)
            ),
        }
        config = Config(providers=providers, path=tmp_path / "config.toml")
        app = ChatApp(Backend(Target(providers["two"], "zeta")), config=config)
        async with app.run_test(size=(100, 40), notifications=True) as pilot:
            await pilot.pause()
            picker = await open_picker(pilot)
            options = picker.query_one(OptionList)
            highlighted = options.get_option_at_index(options.highlighted or 0)
            assert highlighted.id == "two/zeta"
            shown = [options.get_option_at_index(i) for i in range(options.option_count)]
            groq = next(option for option in shown if option.id == "groq/llama")
            assert groq.disabled
            assert "no API key: set NO_SUCH_KEY_VAR" in str(groq.prompt)
            # Filtering to it and pressing Enter does not switch to it, and says why.
            await pilot.press(*"groq/llama", "enter")
            await pilot.pause(0.2)
            assert isinstance(app.screen, ModelPicker)
            assert any("NO_SUCH_KEY_VAR" in n.message for n in app._notifications)
            await pilot.press("escape")
            await pilot.pause(0.1)
            assert "two/zeta" in status_text(app)
            # The list is asked once per session; Ctrl+R in the picker asks again.
            cached = app._catalog
            assert cached is not None
            picker = await open_picker(pilot)
            assert app._catalog is cached
            await pilot.press("ctrl+r")
            await pilot.pause(0.5)
            assert app._catalog is not cached and app._catalog is not None
            await pilot.press("escape")


async def test_any_model_name_can_be_typed_into_the_picker(tmp_path: Path) -> None:
    async with MockServer() as one, MockServer() as two:
        app = two_provider_app(one, two, tmp_path)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            await open_picker(pilot)
            await pilot.press(*"not-listed-model", "enter")
            await pilot.pause(0.2)
            assert "one/not-listed-model" in status_text(app)
            await send(pilot, "hi")
            assert one.requests[-1].body["model"] == "not-listed-model"


async def test_a_session_opened_from_the_browser_continues_on_its_own_model(
    tmp_path: Path,
) -> None:
    from chat_tui.sessions import Message, Session, SessionStore

    store = SessionStore(tmp_path / "sessions")
    mine = Session(title="made on two", provider="two", model="mock-coder")
    mine.add(Message("user", "hello"))
    store.save(mine)
    gone = Session(title="made on a gone provider", provider="gone", model="x")
    gone.add(Message("user", "hi"))
    store.save(gone)
    async with MockServer() as one, MockServer() as two:
        app = two_provider_app(one, two, tmp_path)
        app.store = store
        async with app.run_test(size=(100, 30), notifications=True) as pilot:
            await pilot.pause()
            for title, expected in (("made on two", "two/mock-coder"), ("gone", "two/mock-coder")):
                await pilot.press("ctrl+s")
                await pilot.pause(0.3)
                await pilot.press(*title, "enter")
                for _ in range(40):
                    await pilot.pause(0.05)
                    if expected in status_text(app):
                        break
                assert expected in status_text(app)
            assert any("no provider 'gone'" in n.message for n in app._notifications)
            assert store.load(gone.id).provider == "gone"  # not quietly changed


async def test_words_that_match_nothing_are_a_search_not_a_model_name(tmp_path: Path) -> None:
    async with MockServer() as one, MockServer() as two:
        app = two_provider_app(one, two, tmp_path)
        async with app.run_test(size=(100, 30), notifications=True) as pilot:
            await pilot.pause()
            before = status_text(app)
            picker = await open_picker(pilot)
            # Model names hold no spaces: "coder mock" must not become the model "coder mock".
            await pilot.press(*"zzz qqq", "enter")
            await pilot.pause(0.2)
            assert app.screen is picker
            await pilot.press("escape")
            await pilot.pause(0.1)
            assert status_text(app).split("·")[0] == before.split("·")[0]
