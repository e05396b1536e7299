"""The context meter, the cost in the status bar, and the question asked before sending a
prompt that does not fit: the real app with Pilot against the mock server."""

from __future__ import annotations

from textual.content import Content

from chat_tui.backend import Backend
from chat_tui.config import ProviderConfig, Target
from chat_tui.config.model import ModelSettings
from chat_tui.meter import format_cost
from chat_tui.mock_server import MockServer
from chat_tui.sessions import SessionStore
from chat_tui.tui.app import ChatApp
from chat_tui.tui.screens.too_long import TooLong
from chat_tui.tui.widgets.messages import UserMessage
from chat_tui.tui.widgets.status_bar import StatusBar
from tests.tui.helpers import chat_screen, make_app, status_text

MODEL = "m+openrouter+ctx-4096"


async def send(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    screen = chat_screen(pilot.app)
    screen.prompt.focus()
    screen.prompt.set_text(text)
    await pilot.press("enter")


async def settle(pilot) -> None:  # type: ignore[no-untyped-def]
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def app_with_window(base_url: str, context: int, store: SessionStore | None = None) -> ChatApp:
    provider = ProviderConfig(
        name="mock",
        base_url=base_url,
        model_settings={"mock-gpt": ModelSettings(context=context, price_in=2, price_out=4)},
    )
    return ChatApp(Backend(Target(provider=provider, model="mock-gpt")), store=store)


async def test_meter_and_cost_from_what_the_server_says() -> None:
    async with MockServer(models=[MODEL], reply_tokens=30) as server:
        app = make_app(server.base_url, MODEL)
        async with app.run_test(size=(120, 30)) as pilot:
            await settle(pilot)
            # The window is known before anything is sent; nothing sent, nothing to estimate.
            assert "ctx 0/4k" in status_text(app)
            assert "$" not in status_text(app)
            await send(pilot, "hello")
            await settle(pilot)
            usage = chat_screen(app).session.messages[-1].usage
            assert usage is not None and usage.cost is not None and not usage.estimated
            used = usage.prompt_tokens + usage.completion_tokens
            status = status_text(app)
            assert f"ctx {used}/4k" in status
            assert "$0.0000" in status  # OpenRouter's own figure for the reply
            # Typing adds an estimate, marked as one.
            chat_screen(app).prompt.set_text("x" * 400)
            await pilot.pause()
            assert f"ctx ~{used + 100}/4k" in status_text(app)
            assert chat_screen(app).context_room() == 4096 - used
            await send(pilot, "more")
            await settle(pilot)
            messages = chat_screen(app).session.messages
            total = sum(m.usage.cost or 0 for m in messages if m.usage is not None)
            assert total > 0 and f"total {format_cost(total)}" in status_text(app)


async def test_an_unknown_window_shows_no_meter_and_no_room() -> None:
    async with MockServer(reply_tokens=10) as server:
        app = make_app(server.base_url)
        async with app.run_test(size=(120, 30)) as pilot:
            await send(pilot, "hello")
            await settle(pilot)
            status = status_text(app)
            assert "ctx" not in status and "$" not in status
            assert chat_screen(app).context_room() is None


async def test_the_meter_warns_above_80_percent() -> None:
    async with MockServer() as server:
        app = make_app(server.base_url)
        async with app.run_test(size=(120, 30)) as pilot:
            await settle(pilot)  # the window is learnt (unknown), and set here instead
            bar = app.screen.query_one(StatusBar)
            bar.context_window = 1000
            bar.context_tokens = 700
            await pilot.pause()

            def meter_style() -> str:
                rendered = bar.render()
                assert isinstance(rendered, Content)
                start = rendered.plain.index("ctx")
                return " ".join(
                    str(span.style) for span in rendered.spans if span.start <= start < span.end
                )

            assert "warning" not in meter_style() and "error" not in meter_style()
            bar.context_tokens = 850
            assert "warning" in meter_style()
            bar.context_tokens = 1200
            assert "error" in meter_style()


async def test_a_prompt_that_does_not_fit_is_asked_about_first(tmp_path) -> None:  # type: ignore[no-untyped-def]
    long_prompt = "word " * 100  # about 125 tokens: fits a 250-token window alone
    async with MockServer(reply_tokens=10) as server:
        store = SessionStore(tmp_path)
        app = app_with_window(server.base_url, 250, store)
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            await send(pilot, "a" * 800)  # about 200 tokens: with the next prompt, too many
            await settle(pilot)
            first = chat_screen(app).session
            sent_before = len(server.requests)

            # Cancel: nothing is sent or dropped, and the prompt is back in the box.
            await send(pilot, long_prompt)
            await pilot.pause()
            assert isinstance(app.screen, TooLong)
            assert "does not fit" in str(app.screen.query_one("#explanation").render())
            await pilot.press("escape")
            await pilot.pause()
            assert len(server.requests) == sent_before
            assert chat_screen(app).prompt.text == long_prompt.rstrip("\n")
            assert len(first.messages) == 2

            # Send anyway: it goes to the server as it is.
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, TooLong)
            await pilot.press("s")
            await settle(pilot)
            assert len(server.requests) == sent_before + 1
            assert [m.role for m in first.messages] == ["user", "assistant", "user", "assistant"]

            # A new conversation: the prompt starts it; the old one keeps every message.
            chat_screen(app).prompt.set_text(long_prompt)
            await pilot.press("enter")
            await pilot.pause()
            await pilot.press("n")
            await settle(pilot)
            screen = chat_screen(app)
            assert screen.session.id != first.id
            assert [m.content for m in screen.session.messages if m.role == "user"] == [
                long_prompt.rstrip("\n")
            ]
            assert [view.text for view in app.query(UserMessage)] == [long_prompt.rstrip("\n")]
            assert len(store.load(first.id).messages) == 4


async def test_max_tokens_is_kept_aside_for_the_reply() -> None:
    async with MockServer(reply_tokens=10) as server:
        app = app_with_window(server.base_url, 1000)
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            screen = chat_screen(app)
            assert screen.context_room() == 1000
            screen.session.parameters["max_tokens"] = 900
            assert screen.context_room() == 100
            # 100 tokens of prompt with 900 kept for the reply: clearly too long.
            await send(pilot, "y" * 440)
            await pilot.pause()
            assert isinstance(app.screen, TooLong)
            assert "900 kept for the reply" in str(app.screen.query_one("#explanation").render())
            await pilot.press("escape")


async def test_a_prompt_too_long_for_any_conversation_offers_no_new_one() -> None:
    async with MockServer(reply_tokens=10) as server:
        app = app_with_window(server.base_url, 100)
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            first = chat_screen(app).session.id
            await send(pilot, "z" * 800)  # about 200 tokens, in a 100-token window
            await pilot.pause()
            dialog = app.screen
            assert isinstance(dialog, TooLong)
            assert "too long even for a new conversation" in str(
                dialog.query_one("#explanation").render()
            )
            assert dialog.query_one("#new").disabled
            assert not dialog.query_one("#new").display  # not shown: the words say why
            await pilot.press("n")  # not offered: nothing happens
            await pilot.pause()
            assert app.screen is dialog
            await pilot.press("escape")
            await pilot.pause()
            assert chat_screen(app).session.id == first and not server.requests


async def test_an_edited_prompt_is_measured_without_the_exchange_it_replaces() -> None:
    async with MockServer(reply_tokens=10) as server:
        app = app_with_window(server.base_url, 150)
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            await send(pilot, "w" * 400)  # about 100 tokens
            await settle(pilot)
            screen = chat_screen(app)
            # Another 100-token prompt would not fit beside it...
            assert screen._warn_too_long("v" * 400, "v" * 400)
            await pilot.press("escape")
            await pilot.pause()
            # ...but as an edit of the first one it replaces it, and fits.
            screen.prompt.focus()
            await screen.action_edit_last()
            screen.prompt.set_text("v" * 400)
            await pilot.press("enter")
            await settle(pilot)
            assert not isinstance(app.screen, TooLong)
            assert [m.content for m in screen.session.messages if m.role == "user"] == ["v" * 400]


async def test_the_meter_counts_the_prompt_while_its_reply_streams() -> None:
    async with MockServer(reply_tokens=200, tokens_per_second=50) as server:
        app = app_with_window(server.base_url, 8000)
        async with app.run_test(size=(120, 30)) as pilot:
            await pilot.pause()
            await send(pilot, "q" * 400)  # about 100 tokens
            for _ in range(200):
                if chat_screen(app).conversation.streaming:
                    break
                await pilot.pause(0.02)
            assert chat_screen(app).conversation.streaming
            # Before the server counts it, the prompt on its way is estimated, not left out.
            assert "ctx ~100/8k" in status_text(app)
            chat_screen(app).conversation.cancel_reply()
            await settle(pilot)


async def test_a_narrow_status_bar_drops_whole_figures_and_keeps_the_news() -> None:
    async with MockServer() as server:
        app = make_app(server.base_url)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            status = app.query_one(StatusBar)
            status.session_name = "A session with a rather long title"
            status.time_to_first_token, status.tokens_per_second = 0.25, 123.0
            status.reply_tokens, status.conversation_tokens = 4567, 98765
            status.reply_cost, status.total_cost = 0.000123, 0.004567
            await pilot.pause()
            text = status_text(app)
            # The cost stays whole; figures that do not fit go whole, from the end.
            assert "$0.00012" in text and "total $0.0046" in text
            assert "…" not in text.split("A session")[0]
            status.state, status.detail = "retrying", "retry 1/3 in 5s (Esc gives up): HTTP 503"
            await pilot.pause()
            assert "retry 1/3 in 5s" in status_text(app)
