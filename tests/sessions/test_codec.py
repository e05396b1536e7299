"""The TOML file format: exact round-trips, readable layout, upgrades, clear reasons."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chat_tui.errors import SessionFileError
from chat_tui.sessions import (
    SCHEMA_VERSION,
    Message,
    Session,
    SessionStore,
    Usage,
    title_from_prompt,
)
from chat_tui.sessions.codec import END_MARKER, dumps, is_secret_parameter, loads, upgrade
from tests.sessions.conftest import MakeSession

# Any text a str can hold in a UTF-8 file: control characters, \r, quotes, emoji, ...
# Surrogates cannot be encoded at all; they have their own test.
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=120)
MOMENTS = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
)
USAGE = st.none() | st.builds(
    Usage,
    st.integers(0, 2**31),
    st.integers(0, 2**31),
    st.integers(0, 2**31),
    st.booleans(),
    st.none() | st.floats(0, 1e6, allow_nan=False),
)
MESSAGES = st.builds(
    Message,
    role=st.sampled_from(["system", "user", "assistant"]),
    content=TEXT,
    created=MOMENTS,
    reasoning=TEXT,
    model=st.none() | TEXT,
    usage=USAGE,
    finish_reason=st.none() | TEXT,
    # "streaming" deliberately reopens as "cut_off" (tested on its own).
    status=st.sampled_from(["complete", "stopped", "cut_off", "error"]),
    error=st.none() | TEXT,
)
PARAMETER_NAMES = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=20)
PARAMETERS = st.dictionaries(
    PARAMETER_NAMES.filter(lambda name: not is_secret_parameter(name)),
    st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | TEXT | st.booleans(),
    max_size=4,
)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    title=TEXT,
    system_prompt=TEXT,
    draft=TEXT,
    provider=st.none() | TEXT,
    model=st.none() | TEXT,
    created=MOMENTS,
    parameters=PARAMETERS,
    messages=st.lists(MESSAGES, max_size=4),
)
def test_save_then_load_gives_an_identical_session(
    tmp_path: Path,
    title: str,
    system_prompt: str,
    draft: str,
    provider: str | None,
    model: str | None,
    created: datetime,
    parameters: dict[str, float | int | str | bool],
    messages: list[Message],
) -> None:
    store = SessionStore(tmp_path)
    session = Session(
        title=title,
        system_prompt=system_prompt,
        draft=draft,
        provider=provider,
        model=model,
        created=created,
        parameters=parameters,
        messages=messages,
    )
    store.save(session)
    loaded = store.load(session.id)
    assert loaded == session


TRICKY = [
    "quotes \" and ' and \"\"\" and ''' and \\ backslash \\",
    "crlf\r\nlines\r\n",
    "lone\rcarriage returns\r",
    "mixed\r\nand\nand\r",
    "\r\n",
    "\x00\x01\x08\x0b\x0c\x1b[31m\x1f\x7f\t",
    "emoji 😀👩‍👩‍👧 and 中文 and \u200b zero width",
    "x" * 100_000,
    "\n".join(["y" * 100_000] * 3),
    'ends with a quote"',
    'ends with two quotes ""',
    '"""',
    '"""\n"""',
    "\n\n\n",
    "\nstarts with a newline",
    "trailing backslash \\\nnext line",
    "[[messages]]\nrole = 'user'\n[parameters]\n",
    END_MARKER,
    "",
]


@pytest.mark.parametrize("text", TRICKY, ids=range(len(TRICKY)))
def test_tricky_text_round_trips_exactly_in_every_field(text: str) -> None:
    session = Session(title=text, system_prompt=text, draft=text, model=text)
    session.add(Message("user", text, reasoning=text, error=text, finish_reason=text))
    session.parameters["stop"] = text
    loaded = loads(dumps(session))
    assert loaded == session


def test_crlf_values_are_escaped_and_the_rest_stay_readable() -> None:
    session = Session(title="t")
    session.add(Message("user", "line one\r\nline two"))
    session.add(Message("assistant", "plain\nmulti-line\nanswer"))
    text = dumps(session)
    assert 'content = "line one\\r\\nline two"' in text
    assert 'content = """\nplain\nmulti-line\nanswer"""' in text


def test_lone_surrogates_are_replaced_on_save_never_fatal(store: SessionStore) -> None:
    session = Session(title="bad \udc80 title", draft="\ud800")
    session.add(Message("user", "bad \ud800 char \udfff"))
    store.save(session)
    loaded = store.load(session.id)
    assert loaded.messages[0].content == "bad \ufffd char \ufffd"
    assert (loaded.title, loaded.draft) == ("bad \ufffd title", "\ufffd")
    assert session.messages[0].content == "bad \ud800 char \udfff"  # the object is untouched


def test_file_layout_is_readable_toml(store: SessionStore, make_session: MakeSession) -> None:
    session = make_session()
    text = store.path_for(session.id).read_text()
    data = tomllib.loads(text)
    assert list(data)[:12] == [
        "schema_version",
        "id",
        "title",
        "created",
        "updated",
        "provider",
        "model",
        "current",
        "revision",
        "message_count",
        "preview",
        "system_prompt",
    ]
    assert data["schema_version"] == SCHEMA_VERSION == 2
    assert data["message_count"] == 2 and data["preview"] == "How do sockets work?"
    assert isinstance(data["created"], datetime) and data["created"].tzinfo is not None
    assert data["parameters"] == {"temperature": 0.3}
    assert data["messages"][1]["usage"] == {
        "prompt_tokens": 5,
        "completion_tokens": 7,
        "total_tokens": 12,
        "estimated": False,
    }
    # The header comes before any table; messages are tables, content is multi-line.
    assert text.index("draft =") < text.index("[parameters]") < text.index("[[messages]]")
    assert text.count("[[messages]]\n") == 2 and "[messages.usage]\n" in text
    assert 'content = """\nThey **connect**.\n```py\nx = 1\n```"""' in text
    assert text.endswith(END_MARKER + "\n")
    assert "null" not in text and "error" not in text  # None values are left out


def test_datetimes_in_other_zones_come_back_as_the_same_moment_in_utc() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=timezone(timedelta(hours=-5)))
    session = Session(created=moment, updated=moment)
    session.add(Message("user", "hi", created=datetime(2026, 1, 2, 3, 4, 5)))  # naive: UTC
    loaded = loads(dumps(session))
    assert loaded.created == moment and loaded.created.tzinfo == UTC
    assert loaded.messages[0].created == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_a_reply_saved_while_streaming_reopens_as_cut_off() -> None:
    session = Session()
    session.add(Message("user", "q"))
    session.add(Message("assistant", "partial", status="streaming"))
    assert loads(dumps(session)).messages[-1].status == "cut_off"


def test_secret_parameters_are_never_written_or_read() -> None:
    session = Session(
        parameters={
            "api_key": "sk-secret-1",
            "Authorization": "Bearer sk-secret-2",
            "x-api-key": "sk-secret-3",
            "temperature": 0.5,
            "max_tokens": 100,
        }
    )
    text = dumps(session)
    assert "sk-secret" not in text
    assert loads(text).parameters == {"temperature": 0.5, "max_tokens": 100}
    hand_edited = text.replace("[parameters]\n", '[parameters]\napi_key = "sk-typed-in"\n')
    assert "api_key" not in loads(hand_edited).parameters


def test_version_0_files_are_upgraded() -> None:
    old = (
        'id = "old"\nname = "From the old days"\n'
        '[[messages]]\nrole = "user"\ntext = "hello"\ntime = 2020-05-06T07:08:09Z\n'
        '[[messages]]\nrole = "assistant"\ntext = "hi there"\n'
    )
    session = loads(old)
    assert session.title == "From the old days"
    assert [m.content for m in session.messages] == ["hello", "hi there"]
    assert session.messages[0].created == datetime(2020, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert not session.read_only and session.notice == ""
    assert upgrade({"messages": []})["schema_version"] == SCHEMA_VERSION
    # Once upgraded, it saves in the current layout.
    assert f"schema_version = {SCHEMA_VERSION}" in dumps(session) and "text =" not in dumps(session)


def test_a_newer_schema_opens_read_only_with_a_notice() -> None:
    newer = (
        'schema_version = 7\nid = "n"\nfuture = "x"\n[[messages]]\nrole = "user"\ncontent = "hi"\n'
    )
    session = loads(newer)
    assert session.read_only
    assert "newer chat-tui" in session.notice and "read-only" in session.notice
    assert session.messages[0].content == "hi"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("\n\ntitle = = 1", "not valid TOML at line 3, column 9: invalid value"),
        ('schema_version = 1\nid = "x"\ntitle = """never closed\n', "at the end of the file"),
        ("[server]\nport = 8080\n", "not a chat-tui session file"),
        ('schema_version = "one"\nid = "x"\n', "schema_version is not a number"),
        ("schema_version = -1\nid = 'x'\n", "not a valid version"),
        ('schema_version = 1\nid = "x"\nmessages = 3\n', "messages should be an array"),
        ('schema_version = 1\nid = "x"\ntitle = 5\n', "title should be text, not an integer"),
        ('schema_version = 1\nid = "x"\nrevision = "2"\n', "revision should be an integer"),
        ('schema_version = 1\nid = "x"\ncreated = 2020-01-01\n', "should be a date-time, not"),
        ("schema_version = 1\nid = 'x'\nparameters = 1\n", "parameters should be a table"),
        ("schema_version = 1\nid = 'x'\n[parameters]\nstop = [1]\n", "parameters.stop should"),
        ('schema_version = 1\nmessages = [{role = "user", content = "a"}]\n', "has no id"),
        (
            "schema_version = 1\nid = 'x'\n[[messages]]\nrole = 'user'\ncontent = 'a'\n"
            "[[messages]]\nrole = 'user'\ncontent = 5\n",
            "message 2: content should be text, not an integer",
        ),
        ("schema_version = 1\nid = 'x'\nmessages = [1]\n", "message 1 should be a table"),
        ("schema_version = 1\nid = 'x'\n[[messages]]\nrole = 'bot'\n", "message 1: role should"),
        ("schema_version = 1\nid = 'x'\n[[messages]]\nrole = 'user'\n", "message 1 has no content"),
        (
            "schema_version = 1\nid = 'x'\n[[messages]]\nrole = 'user'\ncontent = ''\n"
            "status = 'done'\n",
            "message 1: status should be one of",
        ),
        (
            "schema_version = 1\nid = 'x'\n[[messages]]\nrole = 'user'\ncontent = ''\nusage = 3\n",
            "message 1: usage should be a table",
        ),
        (
            "schema_version = 1\nid = 'x'\n[[messages]]\nrole = 'user'\ncontent = ''\n"
            "[messages.usage]\ntotal_tokens = true\n",
            "message 1 usage: total_tokens should be an integer, not true or false",
        ),
    ],
)
def test_wrong_files_are_refused_with_a_clear_reason(text: str, reason: str) -> None:
    with pytest.raises(SessionFileError) as caught:
        loads(text)
    assert reason in str(caught.value)


def test_a_truncated_file_is_never_taken_for_a_whole_one(
    store: SessionStore, make_session: MakeSession
) -> None:
    session = make_session()
    session.add(Message("user", "third\nmessage"))
    session.add(Message("assistant", "fourth"))
    store.save(session)
    whole = store.path_for(session.id).read_bytes()
    cut = store.root / "cut.toml"
    for length in range(0, len(whole) - len(END_MARKER) - 1, 7):
        cut.write_bytes(whole[:length])
        try:
            loaded = store.load(cut)
        except SessionFileError:
            continue
        # Only a cut just after the last message's text can parse; then nothing is lost
        # but that message's trailing usage table.
        assert [m.content for m in loaded.messages] == [m.content for m in session.messages]


def test_titles_come_from_the_first_non_blank_line() -> None:
    assert title_from_prompt("\n  Hello   world \nsecond") == "Hello world"
    long = title_from_prompt("word " * 40)
    assert len(long) == 60 and long.endswith("…")
    assert title_from_prompt("   \n\t") == ""
    session = Session()
    session.add(Message("user", "  First\tprompt  \nmore"))
    session.add(Message("user", "Second prompt"))
    assert session.title == "First prompt"


def test_history_skips_failed_replies_and_starts_with_the_system_prompt() -> None:
    session = Session(system_prompt="Be brief.")
    session.add(Message("user", "q1"))
    session.add(Message("assistant", "", status="error", error="HTTP 500"))
    session.add(Message("user", "q1 again"))
    session.add(Message("assistant", "a1"))
    assert session.history() == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "q1"},
        {"role": "user", "content": "q1 again"},
        {"role": "assistant", "content": "a1"},
    ]
