"""Fuzzing the session loader: any bytes give a Session or our own typed error."""

from __future__ import annotations

import contextlib
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chat_tui.errors import SessionFileError
from chat_tui.sessions import Message, Session, SessionStore, UnreadableSession
from chat_tui.sessions.codec import dumps, loads

GOOD = dumps(Session(title="t", messages=[Message("user", "hi"), Message("assistant", "hello")]))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_any_text_loads_or_raises_our_error(text: str) -> None:
    with contextlib.suppress(SessionFileError):
        loads(text)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=len(GOOD)), st.text(max_size=20))
def test_a_damaged_good_file_loads_or_raises_our_error(cut: int, junk: str) -> None:
    with contextlib.suppress(SessionFileError):
        loads(GOOD[:cut] + junk + GOOD[cut:])


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=300))
def test_any_file_is_listed_never_fatal(tmp_path: Path, blob: bytes) -> None:
    store = SessionStore(tmp_path)
    (tmp_path / "fuzz.toml").write_bytes(blob)
    for entry in store.list():
        if isinstance(entry, UnreadableSession):
            assert entry.reason
    assert (tmp_path / "fuzz.toml").read_bytes() == blob
