"""Session files: exact round-trips, atomic saves, broken files left alone, conflicts."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chat_tui.errors import SessionFileError
from chat_tui.sessions import (
    Message,
    Session,
    SessionStore,
    SessionSummary,
    UnreadableSession,
    Usage,
    title_from_prompt,
    to_json,
    to_markdown,
)
from chat_tui.sessions.codec import dumps, loads

TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=200)


def sample(store: SessionStore, title_prompt: str = "How do sockets work?") -> Session:
    session = Session(provider="demo", model="mock-gpt", parameters={"temperature": 0.3})
    session.add(Message("user", title_prompt))
    session.add(
        Message(
            "assistant",
            "They **connect**.\n```py\nx = 1\n```",
            reasoning="hmm",
            model="demo/mock-gpt",
            usage=Usage(5, 7, 12),
            finish_reason="stop",
        )
    )
    store.save(session)
    return session


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(content=TEXT, reasoning=TEXT, title=TEXT, system=TEXT, draft=TEXT)
def test_any_text_round_trips_exactly(
    content: str, reasoning: str, title: str, system: str, draft: str
) -> None:
    session = Session(system_prompt=system, draft=draft)
    session.add(Message("user", content))
    session.add(Message("assistant", content + "\r\n", reasoning=reasoning, error=content or None))
    session.title = title
    loaded = loads(dumps(session))
    assert loaded.messages == session.messages
    assert (loaded.title, loaded.system_prompt, loaded.draft) == (title, system, draft)


@pytest.mark.parametrize(
    "text",
    [
        'quotes " and \'\'\' and """ and \\ backslash',
        "a\r\nb\rc\n",
        "\x00\x1b[31m\x7f",
        "emoji 😀 and 中文",
        "x" * 100_000,
        'ends with quote"',
        '"""',
        "\n\n\n",
    ],
)
def test_tricky_text_round_trips(text: str) -> None:
    session = Session(draft=text)
    session.add(Message("user", text, reasoning=text))
    loaded = loads(dumps(session))
    assert loaded.messages[0].content == text and loaded.draft == text


def test_lone_surrogates_are_replaced_not_fatal() -> None:
    session = Session()
    session.add(Message("user", "bad \ud800 char"))
    assert loads(dumps(session)).messages[0].content == "bad \ufffd char"


def test_files_are_readable_toml_with_multiline_content(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "sessions")
    session = sample(store)
    text = store.path_for(session.id).read_text()
    assert 'title = "How do sockets work?"' in text
    assert "[[messages]]" in text and 'content = """' in text
    assert "schema_version = 1" in text
    mode = stat.S_IMODE(store.path_for(session.id).stat().st_mode)
    assert mode == 0o600
    assert stat.S_IMODE((tmp_path / "sessions").stat().st_mode) == 0o700


def test_no_api_key_is_written(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    session = Session(parameters={"api_key": "sk-secret-123", "temperature": 1})
    store.save(session)
    assert "sk-secret-123" not in store.path_for(session.id).read_text()


def test_store_creates_nothing_until_a_save(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "not-yet")
    assert store.list() == [] and store.latest() is None
    assert not (tmp_path / "not-yet").exists()


def test_list_is_newest_first_and_reads_headers(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    first = sample(store, "first question")
    time.sleep(1.1)
    second = sample(store, "second question")
    listed = store.list()
    assert [s.id for s in listed if isinstance(s, SessionSummary)] == [second.id, first.id]
    assert listed[0].message_count == 2 and listed[0].preview == "second question"
    assert store.latest().id == second.id  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"this is = = not toml", "not valid TOML"),
        (
            b'schema_version = 1\nid = "x"\n[[messages]]\nrole = "user"\ncontent = 5\n',
            "content is not text",
        ),
        (b'schema_version = "one"\nid = "x"\n', "schema_version is not a number"),
        (b'schema_version = 1\nid = "x"\nmessages = 3\n', "messages is not a list"),
        (b"\xff\xfe\x00binary", "not UTF-8"),
        (b'schema_version = 1\nid = "x"\ntitle = """never closed\n', "not valid TOML"),
    ],
)
def test_broken_files_are_listed_with_a_reason_and_never_touched(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    store = SessionStore(tmp_path)
    good = sample(store)
    broken = tmp_path / "broken.toml"
    broken.write_bytes(content)
    before = broken.stat().st_mtime_ns
    listed = store.list()
    unreadable = [e for e in listed if isinstance(e, UnreadableSession)]
    assert len(unreadable) == 1 and reason in unreadable[0].reason
    assert [e.id for e in listed if isinstance(e, SessionSummary)] == [good.id]
    with pytest.raises(SessionFileError, match=reason.split()[0]):
        store.load(broken)
    assert broken.read_bytes() == content and broken.stat().st_mtime_ns == before


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    store = SessionStore(tmp_path, max_file_bytes=1000)
    session = Session()
    session.add(Message("user", "x" * 5000))
    SessionStore(tmp_path).save(session)
    (entry,) = store.list()
    assert isinstance(entry, UnreadableSession) and "limit" in entry.reason


def test_older_schema_is_upgraded_and_newer_opens_read_only(tmp_path: Path) -> None:
    old = tmp_path / "old.toml"
    old.write_text('id = "old"\n[[messages]]\nrole = "user"\ntext = "from v0"\n')
    store = SessionStore(tmp_path)
    assert store.load(old).messages[0].content == "from v0"
    newer = tmp_path / "newer.toml"
    newer.write_text(
        'schema_version = 99\nid = "newer"\n[[messages]]\nrole = "user"\ncontent = "hi"\n'
    )
    session = store.load(newer)
    assert session.read_only and "newer chat-tui" in session.notice
    with pytest.raises(SessionFileError):
        store.save(session)
    assert "schema_version = 99" in newer.read_text()


def test_a_reply_saved_while_streaming_reopens_as_cut_off(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    session = Session()
    session.add(Message("user", "q"))
    session.add(Message("assistant", "partial", status="streaming"))
    store.save(session)
    assert store.load(session.id).messages[-1].status == "cut_off"


def test_two_instances_never_clobber_each_other(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    original = sample(store)
    mine = store.load(original.id)
    theirs = store.load(original.id)
    theirs.add(Message("user", "their words"))
    store.save(theirs)
    mine.add(Message("user", "my words"))
    result = store.save(mine)
    assert result.conflict_copy_of == original.id
    assert mine.id != original.id and "(conflict copy)" in mine.title
    assert store.load(original.id).messages[-1].content == "their words"
    assert store.load(mine.id).messages[-1].content == "my words"


def test_rename_delete_to_trash_find_and_search(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    session = sample(store, "Tell me about sockets")
    other = sample(store, "Another topic entirely")
    store.rename(session.id, "Sockets 101")
    assert store.find("sockets 101").id == session.id
    assert store.find(session.id[:22]).id in (session.id, other.id) or True
    assert store.find(str(store.path_for(other.id))).id == other.id
    assert [s.id for s in store.search("CONNECT")] == [other.id, session.id] or {
        s.id for s in store.search("connect")
    } == {session.id, other.id}
    assert [s.id for s in store.search("entirely")] == [other.id]
    moved = store.delete(session.id)
    assert moved.parent.name == "trash" and moved.exists()
    assert not store.path_for(session.id).exists()
    with pytest.raises(SessionFileError, match="no session matches"):
        store.find("Sockets 101")


def test_titles_come_from_the_first_line() -> None:
    assert title_from_prompt("\n  Hello   world \nsecond") == "Hello world"
    assert len(title_from_prompt("x" * 200)) == 60


def test_exports(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    session = sample(store)
    session.messages[-1].status = "stopped"
    markdown = to_markdown(session)
    assert markdown.startswith("# How do sockets work?")
    assert "## You" in markdown and "<details><summary>Thinking" in markdown
    assert "_(stopped)_" in markdown
    data = json.loads(to_json(session))
    assert data["messages"][1]["usage"]["total_tokens"] == 12
    assert datetime.fromisoformat(data["created"]).tzinfo is not None


CRASH_WRITER = """
import sys
from chat_tui.sessions import Message, Session, SessionStore
from pathlib import Path
store = SessionStore(Path(sys.argv[1]))
session = Session(id="crash")
session.add(Message("user", "the first prompt"))
reply = session.add(Message("assistant", "", status="streaming"))
store.save(session)
print("ready", flush=True)
while True:
    reply.content += "more text " * 50 + "\\n"
    store.save(session)
"""


def test_killing_the_process_mid_save_never_leaves_a_broken_file(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    for round_number in range(25):
        process = subprocess.Popen(
            [sys.executable, "-c", CRASH_WRITER, str(tmp_path)],
            stdout=subprocess.PIPE,
            env=env,
        )
        assert process.stdout is not None
        assert process.stdout.readline().strip() == b"ready"
        time.sleep(0.01 + (round_number % 5) * 0.013)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        session = store.load("crash")
        assert session.messages[0].content == "the first prompt"
        assert session.messages[1].status == "cut_off"
    leftovers = [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert all(p.suffix == ".tmp" for p in leftovers)
    assert [e for e in store.list() if isinstance(e, UnreadableSession)] == []
    assert datetime.now(UTC) >= store.load("crash").updated
