"""Shared fixtures of the TUI tests."""

from __future__ import annotations

import pytest

from chat_tui.tui.widgets.conversation import Conversation


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries wait milliseconds, not seconds, in tests (Retry-After still applies)."""
    monkeypatch.setattr(Conversation, "retry_base", 0.05)
