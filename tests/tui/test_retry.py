"""Retries before the first token: backoff, countdown in the status bar, Esc gives up."""

from __future__ import annotations

from typing import Any

from chat_tui.client.retry import MAX_RETRIES, retry_delay, should_retry
from chat_tui.errors import ConnectError, HTTPStatusError, ServerStreamError
from chat_tui.mock_server import MockServer
from chat_tui.tui.widgets.conversation import Conversation
from chat_tui.tui.widgets.messages import AssistantMessage
from tests.tui.helpers import chat_screen, make_app, status_text


def status_error(code: int, retry_after: float | None = None) -> HTTPStatusError:
    return HTTPStatusError("x", status_code=code, url="u", retry_after=retry_after)


def test_policy() -> None:
    assert should_retry(status_error(429), 0, received_any=False)
    assert should_retry(status_error(503), 2, received_any=False)
    assert not should_retry(status_error(503), MAX_RETRIES, received_any=False)
    assert not should_retry(status_error(401), 0, received_any=False)
    assert not should_retry(status_error(503), 0, received_any=True)
    assert should_retry(ConnectError("down"), 0, received_any=False)
    assert not should_retry(ServerStreamError("mid-stream"), 0, received_any=False)


def test_backoff_grows_with_jitter_and_honours_retry_after() -> None:
    assert retry_delay(0, jitter=lambda: 0.0) == 0.5
    assert retry_delay(0, jitter=lambda: 1.0) == 1.0
    assert retry_delay(2, jitter=lambda: 1.0) == 4.0
    assert retry_delay(10, jitter=lambda: 1.0) == 30.0
    assert retry_delay(0, retry_after=7) == 7
    assert retry_delay(0, retry_after=10_000) == 30.0


async def send(pilot: Any, text: str) -> None:
    await pilot.pause()
    chat_screen(pilot.app).prompt.set_text(text)
    await pilot.press("enter")


async def test_overloaded_server_is_retried_and_the_reply_arrives() -> None:
    async with MockServer(reply_text="finally") as server:
        app = make_app(server.base_url, "mock-gpt+flaky-2")
        seen: list[str] = []
        async with app.run_test(
            size=(100, 30), message_hook=lambda m: seen.append(type(m).__name__)
        ) as pilot:
            await send(pilot, "hello")
            await app.workers.wait_for_complete()
            await pilot.pause()
            reply = app.query_one(AssistantMessage)
            assert reply.status == "complete" and reply.text == "finally"
            assert len(server.requests) == 3
            assert seen.count("RetryCountdown") >= 2
            assert "retry" not in status_text(app)


async def test_the_countdown_shows_and_esc_gives_up() -> None:
    async with MockServer(reply_text="never") as server:
        app = make_app(server.base_url, "mock-gpt+flaky-9")
        async with app.run_test(size=(120, 30)) as pilot:
            Conversation.retry_base = 5.0
            try:
                await send(pilot, "hello")
                for _ in range(100):
                    await pilot.pause(0.05)
                    if "retrying" in status_text(app):
                        break
                assert "retry 1/3 in" in status_text(app)
                await pilot.press("escape")
                await app.workers.wait_for_complete()
                await pilot.pause()
            finally:
                Conversation.retry_base = 0.05
            reply = app.query_one(AssistantMessage)
            assert reply.status == "stopped"
            assert len(server.requests) == 1


async def test_auth_errors_are_not_retried() -> None:
    async with MockServer(reply_text="x") as server:
        app = make_app(server.base_url, "mock-gpt+http-401")
        async with app.run_test(size=(100, 30)) as pilot:
            await send(pilot, "hello")
            await app.workers.wait_for_complete()
            assert len(server.requests) == 1
            assert app.query_one(AssistantMessage).status == "error"


async def test_errors_after_text_arrived_are_not_retried() -> None:
    async with MockServer(reply_text="some words before the cut") as server:
        app = make_app(server.base_url, "mock-gpt+drop-3")
        async with app.run_test(size=(100, 30)) as pilot:
            await send(pilot, "hello")
            await app.workers.wait_for_complete()
            assert len(server.requests) == 1
            assert app.query_one(AssistantMessage).status == "cut_off"
