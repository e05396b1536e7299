"""Markdown and JSON exports of a session."""

from __future__ import annotations

import json
from datetime import datetime

from chat_tui.sessions import Message, Session, Usage, to_json, to_markdown


def conversation() -> Session:
    session = Session(
        provider="demo",
        model="mock-gpt",
        system_prompt="Be brief.",
        parameters={"temperature": 0.3, "api_key": "sk-never"},
        draft="unsent",
    )
    session.add(Message("user", "How do sockets work?"))
    session.add(
        Message(
            "assistant",
            "They **connect**.",
            reasoning="Think of pipes.",
            model="demo/mock-gpt",
            usage=Usage(5, 7, 12),
            finish_reason="stop",
        )
    )
    session.add(Message("user", "Show code"))
    session.add(Message("assistant", "```py\nx = 1", status="stopped"))
    session.add(Message("user", "again"))
    session.add(Message("assistant", "", status="error", error="HTTP 500 from the server"))
    return session


def test_markdown_has_title_metadata_roles_thinking_and_status_notes() -> None:
    markdown = to_markdown(conversation())
    lines = markdown.splitlines()
    assert lines[0] == "# How do sockets work?"
    assert lines[2].startswith("Created ") and "model `demo/mock-gpt`" in lines[2]
    assert "temperature 0.3" in lines[2] and "6 messages" in lines[2]
    assert "sk-never" not in markdown
    assert "## System prompt\n\nBe brief." in markdown
    assert markdown.count("## You") == 3 and "## Assistant (demo/mock-gpt)" in markdown
    assert "<details><summary>Thinking</summary>\n\nThink of pipes.\n\n</details>" in markdown
    assert "_(stopped)_" in markdown
    assert "_(error: HTTP 500 from the server)_" in markdown
    # The stopped reply's open code fence is closed before the next heading.
    assert "```py\nx = 1\n```\n\n_(stopped)_\n\n## You" in markdown


def test_json_holds_everything_with_iso_datetimes() -> None:
    session = conversation()
    text = to_json(session)
    data = json.loads(text)
    assert text.startswith('{\n  "schema_version": 2,')
    assert data["id"] == session.id and data["draft"] == "unsent"
    assert data["parameters"] == {"temperature": 0.3}
    assert data["messages"][1]["usage"] == {
        "prompt_tokens": 5,
        "completion_tokens": 7,
        "total_tokens": 12,
        "estimated": False,
        # No price was known: null, never a made-up zero.
        "cost": None,
    }
    assert data["messages"][1]["reasoning"] == "Think of pipes."
    assert data["messages"][3]["status"] == "stopped"
    assert datetime.fromisoformat(data["created"]) == session.created
    assert datetime.fromisoformat(data["messages"][0]["created"]).tzinfo is not None
    assert "read_only" not in data and "notice" not in data
