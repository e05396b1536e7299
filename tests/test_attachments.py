"""Attachments: reading and checking a file, folding it into the prompt, and keeping it in
the session file (no UI, no network)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chat_tui.attachments import (
    DEFAULT_MAX_BYTES,
    Attachment,
    AttachmentError,
    check_room,
    complete_path,
    compose_message,
    fence_for,
    format_size,
    list_files,
    mentioned_paths,
    read_attachment,
    split_message,
)
from chat_tui.config import AppSettings, load
from chat_tui.errors import UsageError
from chat_tui.sessions import AttachedFile, Message, Session
from chat_tui.sessions.codec import dumps, loads


def test_a_text_file_is_read_with_its_name_and_size(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_bytes("\ufeffcafé\n".encode())
    attachment = read_attachment(path, name="notes.md")
    assert attachment == Attachment("notes.md", "café\n", 9)


def test_the_label_is_the_path_as_given(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x")
    assert read_attachment(str(tmp_path / "a.txt")).name == str(tmp_path / "a.txt")


def test_a_missing_file_is_refused_in_words(tmp_path: Path) -> None:
    with pytest.raises(AttachmentError, match=r"^gone\.md: no such file\.$"):
        read_attachment(tmp_path / "gone.md", name="gone.md")


def test_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AttachmentError, match="is a folder; only files can be attached"):
        read_attachment(tmp_path)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", "looks like a binary file (a NUL byte at offset 8)"),
        (b"text\x00more", "looks like a binary file (a NUL byte at offset 4)"),
        (b"caf\xe9 au lait", "is not UTF-8 text (byte 0xe9 at offset 3)"),
    ],
)
def test_binary_or_non_utf8_files_are_refused(tmp_path: Path, data: bytes, words: str) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    with pytest.raises(AttachmentError) as caught:
        read_attachment(path, name="data.bin")
    assert str(caught.value) == f"data.bin {words}; only text can be attached."


def test_a_file_over_the_limit_is_refused_with_both_sizes(tmp_path: Path) -> None:
    path = tmp_path / "big.log"
    path.write_bytes(b"x" * (DEFAULT_MAX_BYTES + 1))
    with pytest.raises(AttachmentError) as caught:
        read_attachment(path, name="big.log")
    assert str(caught.value).startswith(
        "big.log is 1,048,577 bytes, more than the 1,048,576-byte limit for attached files "
        "(max_attachment_kb"
    )
    # Exactly at the limit is fine.
    path.write_bytes(b"x" * DEFAULT_MAX_BYTES)
    assert read_attachment(path).size == DEFAULT_MAX_BYTES


def test_a_smaller_limit_is_honoured(tmp_path: Path) -> None:
    path = tmp_path / "small.txt"
    path.write_text("y" * 2048)
    with pytest.raises(AttachmentError, match=r"small\.txt is 2\.0 KB, more than the 1\.0 KB"):
        read_attachment(path, max_bytes=1024, name="small.txt")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs file permissions")
def test_an_unreadable_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "secret.txt"
    path.write_text("no")
    path.chmod(0)
    with pytest.raises(AttachmentError, match=r"secret\.txt could not be read: permission denied"):
        read_attachment(path, name="secret.txt")


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_an_endless_stream_is_read_only_up_to_the_limit() -> None:
    with pytest.raises(AttachmentError, match=r"holds more than the 1\.0 KB limit"):
        read_attachment("/dev/zero", max_bytes=1024)


def test_attachment_errors_are_usage_errors() -> None:
    # ask turns a UsageError into exit code 2; the app shows any ChatTuiError in words.
    assert issubclass(AttachmentError, UsageError)


def test_room_in_the_context_window() -> None:
    big = Attachment("big.txt", "w" * 4000, 4000)  # about 1,000 tokens
    check_room([big], None)  # unknown room: never refused on a guess
    check_room([big], 1000)
    with pytest.raises(AttachmentError) as caught:
        check_room([big, Attachment("b", "abcd", 4)], 1000)
    assert str(caught.value) == (
        "big.txt, b would take about 1.0k tokens, but only about 1.0k are left in the "
        "model's context window; attach less, or start a new conversation."
    )
    with pytest.raises(AttachmentError, match="only about 0 are left"):
        check_room([big], -5)


def test_the_message_puts_each_file_in_a_labelled_fence() -> None:
    message = compose_message(
        "Summarise these", [Attachment("notes.md", "one\ntwo\n", 8), Attachment("a.py", "x", 1)]
    )
    assert message == "Summarise these\n\n```notes.md\none\ntwo\n```\n\n```a.py\nx\n```"


def test_a_file_holding_fences_cannot_break_out() -> None:
    text = "before\n```\ninside\n````\nafter"
    message = compose_message("q", [Attachment("tricky.md", text, len(text))])
    assert message == f"q\n\n`````tricky.md\n{text}\n`````"
    assert fence_for("no ticks") == "```"
    assert fence_for("a `` b") == "```"
    assert fence_for("``````") == "```````"


def test_a_label_cannot_end_the_fence_line() -> None:
    message = compose_message("", [Attachment("bad`name\nx", "t", 1)])
    assert message.splitlines()[0] == "```bad_name_x"


@given(
    prompt=st.text(max_size=80),
    files=st.lists(
        st.tuples(st.text(max_size=20), st.text(alphabet=st.sampled_from("`a\n "), max_size=60)),
        max_size=3,
    ),
)
def test_split_message_gives_back_the_prompt_and_each_text(
    prompt: str, files: list[tuple[str, str]]
) -> None:
    attachments = [Attachment(name, text, len(text)) for name, text in files]
    parsed = split_message(compose_message(prompt, attachments), len(attachments))
    assert parsed is not None
    typed, blocks = parsed
    assert typed == prompt
    assert [text for _, text in blocks] == [
        text.removesuffix("\n") if text else text for _, text in files
    ]


def test_split_message_refuses_content_that_does_not_end_in_blocks() -> None:
    assert split_message("just text", 1) is None
    assert split_message("text\n```", 1) is None
    assert split_message("hand\n```edited\nx\n```", 1) is None  # no blank line before it
    assert split_message("anything", 0) == ("anything", [])


def test_sizes_read_as_a_person_says_them() -> None:
    assert format_size(512) == "512 B"
    assert format_size(4300) == "4.2 KB"
    assert format_size(3 * 1024 * 1024) == "3.0 MB"


def test_the_session_file_keeps_what_was_sent_and_what_was_attached() -> None:
    content = compose_message("look", [Attachment("notes.md", "hi\n", 3)])
    session = Session()
    session.add(Message("user", content, attachments=[AttachedFile("notes.md", 3)]))
    session.add(Message("assistant", "ok"))
    text = dumps(session)
    assert '[[messages.attachments]]\nname = "notes.md"\nbytes = 3\n' in text
    again = loads(text)
    assert again.messages[0].content == content
    assert again.messages[0].attachments == [AttachedFile("notes.md", 3)]
    assert again.messages[1].attachments == []
    assert again.title == "look"


def test_a_file_without_attachments_reads_as_before() -> None:
    session = Session()
    session.add(Message("user", "plain"))
    assert "attachments" not in dumps(session)
    assert loads(dumps(session)).messages[0].attachments == []


def test_bad_attachment_entries_are_reported_in_words() -> None:
    session = Session()
    session.add(Message("user", "x", attachments=[AttachedFile("a", 1)]))
    text = dumps(session).replace("bytes = 1", 'bytes = "one"')
    with pytest.raises(Exception, match="message 1 attachment 1: bytes should be an integer"):
        loads(text)


def test_the_limit_is_a_config_key(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[app]\nmax_attachment_kb = 64\n")
    path.chmod(0o600)
    config, problems = load(path)
    assert problems == [] and config.app.max_attachment_kb == 64
    assert AppSettings().max_attachment_kb == 1024


@pytest.mark.parametrize("value", ["0", "-1", "1.5", '"1MB"', "true", "2000000"])
def test_a_bad_limit_is_reported_and_the_default_kept(tmp_path: Path, value: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'[app]\ntheme = "nord"\nmax_attachment_kb = {value}\n')
    path.chmod(0o600)
    config, problems = load(path)
    assert [(p.key, p.line) for p in problems] == [("app.max_attachment_kb", 3)]
    assert "expected a whole number of KiB from 1 to 1048576" in problems[0].message
    assert config.app.max_attachment_kb == 1024 and config.app.theme == "nord"


def test_attachments_and_ask_need_no_textual() -> None:
    code = (
        "import sys, chat_tui.attachments, chat_tui.ask; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_at_words_that_name_files_are_mentions(tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text("n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("a")
    text = "see @notes.md. and (@src/app.py), me@notes.md @nobody @src @notes.md\n@notes.md"
    assert mentioned_paths(text, tmp_path) == ["notes.md", "src/app.py"]
    assert mentioned_paths("no mentions here", tmp_path) == []
    absolute = tmp_path / "notes.md"
    assert mentioned_paths(f"@{absolute}", Path("/nonexistent")) == [str(absolute)]


def test_paths_complete_as_in_a_shell(tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text("n")
    (tmp_path / "notebook").mkdir()
    (tmp_path / "notebook" / "page.txt").write_text("p")
    (tmp_path / ".hidden").write_text("h")
    assert complete_path("no", tmp_path) == ("note", ["notebook/", "notes.md"])
    assert complete_path("notes", tmp_path) == ("notes.md", ["notes.md"])
    assert complete_path("noteb", tmp_path) == ("notebook/", ["notebook/"])
    assert complete_path("notebook/", tmp_path) == ("notebook/page.txt", ["notebook/page.txt"])
    assert complete_path("x", tmp_path) == ("x", [])
    assert complete_path("missing/x", tmp_path) == ("missing/x", [])
    assert complete_path("", tmp_path)[1] == ["notebook/", "notes.md"]
    assert complete_path(".h", tmp_path) == (".hidden", [".hidden"])
    assert complete_path(f"{tmp_path}/notes", Path("/elsewhere")) == (
        f"{tmp_path}/notes.md",
        [f"{tmp_path}/notes.md"],
    )


def test_a_prompt_of_files_alone_is_titled_by_their_names() -> None:
    content = compose_message("", [Attachment("a.md", "x", 1), Attachment("b.txt", "y", 1)])
    session = Session()
    attached = [AttachedFile("a.md", 1), AttachedFile("b.txt", 1)]
    session.add(Message("user", content, attachments=attached))
    assert session.title == "📎 a.md, b.txt"
    assert session.preview == "📎 a.md, b.txt"
    assert loads(dumps(session)).preview == "📎 a.md, b.txt"


def test_the_picker_lists_shallow_files_first_and_skips_bulky_folders(tmp_path: Path) -> None:
    for name in ("b.txt", "a.txt", ".env", "src/deep/x.py", "src/m.py", ".git/config",
                 "node_modules/p/index.js", ".cache/c"):  # fmt: skip
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    files, cut = list_files(tmp_path)
    assert files == [".env", "a.txt", "b.txt", "src/m.py", "src/deep/x.py"]
    assert not cut
    assert list_files(tmp_path, limit=2) == ([".env", "a.txt"], True)
