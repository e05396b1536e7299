"""The session folder: atomic private files, listing, broken files left alone, conflicts,
finding, renaming, the trash and search."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from chat_tui.errors import SessionFileError
from chat_tui.sessions import (
    Message,
    Session,
    SessionStore,
    SessionSummary,
    UnreadableSession,
)
from chat_tui.sessions.store import UnreadableSessionError
from tests.sessions.conftest import MakeSession


def dated(store: SessionStore, prompt: str, days_ago: int, reply: str = "ok") -> Session:
    """A saved session whose ``updated`` lies ``days_ago`` days back (save(touch=False))."""
    session = Session(model="mock-gpt")
    session.add(Message("user", prompt))
    session.add(Message("assistant", reply))
    session.updated = datetime(2026, 1, 31, tzinfo=UTC) - timedelta(days=days_ago)
    store.save(session, touch=False)
    return session


def readable(store: SessionStore) -> list[SessionSummary]:
    return [entry for entry in store.list() if isinstance(entry, SessionSummary)]


def unreadable(store: SessionStore) -> list[UnreadableSession]:
    return [entry for entry in store.list() if isinstance(entry, UnreadableSession)]


def test_nothing_is_created_until_the_first_save(store: SessionStore, root: Path) -> None:
    assert store.list() == [] and store.latest() is None and store.search("x") == []
    with pytest.raises(SessionFileError, match="no session matches"):
        store.find("anything")
    with pytest.raises(SessionFileError, match="no session"):
        store.delete("2026-01-01-000000-abcd")
    assert not root.exists()


def test_files_are_private_and_saves_leave_no_temporary_files(
    store: SessionStore, root: Path, make_session: MakeSession
) -> None:
    session = make_session()
    for _ in range(3):
        session.draft += "typing"
        result = store.save(session)
    path = store.path_for(session.id)
    assert result.path == path and os.fspath(result) == str(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert sorted(p.name for p in root.iterdir()) == [path.name]
    assert session.revision == 4 and store.load(session.id).revision == 4


def test_the_draft_is_saved_and_loaded(store: SessionStore) -> None:
    session = Session(draft="half a thought\nwith two lines")
    store.save(session)
    assert store.load(session.id).draft == "half a thought\nwith two lines"


def test_no_api_key_is_ever_written(store: SessionStore) -> None:
    session = Session(parameters={"api_key": "sk-secret-123", "temperature": 1})
    session.add(Message("user", "hi"))
    store.save(session)
    assert "sk-secret-123" not in store.path_for(session.id).read_text()
    assert store.load(session.id).parameters == {"temperature": 1}


def test_list_is_newest_first_from_the_headers(store: SessionStore) -> None:
    old = dated(store, "old question", days_ago=9)
    new = dated(store, "new question\nwith details", days_ago=1)
    middle = dated(store, "middle question", days_ago=5)
    listed = readable(store)
    assert [s.id for s in listed] == [new.id, middle.id, old.id]
    first = listed[0]
    assert (first.title, first.preview, first.message_count, first.model) == (
        "new question",
        "new question",
        2,
        "mock-gpt",
    )
    assert first.path == store.path_for(new.id) and first.updated == new.updated
    assert store.latest() == new


def test_list_reads_only_the_header_of_a_complete_file(store: SessionStore) -> None:
    session = dated(store, "question", days_ago=1, reply="x" * 50_000)
    path = store.path_for(session.id)
    # Damage the middle of the body but keep the header and the end line: list() must not
    # notice (it read only the header and the last bytes); load() parses all and does.
    text = path.read_text()
    middle = text.index("xxxxx")
    path.write_text(text[:middle] + '"""\nbroken = = =\n' + text[middle:])
    assert [s.id for s in readable(store)] == [session.id]
    with pytest.raises(UnreadableSessionError, match="not valid TOML"):
        store.load(session.id)
    assert store.latest() is None  # the only candidate turned out unreadable


def test_temporary_files_the_trash_and_other_files_are_not_listed(
    store: SessionStore, root: Path, make_session: MakeSession
) -> None:
    session = make_session()
    (root / f".{session.id}.toml.tmp-1a2b3c4d").write_text("half written")
    (root / "notes.txt").write_text("not a session")
    (root / "folder.toml").mkdir()
    store.delete(make_session("to be deleted").id)
    assert [e.id for e in store.list()] == [session.id]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"this is = = not toml", "not valid TOML at line 1"),
        (b"\xff\xfe\x00binary\x00\x01", "not UTF-8 text (byte 0xff at offset 0)"),
        (b"\x00\x00\x00\x00", "not valid TOML"),
        (b"[server]\nport = 8080\n", "not a chat-tui session file"),
        (b'schema_version = "one"\nid = "x"\n', "schema_version is not a number"),
        (
            b'schema_version = 1\nid = "x"\nmessage_count = 1\n'
            b'[[messages]]\nrole = "user"\ncontent = 5\n',
            "message 1: content should be text",
        ),
        (b'schema_version = 2\nid = "x"\nmessage_count = 3\n', "looks cut short"),
        (b'schema_version = 1\nid = "x"\ntitle = """never closed\n', "at the end of the file"),
    ],
)
def test_broken_files_are_listed_with_a_reason_and_never_touched(
    store: SessionStore, root: Path, make_session: MakeSession, content: bytes, reason: str
) -> None:
    good = make_session()
    broken = root / "broken.toml"
    broken.write_bytes(content)
    before = broken.stat().st_mtime_ns
    (entry,) = unreadable(store)
    assert entry.path == broken and reason in entry.reason
    assert [s.id for s in readable(store)] == [good.id]
    with pytest.raises(UnreadableSessionError) as caught:
        store.load(broken)
    assert caught.value.reason == entry.reason and str(broken) in str(caught.value)
    with pytest.raises(SessionFileError, match=r"could not be read|cannot read"):
        store.load("broken")
    with pytest.raises(SessionFileError):
        store.delete("broken")
    with pytest.raises(SessionFileError):
        store.rename("broken", "new name")
    # A new session that happens to get the broken file's id goes elsewhere.
    intruder = Session(id="broken")
    result = store.save(intruder)
    assert result.conflict is not None and result.conflict.original_id == "broken"
    assert intruder.id != "broken" and store.load(intruder.id) == intruder
    assert broken.read_bytes() == content and broken.stat().st_mtime_ns == before


def test_an_oversized_file_is_refused_but_listed(root: Path) -> None:
    session = Session()
    session.add(Message("user", "x" * 5000))
    SessionStore(root).save(session)
    small = SessionStore(root, max_file_bytes=1000)
    (entry,) = small.list()
    assert isinstance(entry, UnreadableSession)
    assert re.fullmatch(r"file is 5\.\d+ KB, over the 1000 bytes limit", entry.reason)
    with pytest.raises(UnreadableSessionError, match="over the 1000 bytes limit"):
        small.load(session.id)
    assert SessionStore(root).load(session.id) == session


def test_newer_schema_is_listed_opened_read_only_and_never_overwritten(
    store: SessionStore, root: Path
) -> None:
    root.mkdir()
    newer = root / "newer.toml"
    newer.write_text(
        'schema_version = 3\nid = "newer"\ntitle = "From the future"\nfuture_field = 1\n'
        '[[messages]]\nrole = "user"\ncontent = "hi"\n'
    )
    assert [s.title for s in readable(store)] == ["From the future"]
    session = store.load("newer")
    assert session.read_only and "newer chat-tui" in session.notice
    with pytest.raises(SessionFileError, match="read-only"):
        store.save(session)
    session.read_only = False  # even a caller that ignores the flag cannot clobber it
    result = store.save(session)
    assert result.conflict is not None and "newer chat-tui" in result.conflict.reason
    assert "future_field" in newer.read_text()


def test_two_instances_never_clobber_each_other(
    store: SessionStore, make_session: MakeSession
) -> None:
    original = make_session()
    mine = store.load(original.id)
    theirs = store.load(original.id)
    theirs.add(Message("user", "their words"))
    assert store.save(theirs).conflict is None
    theirs.add(Message("user", "their second words"))
    assert store.save(theirs).conflict is None  # saving again over its own save is fine
    mine.add(Message("user", "my words"))
    result = store.save(mine)
    conflict = result.conflict
    assert conflict is not None and result.conflict_copy_of == original.id
    assert conflict.copy_id == mine.id != original.id
    assert "revision 3 on disk, 1 here" in conflict.reason
    assert original.id in conflict.message and mine.id in conflict.message
    assert mine.title == "How do sockets work? (conflict copy)"
    assert store.load(original.id).messages[-1].content == "their second words"
    assert store.load(mine.id).messages[-1].content == "my words"
    # From now on "mine" is its own session and saves without further conflicts.
    mine.add(Message("assistant", "noted"))
    assert store.save(mine).conflict is None
    assert len(readable(store)) == 2


def test_a_new_session_never_overwrites_an_existing_id(store: SessionStore) -> None:
    first = Session(id="same-id", title="first")
    store.save(first)
    second = Session(id="same-id", title="second")
    result = store.save(second)
    assert result.conflict is not None and second.id != "same-id"
    assert second.title == "second"  # not a copy of a conversation: the title is kept
    assert store.load("same-id").title == "first"


def test_a_failed_save_leaves_the_session_object_and_file_as_they_were(
    store: SessionStore, make_session: MakeSession
) -> None:
    session = make_session()
    on_disk = store.path_for(session.id).read_bytes()
    before = (session.id, session.revision, session.updated)
    session.parameters["bad"] = object()  # type: ignore[assignment]
    with pytest.raises(TypeError):
        store.save(session)
    assert (session.id, session.revision, session.updated) == before
    assert store.path_for(session.id).read_bytes() == on_disk
    assert [p.name for p in store.root.iterdir()] == [f"{session.id}.toml"]


def test_ids_that_are_not_plain_file_names_are_refused(store: SessionStore) -> None:
    for bad in ("../escape", "a/b", ".hidden", "", "trash", "nul\x00"):
        with pytest.raises(SessionFileError, match="not a valid session id"):
            store.save(Session(id=bad))


def test_rename_keeps_the_place_in_the_list(store: SessionStore) -> None:
    old = dated(store, "old one", days_ago=3)
    new = dated(store, "new one", days_ago=1)
    renamed = store.rename(old.id, "  A better\n name ")
    assert renamed.title == "A better name"
    assert store.load(old.id).title == "A better name"
    assert [s.id for s in readable(store)] == [new.id, old.id]


def test_delete_moves_the_file_to_the_trash(store: SessionStore, root: Path) -> None:
    session = dated(store, "doomed", days_ago=1)
    content = store.path_for(session.id).read_bytes()
    moved = store.delete(session.id)
    assert moved == root / "trash" / f"{session.id}.toml" and moved.read_bytes() == content
    assert stat.S_IMODE((root / "trash").stat().st_mode) == 0o700
    assert not store.path_for(session.id).exists() and readable(store) == []
    # The same id deleted again (restored by hand meanwhile) does not replace the first.
    store.path_for(session.id).write_bytes(content)
    again = store.delete(session.id)
    assert again != moved and again.parent == moved.parent
    assert moved.read_bytes() == content == again.read_bytes()


def test_find_by_path_id_prefix_and_title(
    store: SessionStore, root: Path, make_session: MakeSession
) -> None:
    sockets = make_session("Tell me about sockets")
    pipes = make_session("Tell me about pipes")
    unix = make_session("Unix history")
    assert store.find(sockets.id) == sockets
    assert store.find(str(store.path_for(pipes.id))) == pipes
    assert store.find(f"{pipes.id}.toml") == pipes  # a bare file name in the folder
    assert store.find("unix HISTORY") == unix  # exact title, any case
    assert store.find("tell me about p") == pipes  # unique title prefix
    with pytest.raises(SessionFileError) as caught:
        store.find("tell me")
    assert "matches 2 sessions" in str(caught.value)
    assert sockets.id in str(caught.value) and pipes.id in str(caught.value)
    renamed = Session(id="zz-unique-id")
    store.save(renamed)
    assert store.find("zz-un") == renamed  # unique id prefix
    with pytest.raises(SessionFileError, match="no session matches 'nothing'"):
        store.find("nothing")
    with pytest.raises(SessionFileError, match="no session file"):
        store.find(str(root / "missing.toml"))


def test_search_looks_at_titles_and_message_text(store: SessionStore) -> None:
    sockets = dated(store, "Sockets", days_ago=2, reply='A socket "connects" C:\\ports')
    pipes = dated(store, "Pipes", days_ago=1, reply="Pipes CONNECT processes")
    thinking = Session(title="Quiet")
    thinking.add(Message("assistant", "answer", reasoning="I pondered ZEBRAS"))
    store.save(thinking, touch=False)
    assert [s.id for s in store.search("connect")] == [pipes.id, sockets.id]
    assert [s.id for s in store.search("SOCKETS")] == [sockets.id]
    assert [s.id for s in store.search('"connects" c:\\')] == [sockets.id]  # escaped in TOML
    assert [s.id for s in store.search("zebras")] == [thinking.id]
    # Words of the file format itself are not message text.
    assert store.search("role") == [] and store.search("schema_version") == []
    assert len(store.search("")) == 3


def test_an_empty_file_says_so(store: SessionStore, root: Path) -> None:
    root.mkdir()
    (root / "empty.toml").write_bytes(b"")
    (entry,) = store.list()
    assert isinstance(entry, UnreadableSession) and entry.reason == "the file is empty"


def test_the_sessions_package_does_not_import_textual() -> None:
    code = "import sys, chat_tui.sessions; print('textual' in sys.modules)"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, env=env, check=True)
    assert done.stdout == b"False\n"
