"""The conversation tree: editing or regenerating any message adds a branch, and
``session.messages`` is always the current branch. No Textual here."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chat_tui.errors import SessionFileError
from chat_tui.sessions import SCHEMA_VERSION, Message, Session, SessionStore, to_json, to_markdown
from chat_tui.sessions.codec import dumps, loads

VERSION_1 = Path(__file__).with_name("version1.toml")


def contents(messages: list[Message]) -> list[str]:
    return [message.content for message in messages]


def three_turns() -> Session:
    """u1 a1 u2 a2 u3 a3, one branch."""
    session = Session(title="t")
    for turn in range(1, 4):
        session.add(Message("user", f"u{turn}"))
        session.add(Message("assistant", f"a{turn}"))
    return session


def test_a_straight_line_is_one_branch_of_linked_messages() -> None:
    session = three_turns()
    ids = [message.id for message in session.messages]
    assert len(set(ids)) == 6
    assert [message.parent for message in session.messages] == [None, *ids[:-1]]
    assert session.tree == session.messages and session.current == ids[-1]
    assert session.leaves() == [ids[-1]]
    assert session.sibling_position(ids[2]) == (1, 1)


def test_a_session_built_from_a_list_links_it() -> None:
    first, second = Message("user", "q"), Message("assistant", "a")
    session = Session(messages=[first, second])
    assert second.parent == first.id and session.current == second.id
    assert session.tree == [first, second]


def test_editing_an_earlier_prompt_branches_and_keeps_the_old_branch() -> None:
    session = three_turns()
    u2 = session.messages[2]
    edited = session.branch_at(u2.id, Message("user", "u2 edited"))
    assert contents(session.messages) == ["u1", "a1", "u2 edited"]
    session.add(Message("assistant", "a2 new"))
    assert contents(session.messages) == ["u1", "a1", "u2 edited", "a2 new"]
    assert session.siblings(edited.id) == [u2, edited]
    assert session.sibling_position(edited.id) == (2, 2)
    assert len(session.tree) == 8 and len(session.leaves()) == 2
    # The history sent is the current branch only.
    assert [m["content"] for m in session.history()] == ["u1", "a1", "u2 edited", "a2 new"]


def test_switching_follows_the_branch_below_and_comes_back() -> None:
    session = three_turns()
    u2 = session.messages[2]
    edited = session.branch_at(u2.id, Message("user", "u2 edited"))
    session.add(Message("assistant", "a2 new"))
    assert session.switch(edited.id, -1) is u2
    assert contents(session.messages) == ["u1", "a1", "u2", "a2", "u3", "a3"]
    assert session.switch(u2.id, -1) is None  # no version before the first
    assert contents(session.messages) == ["u1", "a1", "u2", "a2", "u3", "a3"]
    assert session.switch(u2.id, 1) is edited
    assert contents(session.messages) == ["u1", "a1", "u2 edited", "a2 new"]
    assert session.switch(edited.id, 1) is None


def test_switching_an_upper_message_keeps_the_branch_below_it_that_was_shown() -> None:
    session = three_turns()
    a3 = session.messages[-1]
    regenerated = session.branch_at(a3.id, Message("assistant", "a3 again"))
    first = session.messages[0]
    # The current branch goes through u1: flipping u1 (it has no versions) changes nothing.
    assert session.switch(first.id, 1) is None
    assert session.leaf_of(first.id) == regenerated.id
    assert session.path_to(a3.id)[-1] is a3


def test_regenerating_adds_a_sibling_reply() -> None:
    session = three_turns()
    a1 = session.messages[1]
    session.go_to(a1.parent)
    assert contents(session.messages) == ["u1"]
    again = session.add(Message("assistant", "a1 again"))
    assert session.siblings(a1.id) == [a1, again]
    assert contents(session.messages) == ["u1", "a1 again"]
    assert session.switch(again.id, -1) is a1
    assert contents(session.messages) == ["u1", "a1", "u2", "a2", "u3", "a3"]


def test_editing_the_first_prompt_makes_a_second_first_message() -> None:
    session = three_turns()
    first = session.messages[0]
    other = session.branch_at(first.id, Message("user", "u1 edited"))
    assert other.parent is None and session.siblings(first.id) == [first, other]
    assert contents(session.messages) == ["u1 edited"]


def test_deleting_a_branch_removes_it_and_what_follows_only() -> None:
    session = three_turns()
    u2 = session.messages[2]
    edited = session.branch_at(u2.id, Message("user", "u2 edited"))
    session.add(Message("assistant", "a2 new"))
    removed = session.delete_branch(edited.id)
    assert contents(removed) == ["u2 edited", "a2 new"]
    assert contents(session.messages) == ["u1", "a1"]  # the current branch ends at its parent
    assert len(session.tree) == 6 and session.siblings(u2.id) == [u2]
    session.go_to(session.leaf_of(u2.id))
    assert contents(session.messages) == ["u1", "a1", "u2", "a2", "u3", "a3"]
    # Deleting a branch the screen does not show leaves the current one alone.
    session.branch_at(u2.id, Message("user", "other"))
    session.switch(session.messages[-1].id, -1)
    session.delete_branch(session.siblings(u2.id)[1].id)
    assert contents(session.messages) == ["u1", "a1", "u2", "a2", "u3", "a3"]


def test_unknown_ids_raise_key_error() -> None:
    with pytest.raises(KeyError):
        three_turns().switch("nope", 1)


def test_messages_appended_to_the_list_directly_are_still_saved() -> None:
    session = three_turns()
    session.messages.append(Message("user", "u4"))
    loaded = loads(dumps(session))
    assert contents(loaded.messages)[-1] == "u4"
    assert loaded.messages[-1].parent == session.messages[-2].id


def test_the_tree_and_current_branch_round_trip_through_the_file(store: SessionStore) -> None:
    session = three_turns()
    u2 = session.messages[2]
    session.branch_at(u2.id, Message("user", "u2 edited"))
    session.add(Message("assistant", "a2 new"))
    session.switch(session.messages[2].id, -1)
    store.save(session)
    text = store.path_for(session.id).read_text()
    assert f'current = "{session.current}"' in text and "message_count = 8" in text
    loaded = store.load(session.id)
    assert loaded == session
    assert contents(loaded.messages) == ["u1", "a1", "u2", "a2", "u3", "a3"]
    assert [m.parent for m in loaded.tree] == [m.parent for m in session.tree]


TWICE = "id = 'a'\nrole = 'user'\ncontent = 'x'\n[[messages]]\nid = 'a'\n"
ORPHAN = "id = 'a'\nparent = 'zz'\n"


@pytest.mark.parametrize(
    ("entries", "reason"),
    [(TWICE, "message 2: id 'a' is used twice"), (ORPHAN, "parent 'zz' is not an earlier")],
)
def test_a_broken_tree_is_refused_in_words(entries: str, reason: str) -> None:
    text = f"schema_version = 2\nid = 'x'\n[[messages]]\n{entries}role = 'user'\ncontent = 'y'\n"
    with pytest.raises(SessionFileError, match=reason):
        loads(text)


def test_an_unknown_current_falls_back_to_the_last_message() -> None:
    session = three_turns()
    text = dumps(session).replace(f'current = "{session.current}"', 'current = "gone"')
    assert contents(loads(text).messages) == ["u1", "a1", "u2", "a2", "u3", "a3"]


# A real version-1 file, written by chat-tui before branches (tests/sessions/version1.toml).


def test_a_version_1_file_opens_as_one_branch(tmp_path: Path) -> None:
    assert VERSION_1.read_text().startswith("schema_version = 1\n")
    store = SessionStore(tmp_path)
    shutil.copy(VERSION_1, tmp_path / VERSION_1.name)
    session = store.load(VERSION_1.name.removesuffix(".toml"))
    assert not session.read_only and session.notice == ""
    assert [m.role for m in session.messages] == ["user", "assistant", "user", "assistant"]
    assert session.messages[1].usage is not None and session.messages[1].usage.total_tokens == 12
    assert session.messages[3].status == "stopped"
    assert session.tree == session.messages and session.current == session.messages[-1].id
    ids = [m.id for m in session.messages]
    assert [m.parent for m in session.messages] == [None, *ids[:-1]]
    assert (session.revision, session.draft) == (3, "and what about UDP?")
    # The same ids every time it is read, so an unchanged file means unchanged ids.
    assert [m.id for m in store.load("version1").messages] == ids


def test_a_version_1_file_is_not_rewritten_until_the_session_changes(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    path = tmp_path / "version1.toml"
    shutil.copy(VERSION_1, path)
    before = path.read_bytes()
    session = store.load("version1")
    store.list()
    store.search("sockets")
    assert path.read_bytes() == before
    session.branch_at(session.messages[2].id, Message("user", "And UDP?"))
    store.save(session)
    data = path.read_text()
    assert data.startswith(f"schema_version = {SCHEMA_VERSION}\n")
    reloaded = store.load("version1")
    assert contents(reloaded.messages)[-1] == "And UDP?" and len(reloaded.tree) == 5
    assert reloaded.sibling_position(reloaded.messages[-1].id) == (2, 2)


# Export and search


def branched() -> Session:
    session = three_turns()
    session.branch_at(session.messages[2].id, Message("user", "u2 edited"))
    session.add(Message("assistant", "a2 new"))
    return session


def test_markdown_export_is_the_current_branch_unless_all_are_asked_for() -> None:
    session = branched()
    current = to_markdown(session)
    assert "u2 edited" in current and "a2 new" in current
    assert "\nu3\n" not in current and "Branch" not in current
    every = to_markdown(session, all_branches=True)
    assert "## Branch 1 of 2\n" in every and "## Branch 2 of 2 (the current one)\n" in every
    assert "\nu3\n" in every and "a2 new" in every
    assert "_(The first 2 messages are the same as in branch 1.)_" in every
    assert every.count("\nu1\n") == 1  # the shared start is written once


def test_json_export_is_the_current_branch_unless_all_are_asked_for() -> None:
    session = branched()
    current = json.loads(to_json(session))
    assert [m["content"] for m in current["messages"]] == ["u1", "a1", "u2 edited", "a2 new"]
    assert current["current"] == session.current and "tree" not in current
    every = json.loads(to_json(session, all_branches=True))
    assert len(every["messages"]) == 8
    by_id = {m["id"]: m for m in every["messages"]}
    assert by_id[every["current"]]["content"] == "a2 new"
    assert all(m["parent"] is None or m["parent"] in by_id for m in every["messages"])


def test_search_finds_text_on_any_branch_and_names_that_branch(store: SessionStore) -> None:
    session = branched()
    store.save(session)
    assert [entry.id for entry in store.search("A3")] == [session.id]
    leaf = session.find_branch("a3")
    assert leaf is not None and session.path_to(leaf)[-1].content == "a3"
    assert session.find_branch("a2 NEW") == session.current  # the current branch has it
    assert session.find_branch("nowhere") is None
    session.go_to(leaf)
    assert contents(session.messages)[-1] == "a3"


# Crash safety: kill -9 while a branch streams

BRANCH_WRITER = """
import sys
from pathlib import Path
from chat_tui.sessions import Message, SessionStore
store = SessionStore(Path(sys.argv[1]))
session = store.load("crash")
reply = session.add(Message("assistant", "", status="streaming"))
turn = 0
while True:
    turn += 1
    reply.content += f"chunk {turn} " * 40 + "\\n"
    store.save(session)
    if turn == 1:
        print("ready", flush=True)
"""


def test_sigkill_while_a_branch_streams_keeps_every_other_branch(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    seed = Session(id="crash")
    seed.add(Message("user", "the first prompt"))
    seed.add(Message("assistant", "the first answer " * 200))
    seed.branch_at(seed.messages[0].id, Message("user", "the edited prompt"))
    store.save(seed)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    chance = random.Random(16)
    for _ in range(10):
        process = subprocess.Popen(
            [sys.executable, "-c", BRANCH_WRITER, str(tmp_path)], stdout=subprocess.PIPE, env=env
        )
        assert process.stdout is not None
        assert process.stdout.readline() == b"ready\n"
        time.sleep(chance.uniform(0.0, 0.05))
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        process.stdout.close()
        session = store.load("crash")
        # The other branch is exactly as it was.
        first = session.path_to(session.leaf_of(session.tree[0].id))
        assert contents(first) == ["the first prompt", "the first answer " * 200]
        # The streaming branch is current, with the reply so far (at least the first save).
        *_, prompt, reply = session.messages
        assert prompt.content == "the edited prompt" and reply.status == "cut_off"
        assert reply.content.startswith("chunk 1 " * 40)
        # The next run streams a new version beside it: the edited prompt keeps them all.
        session.go_to(prompt.id)
        store.save(session)
    assert len(store.load("crash").children(prompt.id)) == 10
