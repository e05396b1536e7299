"""The chat screen driven with Pilot against the mock server."""

from __future__ import annotations

import asyncio

from textual.widgets import Collapsible

from chat_tui.mock_server import MockServer
from chat_tui.tui.widgets.code_block import CodeBlock
from chat_tui.tui.widgets.messages import AssistantMessage, UserMessage
from chat_tui.tui.widgets.prose_view import ProseView
from chat_tui.tui.widgets.reply_view import ReplyView
from tests.tui.helpers import chat_screen, make_app, status_text

REPLY = "Here is a list:\n\n- one\n- two\n\n```python\nprint('hi')\n```\n\nDone."


async def send(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    screen = chat_screen(pilot.app)
    screen.prompt.focus()
    screen.prompt.set_text(text)
    await pilot.press("enter")


async def wait_for_reply(pilot) -> None:  # type: ignore[no-untyped-def]
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def test_send_streams_a_reply_and_updates_the_status_bar() -> None:
    async with MockServer(reply_text=REPLY) as server:
        app = make_app(server.base_url)
        async with app.run_test(size=(100, 40)) as pilot:
            assert "mock/mock-gpt" in status_text(app)
            await send(pilot, "hello")
            await wait_for_reply(pilot)
            screen = chat_screen(app)
            (user,) = app.query(UserMessage)
            (reply,) = app.query(AssistantMessage)
            assert user.text == "hello"
            assert reply.text == REPLY
            assert reply.status == "complete"
            assert len(reply.query(CodeBlock)) == 1
            assert reply.query_one(CodeBlock).code == "print('hi')"
            assert screen.prompt.text == ""
            status = status_text(app)
            assert "idle" in status and "tok/s" in status and "reply" in status
            assert server.requests[-1].body["messages"][-1] == {
                "role": "user",
                "content": "hello",
            }
            await send(pilot, "again")
            await wait_for_reply(pilot)
            sent = server.requests[-1].body["messages"]
            assert [m["role"] for m in sent] == ["user", "assistant", "user"]
            assert sent[1]["content"] == REPLY


async def test_escape_stops_the_reply_and_keeps_the_partial_text() -> None:
    async with MockServer(reply_text=REPLY) as server:
        app = make_app(server.base_url, "mock-gpt+stall-4")
        async with app.run_test(size=(100, 40)) as pilot:
            await send(pilot, "hello")
            for _ in range(100):
                await pilot.pause(0.02)
                if "streaming" in status_text(app):
                    break
            await pilot.press("escape")
            await wait_for_reply(pilot)
            (reply,) = app.query(AssistantMessage)
            assert reply.status == "stopped"
            assert reply.text and REPLY.startswith(reply.text)
            assert "stopped" in status_text(app)
            assert await server.wait_for_disconnect(2)
            saved = chat_screen(app).session.messages[-1]
            assert saved.role == "assistant" and saved.status == "stopped"
            assert saved.content == reply.text
            await pilot.press("f5")
            for _ in range(50):
                await pilot.pause(0.05)
                if len(server.requests) == 2:
                    break
            sent = [m["content"] for m in server.requests[-1].body["messages"]]
            assert sent[1] == reply.text and "Continue" in sent[2]
            await pilot.press("escape")
            await wait_for_reply(pilot)


async def test_second_send_while_streaming_is_refused() -> None:
    async with MockServer(reply_text=REPLY) as server:
        app = make_app(server.base_url, "mock-gpt+stall-2")
        async with app.run_test(size=(100, 40), notifications=True) as pilot:
            await send(pilot, "first")
            await pilot.pause(0.2)
            await send(pilot, "second")
            await pilot.pause()
            assert len(app.query(UserMessage)) == 1
            assert any("still streaming" in n.message for n in app._notifications)
            # The refused prompt is kept; what is typed next starts a line of its own.
            assert chat_screen(app).prompt.text == "second\n"
            await pilot.press("escape")
            await wait_for_reply(pilot)
            assert len(server.requests) == 1


async def test_http_errors_are_shown_in_words_with_a_hint() -> None:
    cases = {
        "http-401": ("Incorrect API key", "Check the API key"),
        "http-429": ("Rate limit", "Rate-limited"),
        "http-502": ("502 Bad Gateway", "retrying may help"),
    }
    async with MockServer(reply_text=REPLY) as server:
        for fault, (server_words, hint) in cases.items():
            app = make_app(server.base_url, f"mock-gpt+{fault}")
            async with app.run_test(size=(100, 40)) as pilot:
                await send(pilot, "hello")
                await wait_for_reply(pilot)
                (reply,) = app.query(AssistantMessage)
                assert reply.status == "error"
                assert reply.error and server_words in reply.error and hint in reply.error
                assert reply.note.endswith("Ctrl+R retries.")  # the way out follows the words
                assert "error" in status_text(app)


async def test_dropped_stream_is_kept_and_marked_cut_off_then_retried() -> None:
    async with MockServer(reply_text=REPLY) as server:
        app = make_app(server.base_url, "mock-gpt+drop-5")
        async with app.run_test(size=(100, 40)) as pilot:
            await send(pilot, "hello")
            await wait_for_reply(pilot)
            (reply,) = app.query(AssistantMessage)
            assert reply.status == "cut_off"
            assert reply.text and "cut off" in (reply.error or "")
            screen = chat_screen(app)
            screen.backend.target = screen.backend.target.__class__(
                provider=screen.backend.target.provider, model="mock-gpt", api_key=None
            )
            await pilot.press("ctrl+r")
            await wait_for_reply(pilot)
            (retried,) = app.query(AssistantMessage)
            assert retried.status == "complete" and retried.text == REPLY


async def test_reasoning_goes_to_a_thinking_block_that_folds_when_the_answer_starts() -> None:
    async with MockServer(reply_text=REPLY) as server:
        app = make_app(server.base_url, "mock-gpt+reasoning")
        async with app.run_test(size=(100, 40)) as pilot:
            await send(pilot, "think")
            await wait_for_reply(pilot)
            reply = app.query_one(AssistantMessage)
            thinking = reply.query_one(Collapsible)
            assert thinking.collapsed
            assert reply.reasoning.strip()
            assert reply.text == REPLY


async def test_model_output_is_text_not_markup_or_terminal_commands() -> None:
    hostile = "[bold red]not bold[/] \x1b]52;c;aGFja2Vk\x07 \x1b[2J bell\x07 end"
    async with MockServer(reply_text=hostile) as server:
        app = make_app(server.base_url)
        async with app.run_test(size=(100, 40)) as pilot:
            await send(pilot, "hello")
            await wait_for_reply(pilot)
            reply = app.query_one(AssistantMessage)
            shown = reply.reply.source
            assert "\x1b" not in shown and "\x07" not in shown
            assert "[bold red]not bold[/]" in shown
            screen_text = app.export_screenshot()
            assert "[bold red]not" in screen_text.replace("&#160;", " ")
            assert "␛" in screen_text and "\x1b" not in screen_text


async def test_bursts_are_batched_into_few_appends() -> None:
    async with MockServer() as server:
        app = make_app(server.base_url, "mock-gpt+tokens-3000")
        async with app.run_test(size=(100, 40)) as pilot:
            await send(pilot, "long")
            await wait_for_reply(pilot)
            reply = app.query_one(AssistantMessage)
            view = reply.query_one(ReplyView)
            assert len(view.source) > 5000
            assert view.append_count < 60, view.append_count


async def test_streamed_reply_matches_a_one_shot_render() -> None:
    async with MockServer() as server:
        app = make_app(server.base_url, "mock-gpt+tokens-800")
        async with app.run_test(size=(100, 40)) as pilot:
            await send(pilot, "structure")
            await wait_for_reply(pilot)
            streamed = app.query_one(AssistantMessage).query_one(ReplyView)
            conversation = chat_screen(app).conversation
            twin = await conversation.add_assistant(model="mock/mock-gpt", content=streamed.source)
            await pilot.pause()
            one_shot = twin.query_one(ReplyView)

            def shape(view: ReplyView) -> list[tuple[str, str]]:
                parts = []
                for child in view.children:
                    if isinstance(child, ProseView):
                        lines = [
                            child.render_line(y).text.rstrip() for y in range(child.size.height)
                        ]
                        parts.append(("prose", "\n".join(lines)))
                    elif isinstance(child, CodeBlock):
                        parts.append(("code", child.code))
                return parts

            assert shape(streamed) == shape(one_shot)
            assert any(kind == "code" for kind, _ in shape(streamed))


async def test_follows_the_bottom_unless_the_user_scrolls_up() -> None:
    async with MockServer() as server:
        app = make_app(server.base_url, "mock-gpt+tokens-1500+rate-600")
        async with app.run_test(size=(80, 24)) as pilot:
            conversation = chat_screen(app).conversation
            await send(pilot, "long")
            await pilot.pause(0.6)
            assert conversation.max_scroll_y > 0
            assert conversation.scroll_y == conversation.max_scroll_y
            conversation.scroll_home(animate=False)
            conversation.release_anchor()
            await pilot.pause(0.5)
            assert conversation.scroll_y < conversation.max_scroll_y
            await wait_for_reply(pilot)
            assert conversation.scroll_y < conversation.max_scroll_y, "left where the user was"
            conversation.scroll_end(animate=False)
            await pilot.pause()
            await send(pilot, "more")
            await pilot.pause(0.8)
            assert conversation.scroll_y == conversation.max_scroll_y
            await pilot.press("escape")
            await wait_for_reply(pilot)


async def test_edit_last_prompt_and_new_conversation() -> None:
    async with MockServer(reply_text=REPLY) as server:
        app = make_app(server.base_url)
        async with app.run_test(size=(100, 40)) as pilot:
            await send(pilot, "first try")
            await wait_for_reply(pilot)
            await pilot.press("ctrl+e")
            await pilot.pause()
            screen = chat_screen(app)
            assert screen.prompt.text == "first try"
            # Nothing is removed until the edited prompt is sent (Esc cancels the edit).
            assert len(screen.session.messages) == 2
            assert len(app.query(".-replacing")) == 2
            await pilot.press("ctrl+n")
            await pilot.pause()
            assert not app.query(AssistantMessage)


async def test_copy_last_code_block_and_up_recalls_prompts() -> None:
    async with MockServer(reply_text=REPLY) as server:
        app = make_app(server.base_url)
        copied: list[str] = []
        app.copy_to_clipboard = copied.append  # type: ignore[method-assign]
        async with app.run_test(size=(100, 40)) as pilot:
            await send(pilot, "code please")
            await wait_for_reply(pilot)
            await pilot.press("ctrl+g")
            assert copied == ["print('hi')"]
            await pilot.press("up")
            assert chat_screen(app).prompt.text == "code please"


async def test_messages_can_be_focused_in_turn() -> None:
    async with MockServer(reply_text=REPLY) as server:
        app = make_app(server.base_url)
        async with app.run_test(size=(100, 40)) as pilot:
            await send(pilot, "hello")
            await wait_for_reply(pilot)
            await pilot.press("ctrl+up")
            assert isinstance(app.focused, AssistantMessage)
            await pilot.press("ctrl+up")
            assert isinstance(app.focused, UserMessage)
            await pilot.press("escape")
            assert app.focused is chat_screen(app).prompt


async def test_resize_mid_reply_survives() -> None:
    async with MockServer() as server:
        app = make_app(server.base_url, "mock-gpt+tokens-800+rate-2000")
        async with app.run_test(size=(200, 60)) as pilot:
            await send(pilot, "resize")
            await pilot.pause(0.1)
            await pilot.resize_terminal(80, 24)
            await pilot.pause(0.1)
            await pilot.resize_terminal(120, 30)
            await wait_for_reply(pilot)
            assert app.query_one(AssistantMessage).status == "complete"
            await asyncio.sleep(0)
