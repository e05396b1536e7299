"""The mock server's reply text: token splitting, Markdown replies, code replies."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chat_tui.mock_server import make_code_reply, make_reply, tokenize


@given(st.text(max_size=300))
def test_tokenize_round_trips(text: str) -> None:
    tokens = tokenize(text)
    assert "".join(tokens) == text
    assert all(tokens)


def test_tokens_are_word_sized_with_whitespace_kept() -> None:
    tokens = tokenize("Hello  wonderful\nworld\tof tokenization")
    assert tokens == ["Hello", "  wonder", "ful", "\nworld", "\tof", " tokeni", "zation"]
    assert all(len(token.strip()) <= 6 for token in tokenize(make_reply("q", 500)))


@pytest.mark.parametrize("length", [20, 60, 300, 2000])
def test_reply_has_the_asked_length_and_is_deterministic(length: int) -> None:
    reply = make_reply("How do streams work?", length, seed=1)
    assert len(tokenize(reply)) == length
    assert reply == make_reply("How do streams work?", length, seed=1)
    if length >= 60:
        assert reply != make_reply("How do streams work?", length, seed=2)
    assert reply != make_reply("Something else", length, seed=1)
    assert reply.startswith("You asked about *How do streams work*.")


@given(st.integers(min_value=1, max_value=1500), st.text(max_size=80))
def test_reply_always_ends_as_a_complete_document(length: int, prompt: str) -> None:
    reply = make_reply(prompt, length)
    assert reply.endswith("\n") and not reply.endswith("\n\n")
    assert reply.count("```") % 2 == 0
    assert reply.rstrip().splitlines()[-1] != "```" or reply.count("```") >= 2
    for table in re.findall(r"(?:^\|.*\|\n?)+", reply, flags=re.MULTILINE):
        rows = table.strip().split("\n")
        assert len(rows) >= 3 and rows[1].startswith("| ---")
        assert len({row.count("|") for row in rows}) == 1
    intro = reply.split("\n")[0]
    assert intro.startswith("You asked about *") and intro.count("*") == 2


def test_a_normal_reply_shows_off_the_markdown() -> None:
    reply = make_reply("Show me everything", 300)
    assert re.search(r"^- \*\*\w+\*\*: ", reply, flags=re.MULTILINE)  # bullets, bold
    assert re.search(r"^1\. ", reply, flags=re.MULTILINE)  # numbered list
    assert re.search(r"^```(python|bash|toml)$", reply, flags=re.MULTILINE)  # fenced code
    assert re.search(r"^\| --- \| --- \| --- \|$", reply, flags=re.MULTILINE)  # GFM table
    assert re.search(r"[^`]`[^`\n]+`[^`]", reply)  # inline code
    assert len(reply.split("\n\n")) >= 6  # paragraphs


def test_markup_in_the_prompt_does_not_leak_into_the_reply() -> None:
    reply = make_reply("what is `x` **really** <b>?", 40)
    assert reply.startswith("You asked about *what is x really b*.")


@pytest.mark.parametrize("lines", [0, 1, 2, 3, 300])
def test_code_reply_has_exactly_the_lines_asked_for(lines: int) -> None:
    reply = make_code_reply(lines)
    rows = reply.splitlines()
    assert rows[0] == "```python" and rows[-1] == "```" and reply.endswith("```\n")
    assert len(rows) == lines + 2
    code = "\n".join(rows[1:-1])
    namespace: dict[str, object] = {}
    exec(compile(code, "<reply>", "exec"), namespace)  # it is real, runnable Python
    if lines >= 3:
        assert namespace["accumulate"](2) == sum(range(lines - 3)) * 2  # type: ignore[operator]
