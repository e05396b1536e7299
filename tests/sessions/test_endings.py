"""How a reply ended, as the session file keeps it: status, finish_reason, warning."""

from __future__ import annotations

import pytest

from chat_tui.sessions import Message, Session, Usage, reply_ending
from chat_tui.sessions.codec import dumps, loads
from chat_tui.sessions.export import to_markdown


@pytest.mark.parametrize(
    ("status", "finish_reason", "ending"),
    [
        ("complete", "stop", "complete"),
        ("complete", None, "complete"),
        ("complete", "length", "length"),
        ("complete", "content_filter", "content_filter"),
        ("complete", "tool_calls", "tool_calls"),
        ("stopped", "length", "stopped"),  # Esc came first: the stream is what ended it
        ("cut_off", None, "cut_off"),
        ("error", None, "error"),
    ],
)
def test_the_ending_comes_from_status_and_finish_reason(
    status: str, finish_reason: str | None, ending: str
) -> None:
    message = Message("assistant", "x", status=status, finish_reason=finish_reason)  # type: ignore[arg-type]
    assert message.ending == reply_ending(status, finish_reason) == ending


def test_every_ending_and_an_estimate_survive_the_file() -> None:
    session = Session(title="endings")
    session.add(Message("user", "q"))
    for status, reason in (("complete", "length"), ("complete", "tool_calls"), ("stopped", None)):
        session.add(
            Message(
                "assistant",
                "",
                status=status,  # type: ignore[arg-type]
                finish_reason=reason,
                usage=Usage(3, 4, 7, estimated=True),
                warning="Possibly incomplete: the server sent an event that could not be read.",
            )
        )
    again = loads(dumps(session), session_id=session.id)
    assert [m.ending for m in again.messages[1:]] == ["length", "tool_calls", "stopped"]
    assert all(m.warning and m.warning.startswith("Possibly") for m in again.messages[1:])
    assert all(m.usage == Usage(3, 4, 7, estimated=True) for m in again.messages[1:])


def test_a_file_without_warnings_reads_as_before() -> None:
    session = Session(title="old")
    session.add(Message("assistant", "hi", status="cut_off"))
    text = dumps(session)
    assert "warning" not in text
    assert loads(text, session_id=session.id).messages[0].warning is None


def test_the_export_says_how_each_reply_ended() -> None:
    session = Session(title="export")
    session.add(Message("assistant", "half", finish_reason="length"))
    session.add(
        Message("assistant", "", finish_reason="tool_calls", warning="Possibly incomplete.")
    )
    markdown = to_markdown(session)
    assert "_(cut off at the model's token limit)_" in markdown
    assert "_(the model asked to call a tool, which chat-tui does not run)_" in markdown
    assert "_(Possibly incomplete.)_" in markdown
