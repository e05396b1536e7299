"""A reply's cost in the session file: written when known, absent when not, optional."""

from __future__ import annotations

import pytest

from chat_tui.errors import SessionFileError
from chat_tui.sessions import Message, Session, Usage
from chat_tui.sessions.codec import dumps, loads


def session_with(usage: Usage) -> Session:
    session = Session(id="s", title="t")
    session.add(Message("user", "hi"))
    session.add(Message("assistant", "hello", usage=usage))
    return session


def test_a_known_cost_is_saved_and_read_back() -> None:
    text = dumps(session_with(Usage(10, 20, 30, cost=0.000213)))
    assert "cost = 0.000213" in text
    assert loads(text).messages[1].usage == Usage(10, 20, 30, cost=0.000213)


def test_an_unknown_cost_is_not_written_as_zero() -> None:
    text = dumps(session_with(Usage(10, 20, 30)))
    assert "cost" not in text
    assert loads(text).messages[1].usage == Usage(10, 20, 30, cost=None)


def test_files_without_cost_and_whole_number_costs_load() -> None:
    # What an older chat-tui wrote has no cost; a hand-edited whole number is dollars too.
    text = dumps(session_with(Usage(1, 2, 3, cost=0.5)))
    assert loads(text.replace("cost = 0.5\n", "")).messages[1].usage == Usage(1, 2, 3)
    assert loads(text.replace("cost = 0.5", "cost = 2")).messages[1].usage == Usage(
        1, 2, 3, cost=2.0
    )


@pytest.mark.parametrize("value", ['"cheap"', "-0.5", "true"])
def test_a_bad_cost_is_a_clear_error(value: str) -> None:
    text = dumps(session_with(Usage(1, 2, 3, cost=0.5))).replace("cost = 0.5", f"cost = {value}")
    with pytest.raises(SessionFileError, match="cost should be dollars"):
        loads(text)
