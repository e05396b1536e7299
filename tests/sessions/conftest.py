"""Shared fixtures for the session tests: a store in a fresh folder, a sample session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from chat_tui.sessions import Message, Session, SessionStore, Usage

MakeSession = Callable[..., Session]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A sessions folder that does not exist yet (the store creates it on first save)."""
    return tmp_path / "sessions"


@pytest.fixture
def store(root: Path) -> SessionStore:
    return SessionStore(root)


@pytest.fixture
def make_session(store: SessionStore) -> MakeSession:
    """Save and return a two-message session whose first prompt is ``prompt``."""

    def make(prompt: str = "How do sockets work?", reply: str = "They **connect**.") -> Session:
        session = Session(provider="demo", model="mock-gpt", parameters={"temperature": 0.3})
        session.add(Message("user", prompt))
        session.add(
            Message(
                "assistant",
                reply + "\n```py\nx = 1\n```",
                reasoning="Let me think about it.",
                model="demo/mock-gpt",
                usage=Usage(5, 7, 12),
                finish_reason="stop",
            )
        )
        store.save(session)
        return session

    return make
