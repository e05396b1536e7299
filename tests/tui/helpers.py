"""Shared set-up for the Pilot tests: the real app on a real loopback mock server."""

from __future__ import annotations

from chat_tui.backend import Backend
from chat_tui.config import ProviderConfig, Target
from chat_tui.tui.app import ChatApp
from chat_tui.tui.screens.chat import ChatScreen


def make_app(base_url: str, model: str = "mock-gpt", *, api_key: str | None = None) -> ChatApp:
    provider = ProviderConfig(name="mock", base_url=base_url)
    return ChatApp(Backend(Target(provider=provider, model=model, api_key=api_key)))


def chat_screen(app: ChatApp) -> ChatScreen:
    screen = app.screen
    assert isinstance(screen, ChatScreen)
    return screen


def status_text(app: ChatApp) -> str:
    return str(chat_screen(app).status.render())
