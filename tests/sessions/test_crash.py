"""Killing a process in the middle of saving never leaves a broken session file."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from chat_tui.sessions import Message, Session, SessionStore, UnreadableSession

# Loads the session, then keeps growing its last reply and saving, as the app does while a
# reply streams in; a new user turn now and then makes the message list grow too.
WRITER = """
import sys
from pathlib import Path
from chat_tui.sessions import Message, SessionStore
store = SessionStore(Path(sys.argv[1]))
session = store.load("crash")
reply = session.add(Message("assistant", "", status="streaming"))
print("ready", flush=True)
turn = 0
while True:
    turn += 1
    reply.content += f"chunk {turn} " * 40 + "\\n"
    if turn % 10 == 0:
        session.add(Message("user", f"follow-up {turn}"))
        reply = session.add(Message("assistant", "", status="streaming"))
    store.save(session)
"""


def test_sigkill_at_random_moments_never_breaks_the_file(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    seed = Session(id="crash")
    seed.add(Message("user", "the first prompt"))
    store.save(seed)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    chance = random.Random(20261121)
    revisions, counts = [], []
    for _ in range(30):
        process = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE, env=env
        )
        assert process.stdout is not None
        assert process.stdout.readline() == b"ready\n"
        time.sleep(chance.uniform(0.0, 0.04))
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        process.stdout.close()
        session = store.load("crash")
        assert session.messages[0].content == "the first prompt"
        assert all(m.status != "streaming" for m in session.messages)
        revisions.append(session.revision)
        counts.append(len(session.messages))
    assert revisions == sorted(revisions) and revisions[-1] > 30  # it really kept saving
    assert counts == sorted(counts)
    # One session file, never a conflict copy; at most some stray temporary files, which
    # are not listed.
    names = [p.name for p in tmp_path.iterdir()]
    assert [n for n in names if not n.startswith(".")] == ["crash.toml"]
    assert all(re.fullmatch(r"\.crash\.toml\.tmp-[0-9a-f]{8}", n) for n in names if n[0] == ".")
    (entry,) = store.list()
    assert not isinstance(entry, UnreadableSession)
